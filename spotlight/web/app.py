"""The ASGI application: Quart-Trio for the HTTP API, raw ASGI for the SSE fallback.

The service (root actor) is started by ``server.serve`` in its own nursery, not from Quart's
``before_serving``: see server.py for why.
"""

from __future__ import annotations

from typing import Any, cast

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart_trio import QuartTrio

from spotlight.service import SpotlightService
from spotlight.web.errors import install_error_handlers
from spotlight.web.history_api import install_history_routes
from spotlight.web.ops import install_ops_routes
from spotlight.web.sse_endpoint import handle_sse
from spotlight.web.sse_request import SSE_PATH

__all__ = ["SpotlightApp", "create_app"]


def create_app(service: SpotlightService) -> QuartTrio:
    app = QuartTrio("spotlight")
    # Streams must not be cut at Quart's default 60 s (trio-stack-notes.md).
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["spotlight"] = service
    install_error_handlers(app)
    install_ops_routes(app, service)
    install_history_routes(app, service)

    return app


class SpotlightApp:
    """The ASGI entry point: the SSE stream as raw ASGI, everything else through Quart."""

    def __init__(self, service: SpotlightService) -> None:
        self.service = service
        self.quart = create_app(service)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http" and scope["path"] == SSE_PATH:
            await handle_sse(self.service, cast(Any, scope), cast(Any, receive), cast(Any, send))
        else:
            await self.quart(scope, receive, send)
