"""SSE straight on the socket: the HTTP side of the fast path for every stream that opens
its own connection.

The request head was parsed by the server (``protocol/http_head.py``); here the connection's
socket is detached from Trio's wrappers, access and parameters are checked (errors are sent
as plain HTTP/1.1 JSON responses), and the stream itself (``clients/stream.py``, SSE
framing) is written by ``clients/socket_stream.py``. The response is HTTP/1.1 with
``connection: close`` and no chunked framing: the stream is the rest of the connection.
"""

from __future__ import annotations

import socket
from http import HTTPStatus
from urllib.parse import parse_qsl

import orjson
import trio

from spotlight.auth.access import RequestView
from spotlight.clients.socket_stream import send_all, stream_to_socket
from spotlight.protocol.http_head import RequestHead
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError
from spotlight.web.stream_request import open_sse_stream, parse_sse_request, refresh_prices

__all__ = ["error_response", "peer_address", "serve_sse_socket"]

_RESPONSE_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    b"cache-control: no-cache, no-transform\r\n"
    b"x-accel-buffering: no\r\n"
    b"connection: close\r\n"
)


def _response_head(cors: list[tuple[str, str]]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in cors).encode("latin-1")
    return _RESPONSE_HEAD + extra + b"\r\n"


async def serve_sse_socket(
    service: SpotlightService, stream: trio.SocketStream, head: RequestHead
) -> None:
    """Serve one stream on ``stream`` and close it. A vanished peer's error propagates to the
    connection's failure boundary (server.py), which counts it."""
    sock = socket.socket(fileno=stream.socket.detach())
    sock.setblocking(False)
    # Small writes must leave at once: with Nagle on, a second write within one round trip
    # (a heartbeat right after a burst) waits for the peer's delayed ACK, up to 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        peer = peer_address(sock)
        view = RequestView(
            method=head.method,
            path=head.path,
            query=dict(parse_qsl(head.query, keep_blank_values=True)),
            headers=head.headers,
            client=peer,
        )
        cors = service.access.cors_headers(head.header("origin"))
        try:
            denial = service.access.check(view)
            if denial is not None:
                raise ApiError(denial.status, denial.error, denial.detail)
            req = parse_sse_request(service, head.method, head.query, head.header("last-event-id"))
        except ApiError as exc:
            service.metrics.http_responses.labels(str(exc.status)).inc()
            await send_all(sock, error_response(exc, cors))
            return
        service.metrics.http_responses.labels("200").inc()
        await refresh_prices(req.feed, req.symbols)
        sse = open_sse_stream(service, req, peer)
        response = stream_to_socket(sock, sse, _response_head(cors))
        del head, view, req, cors  # nothing of the request is kept while the stream runs
        await response
    finally:
        trio.lowlevel.notify_closing(sock)
        sock.close()


def peer_address(sock: socket.socket) -> str:
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return "?"


def error_response(exc: ApiError, cors: list[tuple[str, str]]) -> bytes:
    """A complete HTTP/1.1 JSON error response that closes the connection."""
    body = orjson.dumps({"error": exc.error, "detail": exc.detail})
    reason = HTTPStatus(exc.status).phrase
    extra = "".join(f"{k}: {v}\r\n" for k, v in cors)
    return (
        f"HTTP/1.1 {exc.status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    ).encode("latin-1") + body
