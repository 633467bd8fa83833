"""One stream written straight on a connected non-blocking socket (SSE or WebSocket).

The write path through Quart/hypercorn/h11 costs ~80 us per write on this machine; a plain
non-blocking ``send`` costs ~5 us, Trio's socket wrapper ~7 us and ``SocketStream.send_all``
~18 us (docs/benchmarks.md). So a stream that owns its connection (``web/sse_socket.py`` and
``web/ws_socket.py`` detach it from Trio's wrappers) is written here, with plain ``send``
calls. What is written comes from the transport-free ``Stream`` (``clients/stream.py``);
this module only moves its chunks.

Who writes: normally the flusher (``clients/flusher.py``), in one pass per burst, while this
connection's task is parked: ``_direct_write`` for a client on its own, and once the client is
caught up, ``_shared_write`` with its group's chunk (``clients/stream_group.py``). The task
itself writes the first chunk, whatever a non-blocking write could not finish, and the
closing chunk; when the kernel buffer is full it waits in ``trio.lowlevel.wait_writable``,
which (unlike hypercorn's shielded writes) is cancellable.

Per connection: this task writes; one child task reads (``reader``): for SSE it only notices
the peer closing, for WebSocket it parses frames and hands messages to the route. A stalled
peer cannot pin the task: once the client's inbox is closed (too slow, shutdown, a protocol
error) the connection gets ``STALL_GRACE_S`` to write what it has, then it is cancelled and
closed. After its last chunk a stream may ``linger`` for the reader to finish (a WebSocket
waits for the peer's close frame, as RFC 6455 asks), bounded by the same grace.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from functools import partial

import trio

from spotlight.clients.stream import Stream

__all__ = ["STALL_GRACE_S", "Reader", "send_all", "stream_to_socket", "until_peer_closes"]

# Once a client is closed (slow, shutdown), its last writes get this long before the
# connection is cut: enough for a reader that is merely behind, bounded for one that is gone.
STALL_GRACE_S = 2.0

# ... and longer when the chunk in flight is large (a prelude's chunk, at most ~64 KB): a slow
# link gets the time to finish it at this rate, so the closing message can still follow it.
CLOSING_RATE = 8192.0  # bytes per second
MAX_CLOSING_GRACE_S = 10.0


def closing_grace(stream: Stream) -> float:
    """How long a closed stream may take to write what it still holds, then its close."""
    return min(MAX_CLOSING_GRACE_S, max(STALL_GRACE_S, stream.unwritten_bytes / CLOSING_RATE))


# A connection's reading side: returns when the peer is done (EOF, or its close frame).
Reader = Callable[[socket.socket, Stream], Awaitable[None]]


async def stream_to_socket(
    sock: socket.socket,
    stream: Stream,
    head: bytes,
    reader: Reader | None = None,
    *,
    linger_s: float = 0.0,
) -> None:
    """Write ``head``, then the stream on ``sock`` until either side ends it.

    ``sock`` is connected and non-blocking; the caller closes it. The stream may already be
    subscribed (SSE: its prelude goes out with ``head``) or subscribe later (a WebSocket,
    on its client's command). When the peer vanishes (a reset, a broken pipe) the error
    propagates, possibly as an ExceptionGroup, after cleanup (the stream is always
    finished): the connection's failure boundary (runtime/boundary.py) stops and counts it.
    """
    scope = trio.CancelScope()
    inbox = stream.session.inbox

    def on_close(reason: str) -> None:
        scope.deadline = min(scope.deadline, trio.current_time() + closing_grace(stream))

    inbox.on_close = on_close
    if inbox.closed_reason is not None:  # closed at open (the server is shutting down)
        on_close(inbox.closed_reason)
    try:
        with scope:
            first = stream.next_chunk()
            await send_all(sock, head + (first or b""))
            if first is not None:
                stream.wrote()
            del head, first  # not kept for the life of the stream
            inbox.direct = partial(_direct_write, sock, stream)
            read_done = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    _read, reader or until_peer_closes, sock, stream, nursery, read_done
                )
                # A reset or broken pipe here (or in the reader) ends this connection: it
                # leaves the nursery as an ExceptionGroup and stops at the connection's
                # failure boundary (runtime/boundary.py), which counts it by kind.
                await _write_loop(sock, stream)
                if linger_s > 0 and stream.done:
                    with trio.move_on_after(linger_s):
                        await read_done.wait()
                nursery.cancel_scope.cancel()
    finally:
        stream.finish()


async def _read(
    reader: Reader,
    sock: socket.socket,
    stream: Stream,
    nursery: trio.Nursery,
    done: trio.Event,
) -> None:
    await reader(sock, stream)
    done.set()
    if stream.session.inbox.closed_reason is None:
        nursery.cancel_scope.cancel()  # the peer went away: nothing is left to say


async def _write_loop(sock: socket.socket, stream: Stream) -> None:
    """The connection task's own writing: leftovers, then whatever the flusher hands over."""
    inbox = stream.session.inbox
    while True:
        if stream.out:
            out, stream.out = stream.out, b""
            await send_all(sock, out)
            stream.wrote()
        if stream.done:
            return
        chunk = stream.next_chunk()
        if chunk is not None:
            await send_all(sock, chunk)
            stream.wrote()
        elif not stream.out:
            await inbox.wait()


def _direct_write(sock: socket.socket, stream: Stream) -> bool:
    """Called by the flusher while the task is parked; False hands over to the task."""
    if stream.out or stream.done:
        return False
    chunk = stream.next_chunk()
    if chunk is None:
        return True
    if not _send_now(sock, stream, chunk) or stream.done:
        return False
    session = stream.session
    if session.topics and not session.inbox.pending_events and not stream.queued:
        # Caught up: from the next burst on, share the group's chunk (clients/stream_group.py).
        stream.registry.groups.try_join(
            stream.hub, session.topics, stream.framing, session.inbox, _SocketMember(sock, stream)
        )
    return True


class _SocketMember:
    """This connection in a shared-chunk group (``stream_group.Member``).

    The group's pass calls ``write`` once per member per burst, so it is the fan-out's inner
    loop: a caught-up member costs one ``send`` and three counter updates; the write
    statistics are recorded once per pass by the group. Anything else (a heartbeat or reply
    of its own, a partial write) takes the general path.
    """

    __slots__ = ("send", "sock", "stats", "stream")

    def __init__(self, sock: socket.socket, stream: Stream) -> None:
        self.sock = sock
        self.send = sock.send
        self.stream = stream
        self.stats = stream.write_stats

    def write(self, chunk: bytes, events: int, oldest: float, last_seq: int) -> bool:
        stream = self.stream
        data = chunk
        if not stream.shared_ready():
            own = stream.shared_chunk(chunk, events, oldest, last_seq)
            if own is None:  # something of its own to write first: the task takes the burst
                stream.out = chunk
                return False
            data = own
        try:
            sent = self.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = 0  # the task meets the error on its own write and ends the stream
        if sent == len(data):
            stream.wrote_shared(events, last_seq)
            return True
        stream.took_shared(events, oldest, last_seq)
        stream.out = data[sent:]
        return False

    def add_conflated(self, n: int) -> None:
        self.stream.add_conflated(n)


def _send_now(sock: socket.socket, stream: Stream, data: bytes) -> bool:
    """One non-blocking ``send`` of a whole chunk. True: written (and counted). False: what
    is left is in ``stream.out`` for the task, which waits for the socket (or meets the error
    and ends the stream)."""
    try:
        sent = sock.send(data)
    except BlockingIOError:
        sent = 0
    except OSError:
        stream.out = data
        return False
    if sent < len(data):
        stream.out = data[sent:]
        return False
    stream.wrote()
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


async def until_peer_closes(sock: socket.socket, stream: Stream) -> None:
    """The SSE reader: a stream client has nothing to say; returns at EOF."""
    while True:
        await trio.lowlevel.wait_readable(sock)
        try:
            if not sock.recv(4096):
                return  # EOF: the client closed its side
        except BlockingIOError:
            continue  # spurious readiness
        # Whatever it sends is discarded.
