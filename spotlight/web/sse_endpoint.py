"""The SSE stream as raw ASGI: the fallback for a stream request on a hypercorn connection.

Most streams never come here: EventSource opens a connection of its own and the server's
connection router (``server.py``) serves it on the socket directly (``web/sse_socket.py``).
A stream request that arrives on a keep-alive connection hypercorn already serves (a reused
browser connection, a proxy's pooled upstream) is answered here, in front of Quart, with the
same validation and stream state (``web/stream_request.py``, ``clients/stream.py``).

Disconnects: hypercorn reports a closed connection as ``http.disconnect`` on ``receive`` and
does not cancel the handler, so one small task watches ``receive`` and cancels the writer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import aclosing
from typing import Any

import orjson
import trio

from spotlight.clients.stream import stream_chunks
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError
from spotlight.web.stream_request import open_sse_stream, parse_sse_request, refresh_prices

__all__ = ["handle_sse"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    # Tell nginx-style proxies not to buffer the stream.
    (b"x-accel-buffering", b"no"),
]


async def handle_sse(service: SpotlightService, scope: Scope, receive: Receive, send: Send) -> None:
    try:
        req = parse_sse_request(
            service,
            scope["method"],
            scope["query_string"].decode("latin-1"),
            _header(scope, b"last-event-id"),
        )
    except ApiError as exc:
        await _json(send, exc.status, {"error": exc.error, "detail": exc.detail})
        return
    remote = (scope.get("client") or ("?",))[0]
    await refresh_prices(req.feed, req.symbols)
    stream = open_sse_stream(service, req, remote)
    try:
        await send({"type": "http.response.start", "status": 200, "headers": _STREAM_HEADERS})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
            async with aclosing(stream_chunks(stream)) as body:
                async for chunk in body:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            nursery.cancel_scope.cancel()
    finally:
        stream.finish()  # idempotent: also when the body never started


async def _cancel_on_disconnect(receive: Receive, scope: trio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _json(send: Send, status: int, body: dict[str, str]) -> None:
    data = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data, "more_body": False})
