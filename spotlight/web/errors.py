"""Every error a client can cause is a 4xx JSON body ``{"error": code, "detail": text}``.

``ApiError`` is raised by handlers and parameter parsers; ``InvalidRequest`` (the stream
rules shared with WebSocket commands, protocol/params.py) is a 400; HTTP errors from routing
(404, 405) get the same shape. Anything else is a bug: it is logged with its traceback and
answered with a JSON 500 that leaks nothing, and the server keeps running.
"""

from __future__ import annotations

import logging
from typing import Any

from quart import Quart, Response, jsonify
from werkzeug.exceptions import HTTPException

from spotlight.protocol.errors import InvalidRequest

__all__ = ["ApiError", "install_error_handlers"]

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail

    @classmethod
    def invalid(cls, exc: InvalidRequest) -> ApiError:
        """A rule the client broke, as HTTP: always 400."""
        return cls(400, exc.error, exc.detail)


def _body(status: int, error: str, detail: str) -> tuple[Response, int]:
    return jsonify({"error": error, "detail": detail}), status


def install_error_handlers(app: Quart) -> None:
    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> Any:
        return _body(exc.status, exc.error, exc.detail)

    @app.errorhandler(InvalidRequest)
    async def invalid_request(exc: InvalidRequest) -> Any:
        return _body(400, exc.error, exc.detail)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        name = (exc.name or "error").lower().replace(" ", "_")
        return _body(status, name, exc.description or name)

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error", exc_info=exc)
        return _body(500, "internal", "unexpected server error; it has been logged")
