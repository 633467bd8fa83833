"""One SSE stream written straight on a connected non-blocking socket.

The write path through Quart/hypercorn/h11 costs ~80 us per write on this machine; a plain
non-blocking ``send`` costs ~5 us, Trio's socket wrapper ~7 us and ``SocketStream.send_all``
~18 us (docs/benchmarks.md). So a stream that owns its connection (``web/sse_socket.py``
detaches it from Trio's wrappers) is written here, with plain ``send`` calls.

Who writes: normally the flusher (``clients/flusher.py``), in one pass per burst, while this
connection's task is parked: ``_direct_write`` for a client on its own, and once the client is
caught up, ``_shared_write`` with its group's chunk (``clients/stream_group.py``). The task
itself writes the prelude, whatever a non-blocking write could not finish, and the closing
event; when the kernel buffer is full it waits in ``trio.lowlevel.wait_writable``, which
(unlike hypercorn's shielded writes) is cancellable.

Per connection: this task writes; one child task reads until the peer closes (and cancels
the writer when it does). A stalled peer cannot pin the task: once the client's inbox is
closed (too slow, or shutdown) the connection gets ``STALL_GRACE_S`` to write what it has,
then it is cancelled and closed.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from functools import partial

import trio

from spotlight.clients.sse_writer import SSEWriter
from spotlight.protocol.resume import EventId

__all__ = ["STALL_GRACE_S", "send_all", "stream_to_socket"]

# Once a client is closed (slow, shutdown), its last writes get this long before the
# connection is cut: enough for a reader that is merely behind, bounded for one that is gone.
STALL_GRACE_S = 2.0


async def stream_to_socket(
    sock: socket.socket,
    writer: SSEWriter,
    head: bytes,
    resume: EventId | None,
    snapshot: Callable[[], object],
) -> None:
    """Write ``head``, the prelude and then the stream on ``sock`` until either side ends it.

    ``sock`` is connected and non-blocking; the caller closes it. Raises ``OSError`` when the
    peer vanishes mid-write (after cleanup: the writer is always finished).
    """
    scope = trio.CancelScope()
    inbox = writer.session.inbox

    def on_close(reason: str) -> None:
        scope.deadline = min(scope.deadline, trio.current_time() + STALL_GRACE_S)

    inbox.on_close = on_close
    if inbox.closed_reason is not None:  # closed at open (the server is shutting down)
        on_close(inbox.closed_reason)
    try:
        with scope:
            prelude = writer.start(resume, snapshot)
            await send_all(sock, head + prelude)
            inbox.direct = partial(_direct_write, sock, writer)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_until_peer_closes, sock, nursery.cancel_scope)
                # Caught here, inside the nursery: escaping it, the error would arrive as an
                # ExceptionGroup that no `except OSError` matches, and a client vanishing
                # mid-write would take the server down.
                with contextlib.suppress(OSError):
                    await _write_loop(sock, writer)
                nursery.cancel_scope.cancel()
    finally:
        writer.finish()


async def _write_loop(sock: socket.socket, writer: SSEWriter) -> None:
    """The connection task's own writing: leftovers, then whatever the flusher hands over."""
    inbox = writer.session.inbox
    while True:
        if writer.out:
            out, writer.out = writer.out, b""
            await send_all(sock, out)
            writer.wrote()
        if writer.done:
            return
        await inbox.wait()
        if writer.out:
            continue
        chunk = writer.next_chunk()
        if chunk is not None:
            await send_all(sock, chunk)
            writer.wrote()


def _direct_write(sock: socket.socket, writer: SSEWriter) -> bool:
    """Called by the flusher while the task is parked; False hands over to the task."""
    if writer.out or writer.done:
        return False
    chunk = writer.next_chunk()
    if chunk is None:
        return True
    if not _send_now(sock, writer, chunk) or writer.done:
        return False
    if not writer.session.inbox.pending_events:
        # Caught up: from the next burst on, share the group's chunk (clients/stream_group.py).
        writer.registry.groups.try_join(
            writer.hub,
            writer.session.topics,
            writer.session.inbox,
            partial(_shared_write, sock, writer),
        )
    return True


def _shared_write(
    sock: socket.socket, writer: SSEWriter, chunk: bytes, events: int, oldest: float, last: int
) -> bool:
    """The group's visit (task parked, nothing left over): its burst, to this socket."""
    return _send_now(sock, writer, writer.shared_chunk(chunk, events, oldest, last))


def _send_now(sock: socket.socket, writer: SSEWriter, data: bytes) -> bool:
    """One non-blocking ``send`` of a whole chunk. True: written (and counted). False: what
    is left is in ``writer.out`` for the task, which waits for the socket (or meets the error
    and ends the stream)."""
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        writer.out = data
        return False
    if sent < len(data):
        writer.out = data[sent:]
        return False
    writer.wrote()
    return True


async def send_all(sock: socket.socket, data: bytes) -> None:
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
