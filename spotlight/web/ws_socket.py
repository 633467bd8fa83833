"""WebSocket straight on the socket: the upgrade, the access gate and the endpoint's stream.

The connection router (``server.py``) hands over every WebSocket upgrade for a raw endpoint,
on a fresh connection (the request head it read) or on a keep-alive connection hypercorn
was serving (taken over by the router; the head comes from the ASGI scope). Here:

1. the opening handshake is checked and answered by wsproto (``H11Handshake``): a request
   that is not a valid upgrade gets its 400 (426 for a wrong version) as a JSON error;
   permessage-deflate is declined (it would give every connection its own compressor
   state, and no longer the same bytes for all);
2. access is checked as for every request (``auth/access.py``); a refused upgrade is
   accepted and closed at once with 4401 or 4403, so the client can tell "stop retrying"
   from a network failure (a bare HTTP 401 looks like one to a browser);
3. the endpoint (``WSEndpoint``) picks its feed from the query (an unknown replay gets an
   ``error`` message and 4410) and its message handler; the stream is then written by
   ``clients/socket_stream.py`` and read by ``clients/ws_connection.py``.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl

import trio
from wsproto.connection import ConnectionType
from wsproto.events import AcceptConnection, RejectConnection, Request
from wsproto.handshake import H11Handshake
from wsproto.utilities import RemoteProtocolError

from spotlight.auth.access import RequestView
from spotlight.clients.socket_stream import STALL_GRACE_S, send_all, stream_to_socket
from spotlight.clients.stream import Stream
from spotlight.clients.ws_connection import WSConnection
from spotlight.clients.ws_inbound import WSInbound, discard_parser
from spotlight.config import Settings
from spotlight.engine.feed import Feed
from spotlight.protocol.close import close_reason
from spotlight.protocol.framing import WS
from spotlight.protocol.http_head import RequestHead
from spotlight.protocol.ws_frames import close_frame
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError
from spotlight.web.sse_socket import error_response, peer_address
from spotlight.web.stream_request import degraded_detail, new_stream

__all__ = ["Background", "Handler", "WSEndpoint", "serve_ws_socket"]

# What an endpoint does with each message the client sends (text as str, binary as bytes).
Handler = Callable[[str | bytes], Awaitable[None]]


@runtime_checkable
class Background(Protocol):
    """A handler with work of its own besides answering messages (the voice agent): ``run``
    goes beside the connection's reader and is cancelled when the connection ends. It must
    not raise: it runs in the connection's task tree, and its errors are the client's to be
    told about, not the server's to die of."""

    async def run(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WSEndpoint:
    """One WebSocket endpoint on the raw path.

    ``max_message_bytes``: a larger message closes the connection with 1009 (it is refused
    as its fragments arrive, never buffered). ``max_messages`` per ``window_s``: the inbound
    rate; past it messages are dropped and the endpoint's ``on_flood`` says so (it gets the
    stream, the connection's handler and the limit).
    ``idle_heartbeats``: a peer that sends nothing (pongs included) for this many heartbeat
    intervals is closed (``idle``); the server pings at every heartbeat. ``keepalive``
    instead gives the endpoint its own timer: (ping interval, idle timeout) in seconds from
    the settings. ``on_oversized``: skip a message past ``max_message_bytes`` and report it
    (stream, handler, size, limit) instead of closing with 1009. A handler that is a ``Background``
    also runs its own task for the connection's lifetime.
    """

    path: str
    max_message_bytes: int
    max_messages: int
    window_s: float
    idle_heartbeats: int
    feed: Callable[[SpotlightService, Mapping[str, str]], Feed]  # raises ApiError
    handler: Callable[[SpotlightService, Feed, Stream], Handler]
    on_flood: Callable[[Stream, Handler, int], None]
    keepalive: Callable[[Settings], tuple[float, float]] | None = None
    on_oversized: Callable[[Stream, Handler, int, int], None] | None = None


async def serve_ws_socket(
    service: SpotlightService,
    sock: socket.socket,
    head: RequestHead,
    endpoint: WSEndpoint,
    *,
    raw: bytes | None = None,
    trailing: bytes = b"",
) -> None:
    """Serve one WebSocket on ``sock`` (connected, non-blocking) until it ends; the caller
    closes the socket. ``raw`` is the request head's bytes as received, when there are
    any (a fresh connection); otherwise the handshake is rebuilt from ``head``. ``trailing``:
    bytes that arrived after the head (a client that did not wait for the answer)."""
    opened = await _upgrade(service, sock, head, endpoint, raw)
    # Nothing of the request is kept for the life of the stream (a few KB per connection).
    del head, raw
    if opened is None:
        return
    accept, feed, peer = opened
    stream = new_stream(service, feed, WS, peer)
    handler = endpoint.handler(service, feed, stream)
    oversized = endpoint.on_oversized
    inbound = WSInbound(
        endpoint.max_message_bytes,
        trio.current_time,
        trailing,
        skip_oversized=oversized is not None,
    )
    del trailing, opened, feed
    if endpoint.keepalive is not None:
        ping_s, idle_s = endpoint.keepalive(service.settings)
    else:
        ping_s, idle_s = None, endpoint.idle_heartbeats * service.settings.streams.heartbeat_s
    conn = WSConnection(
        stream,
        inbound,
        handler,
        idle_timeout_s=idle_s,
        max_messages=endpoint.max_messages,
        window_s=endpoint.window_s,
        on_flood=lambda limit: endpoint.on_flood(stream, handler, limit),
        clock=trio.current_time,
        ping_interval_s=ping_s,
        background=handler.run if isinstance(handler, Background) else None,
        on_oversized=None
        if oversized is None
        else lambda size, limit: oversized(stream, handler, size, limit),
    )
    await stream_to_socket(sock, stream, accept, conn.read, linger_s=STALL_GRACE_S)
    await close_gracefully(sock)


async def _upgrade(
    service: SpotlightService,
    sock: socket.socket,
    head: RequestHead,
    endpoint: WSEndpoint,
    raw: bytes | None,
) -> tuple[bytes, Feed, str] | None:
    """The handshake, access and the endpoint's feed: the 101 to write, the feed and the
    peer's address; None when the upgrade was refused (and answered)."""
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        if raw is not None:
            handshake.receive_data(raw)
        else:
            handshake.initiate_upgrade_connection(
                [(k.encode("latin-1"), v.encode("latin-1")) for k, v in head.headers.items()],
                head.path + ("?" + head.query if head.query else ""),
            )
        request = next((e for e in handshake.events() if isinstance(e, Request)), None)
        if request is None:
            raise RemoteProtocolError("not a WebSocket upgrade", RejectConnection())
        if not _valid_key(head.header("sec-websocket-key")):
            # wsproto takes any key; RFC 6455 4.2.1 asks for 16 random bytes in base64.
            raise RemoteProtocolError(
                "Sec-WebSocket-Key must be 16 bytes in base64", RejectConnection()
            )
    except RemoteProtocolError as exc:
        hint = exc.event_hint
        status = hint.status_code if isinstance(hint, RejectConnection) else 400
        err = ApiError(status, "bad_websocket_request", f"{exc}; send a WebSocket upgrade")
        extra = [("sec-websocket-version", "13")] if status == 426 else []
        service.metrics.http_responses.labels(str(status)).inc()
        await send_all(sock, error_response(err, extra))
        return None
    service.metrics.http_responses.labels("101").inc()
    accept = handshake.send(AcceptConnection(extensions=[]))
    discard_parser(handshake.connection)  # ours is WSInbound's (clients/ws_inbound.py)
    peer = peer_address(sock)
    query = dict(parse_qsl(head.query, keep_blank_values=True))
    denial = service.access.check(
        RequestView("GET", head.path, query, head.headers, peer, websocket=True)
    )
    if denial is not None:
        reason = "forbidden-origin" if denial.status == 403 else "auth"
        await _refuse(sock, accept, close_reason(reason).ws_code, denial.detail)
        return None
    if service.shutting_down:
        await _refuse(sock, accept, close_reason("shutdown").ws_code, "shutting down")
        return None
    try:
        feed = endpoint.feed(service, query)
        if feed is service.live and service.degraded:
            # Never stale data as live: with Redis unreachable this node has no live stream.
            raise ApiError(503, "degraded", degraded_detail(service))
    except ApiError as exc:
        message = WS.control("error", {"error": exc.error, "detail": exc.detail}, "0", 0)
        reason = {404: "replay-ended", 503: "degraded"}.get(exc.status, "bad-request")
        code = close_reason(reason).ws_code
        await _refuse(sock, accept + message, code, exc.error)
        return None
    return accept, feed, peer


def _valid_key(key: str | None) -> bool:
    try:
        return key is not None and len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        return False


async def _refuse(sock: socket.socket, accept: bytes, code: int, reason: str) -> None:
    """Complete the upgrade, then close at once with ``code``."""
    await send_all(sock, accept + close_frame(code, reason))
    await close_gracefully(sock)


async def close_gracefully(sock: socket.socket, timeout_s: float = STALL_GRACE_S) -> None:
    """Send our FIN and drain what the peer still sends until its FIN (bounded): closing a
    socket with unread data makes the kernel send a reset, which can destroy our last frames
    before the peer reads them."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        return
    with trio.move_on_after(timeout_s):
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                if not sock.recv(65536):
                    return
            except BlockingIOError:
                continue
            except OSError:
                return
