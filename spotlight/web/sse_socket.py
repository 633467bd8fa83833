"""SSE straight on the socket: the fast path for every stream that opens its own connection.

The write path through Quart/hypercorn/h11 costs ~80 us per write on this machine; a plain
non-blocking ``send`` costs ~5 us, Trio's socket wrapper ~7 us and ``SocketStream.send_all``
~18 us (docs/benchmarks.md). So the connection's socket is detached from Trio's wrappers and
written directly. With 1,000 clients one burst is 1,000 writes: this is the difference between
a burst reaching the last client in ~80 ms and in ~10 ms. The response is HTTP/1.1 with
``connection: close`` and no chunked framing: the stream is the rest of the connection.

Who writes: normally the flusher (``clients/flusher.py``), in one pass per burst, through
``_direct_write`` while this connection's task is parked. The task itself writes the prelude,
whatever a direct write could not finish, and the closing event; when the kernel buffer is
full it waits in ``trio.lowlevel.wait_writable``, which (unlike hypercorn's shielded writes)
is cancellable.

Per connection: this task writes; one child task reads until the peer closes (and cancels
the writer when it does). A stalled peer cannot pin the task: once the client's inbox is
closed (too slow, or shutdown) the connection gets ``STALL_GRACE_S`` to write what it has,
then it is cancelled and closed.
"""

from __future__ import annotations

import contextlib
import socket
from functools import partial
from http import HTTPStatus
from urllib.parse import parse_qsl

import orjson
import trio

from spotlight.clients.sse_writer import SSEWriter
from spotlight.protocol.http_head import RequestHead
from spotlight.service import SpotlightService
from spotlight.web.access import RequestView
from spotlight.web.errors import ApiError
from spotlight.web.sse_request import (
    new_sse_writer,
    parse_sse_request,
    refresh_prices,
    snapshot_for,
)

__all__ = ["STALL_GRACE_S", "serve_sse_socket"]

# Once a client is closed (slow, shutdown), its last writes get this long before the
# connection is cut: enough for a reader that is merely behind, bounded for one that is gone.
STALL_GRACE_S = 2.0

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
    """Serve one stream on ``stream`` and close it; never raises for a vanished peer."""
    sock = socket.socket(fileno=stream.socket.detach())
    sock.setblocking(False)
    # Small writes must leave at once: with Nagle on, a second write within one round trip
    # (a heartbeat right after a burst) waits for the peer's delayed ACK, up to 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        peer = _peer(sock)
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
            await _send_all(sock, _error_response(exc, cors))
            return
        scope = trio.CancelScope()

        def on_close(reason: str) -> None:
            scope.deadline = min(scope.deadline, trio.current_time() + STALL_GRACE_S)

        await refresh_prices(service, req)
        writer = new_sse_writer(service, req, peer, on_close)
        try:
            with scope:
                prelude = writer.start(req.resume, snapshot_for(service, req))
                await _send_all(sock, _response_head(cors) + prelude)
                writer.session.inbox.direct = partial(_direct_write, sock, writer)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_until_peer_closes, sock, nursery.cancel_scope)
                    # Caught here, inside the nursery: escaping it, the error would arrive as
                    # an ExceptionGroup that no `except OSError` matches, and a client
                    # vanishing mid-write would take the server down.
                    with contextlib.suppress(OSError):
                        await _write_loop(sock, writer)
                    nursery.cancel_scope.cancel()
        finally:
            writer.finish()
    except OSError:
        pass  # the peer went away mid-write: cleanup has run, nothing to report
    finally:
        trio.lowlevel.notify_closing(sock)
        sock.close()


async def _write_loop(sock: socket.socket, writer: SSEWriter) -> None:
    """The connection task's own writing: leftovers, then whatever the flusher hands over."""
    inbox = writer.session.inbox
    while True:
        if writer.out:
            out, writer.out = writer.out, b""
            await _send_all(sock, out)
            writer.wrote()
        if writer.done:
            return
        await inbox.wait()
        if writer.out:
            continue
        chunk = writer.next_chunk()
        if chunk is not None:
            await _send_all(sock, chunk)
            writer.wrote()


def _direct_write(sock: socket.socket, writer: SSEWriter) -> bool:
    """Called by the flusher while the task is parked; False hands over to the task."""
    if writer.out or writer.done:
        return False
    chunk = writer.next_chunk()
    if chunk is None:
        return True
    try:
        sent = sock.send(chunk)
    except BlockingIOError:
        sent = 0
    except OSError:
        writer.out = chunk  # the task's own send will meet the error and end the stream
        return False
    if sent < len(chunk):
        writer.out = chunk[sent:]
        return False
    writer.wrote()
    return not writer.done


async def _send_all(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        view = view[sent:]


async def _until_peer_closes(sock: socket.socket, scope: trio.CancelScope) -> None:
    try:
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                if not sock.recv(4096):
                    break  # EOF: the client closed its side
            except BlockingIOError:
                continue  # spurious readiness
            # A stream client has nothing to say; whatever it sends is discarded.
    except OSError:
        pass
    scope.cancel()


def _peer(sock: socket.socket) -> str:
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return "?"


def _error_response(exc: ApiError, cors: list[tuple[str, str]]) -> bytes:
    body = orjson.dumps({"error": exc.error, "detail": exc.detail})
    reason = HTTPStatus(exc.status).phrase
    extra = "".join(f"{k}: {v}\r\n" for k, v in cors)
    return (
        f"HTTP/1.1 {exc.status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    ).encode("latin-1") + body
