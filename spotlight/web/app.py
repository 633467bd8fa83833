"""The ASGI application: the access gate, then the SSE fallback or Quart-Trio.

The service (root actor) is started by ``server.serve`` in its own nursery, not from Quart's
``before_serving``: see server.py for why. Every request that hypercorn serves passes
``Access.check`` here first (auth/access.py); SSE streams served on the socket pass the same
check in web/sse_socket.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast
from urllib.parse import parse_qsl

import orjson
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart_trio import QuartTrio

from spotlight.auth.access import RequestView
from spotlight.protocol.close import close_reason
from spotlight.service import SpotlightService
from spotlight.web.auth_api import install_auth_routes
from spotlight.web.client_assets import install_client_asset_routes
from spotlight.web.errors import install_error_handlers
from spotlight.web.history_api import install_history_routes
from spotlight.web.ops import install_ops_routes
from spotlight.web.replay_api import install_replay_routes
from spotlight.web.sse_endpoint import handle_sse
from spotlight.web.sse_request import SSE_PATH
from spotlight.web.ws_prices import install_ws_routes

__all__ = ["SpotlightApp", "create_app", "request_view"]

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def create_app(service: SpotlightService) -> QuartTrio:
    # Import name "spotlight.web": static files are served from spotlight/web/static/.
    app = QuartTrio("spotlight.web", static_folder="static", static_url_path="/static")
    # Streams must not be cut at Quart's default 60 s (trio-stack-notes.md).
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["spotlight"] = service
    install_error_handlers(app)
    install_ops_routes(app, service)
    install_history_routes(app, service)
    install_auth_routes(app, service)
    install_client_asset_routes(app)
    install_ws_routes(app, service)
    install_replay_routes(app, service)
    return app


def request_view(scope: MutableMapping[str, Any]) -> RequestView:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    client = scope.get("client")
    return RequestView(
        method=scope.get("method", "GET"),
        path=scope["path"],
        query=dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)),
        headers=headers,
        client=client[0] if client else None,
        scheme={"ws": "http", "wss": "https"}.get(
            scope.get("scheme", "http"), scope.get("scheme", "http")
        ),
        websocket=scope["type"] == "websocket",
    )


class SpotlightApp:
    """The ASGI entry point."""

    def __init__(self, service: SpotlightService) -> None:
        self.service = service
        self.quart = create_app(service)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "lifespan":
            await self.quart(scope, receive, send)
            return
        raw_scope = cast(MutableMapping[str, Any], scope)
        raw_send = cast(Send, send)
        view = request_view(raw_scope)
        access = self.service.access
        cors = access.cors_headers(view.headers.get("origin"))
        if cors and view.method == "OPTIONS" and not view.websocket:
            await _respond(raw_send, 204, b"", [*cors, *_PREFLIGHT])
            return
        denial = access.check(view)
        if denial is not None:
            if view.websocket:
                # Accept, then close with a code from protocol/close.py: a close before accept
                # becomes a bare HTTP 403, which clients cannot tell from a transient failure;
                # a 44xx code tells them to stop retrying until they have new credentials.
                reason = close_reason("forbidden-origin" if denial.status == 403 else "auth")
                await raw_send({"type": "websocket.accept"})
                await raw_send(
                    {
                        "type": "websocket.close",
                        "code": reason.ws_code,
                        "reason": denial.detail[:120],
                    }
                )
            else:
                await _respond(
                    raw_send,
                    denial.status,
                    orjson.dumps(denial.body()),
                    [("content-type", "application/json"), *cors],
                )
            return
        if cors:
            send = cast(ASGISendCallable, _with_headers(raw_send, cors))
        if scope["type"] == "http" and scope["path"] == SSE_PATH:
            await handle_sse(self.service, raw_scope, cast(Any, receive), cast(Any, send))
        else:
            await self.quart(scope, receive, send)


_PREFLIGHT = [
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
    ("access-control-allow-headers", "content-type, authorization, last-event-id"),
    ("access-control-max-age", "600"),
]


def _with_headers(send: Send, extra: list[tuple[str, str]]) -> Send:
    encoded = [(k.encode(), v.encode()) for k, v in extra]

    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *encoded]}
        await send(message)

    return wrapped


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode(), v.encode()) for k, v in headers]
            + [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
