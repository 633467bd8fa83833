"""The ASGI application: the access gate, then the SSE fallback, a WebSocket take-over, or
Quart-Trio.

The service (root actor) is started by ``server.serve`` in its own nursery, not from Quart's
``before_serving``: see server.py for why. Every request that hypercorn serves passes
``Access.check`` here first (auth/access.py); streams served on the socket pass the same
check in web/sse_socket.py and web/ws_socket.py. A WebSocket upgrade to a raw endpoint
(``WS_ENDPOINTS``) that arrives on a keep-alive connection is handed back to the server's
router (``take_over``), which serves it on the raw path like one on a fresh connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, cast
from urllib.parse import parse_qsl

import orjson
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from spotlight.auth.access import RequestView
from spotlight.metrics import Metrics
from spotlight.protocol.close import close_reason
from spotlight.protocol.http_head import RequestHead
from spotlight.runtime.boundary import contain, kind_of
from spotlight.service import SpotlightService
from spotlight.web.auth_api import install_auth_routes
from spotlight.web.client_assets import install_client_asset_routes
from spotlight.web.errors import install_error_handlers
from spotlight.web.history_api import install_history_routes
from spotlight.web.http_guard import bad_host, clean_range, error_reply, finish_shielded
from spotlight.web.ops import install_ops_routes
from spotlight.web.replay_api import install_replay_routes
from spotlight.web.sse_endpoint import handle_sse
from spotlight.web.stream_request import SSE_PATH
from spotlight.web.ws_prices import PRICES
from spotlight.web.ws_socket import WSEndpoint
from spotlight.web.ws_voice import VOICE

__all__ = ["WS_ENDPOINTS", "SpotlightApp", "TakeOver", "create_app", "request_view"]

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Every WebSocket endpoint, by path: all of them run on the raw-socket path.
WS_ENDPOINTS: Mapping[str, WSEndpoint] = {e.path: e for e in (PRICES, VOICE)}

# The router's take-over of a keep-alive connection for a WebSocket upgrade:
# (peer address, request head, path) -> served (True), or not the router's to take (False).
TakeOver = Callable[[tuple[str, int], RequestHead, str], Awaitable[bool]]


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
    """The ASGI entry point. ``take_over`` is the router's (server.py); without one (the app
    served by something else) WebSocket upgrades are refused with 1011."""

    def __init__(self, service: SpotlightService, take_over: TakeOver | None = None) -> None:
        self.service = service
        self.take_over = take_over
        self.quart = create_app(service)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "lifespan":
            await self.quart(scope, receive, send)
            return
        raw_scope = cast(MutableMapping[str, Any], scope)
        raw_send = cast(Send, send)
        if scope["type"] == "http":
            raw_send = finish_shielded(_counted(raw_send, self.service.metrics))
            why = bad_host(raw_scope["headers"])
            if why is not None:
                await error_reply(raw_send, 400, "bad_host", why)
                return
            if raw_scope.get("method") in ("GET", "HEAD"):
                clean_range(raw_scope)
        if scope["path"] in WS_ENDPOINTS:
            await self._websocket(raw_scope, raw_send)
            return
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
            raw_send = _with_headers(raw_send, cors)
        started = False

        async def tracked(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] in ("http.response.start", "websocket.accept")
            await raw_send(message)

        app_send = cast(ASGISendCallable, tracked)
        errors: list[BaseException] = []
        where = lambda: ("http", view.client or "?")  # noqa: E731
        with contain(where, lambda *report: errors.extend(report[3])):
            if scope["type"] == "http" and scope["path"] == SSE_PATH:
                await handle_sse(self.service, raw_scope, cast(Any, receive), cast(Any, app_send))
            else:
                await self.quart(scope, receive, app_send)
        if errors:
            await self._escaped(errors, view.client or "?", raw_send, started)
        elif not started and scope["type"] == "http":
            # quart-trio ends a request without an answer when the client goes away first
            # (closed, or half-closed: hypercorn takes an EOF as a disconnect): counted.
            gone = ConnectionAbortedError("the client went away before the response")
            self.service.connections.report("http", "closed", view.client or "?", [gone])

    async def _escaped(
        self, errors: list[BaseException], peer: str, send: Send, started: bool
    ) -> None:
        """What escaped Quart (outside its handlers, where its error handlers cannot see):
        a werkzeug 4xx (raised while building the request) is answered as such; anything
        else is the connection's failure, reported, and a JSON 500 if nothing was sent."""
        client = [e for e in errors if isinstance(e, HTTPException) and (e.code or 500) < 500]
        if len(client) == len(errors):
            exc = client[0]
            if not started:
                name = (exc.name or "bad_request").lower().replace(" ", "_")
                await error_reply(send, exc.code or 400, name, exc.description or name)
            return
        kind = kind_of(errors)
        self.service.connections.report("http", kind, peer, errors)
        if not started and kind == "error":
            await error_reply(send, 500, "internal", "unexpected server error; it has been logged")

    async def _websocket(self, scope: MutableMapping[str, Any], send: Send) -> None:
        """A raw WebSocket endpoint's path on a hypercorn connection: an upgrade is taken
        over (access, handshake and all are checked there); plain HTTP is told to upgrade."""
        if scope["type"] != "websocket":
            body = orjson.dumps(
                {
                    "error": "upgrade_required",
                    "detail": f"{scope['path']} is a WebSocket endpoint: open it with a "
                    "WebSocket client (Upgrade: websocket)",
                }
            )
            await _respond(send, 426, body, [("content-type", "application/json")])
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        head = RequestHead(
            "GET", scope["path"], scope["query_string"].decode("latin-1"), "HTTP/1.1", headers
        )
        client = scope.get("client")
        taken = False
        if self.take_over is not None and client is not None:
            taken = await self.take_over((str(client[0]), int(client[1])), head, scope["path"])
        if not taken:
            await send({"type": "websocket.close", "code": 1011, "reason": "not available"})


_PREFLIGHT = [
    ("access-control-allow-methods", "GET, POST, OPTIONS"),
    ("access-control-allow-headers", "content-type, authorization, last-event-id"),
    ("access-control-max-age", "600"),
]


def _counted(send: Send, metrics: Metrics) -> Send:
    """``send`` that counts each response by status (spotlight_http_responses_total)."""

    async def counting(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            metrics.http_responses.labels(str(message["status"])).inc()
        await send(message)

    return counting


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
