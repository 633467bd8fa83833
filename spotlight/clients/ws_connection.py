"""A WebSocket stream's connection: its reading side and its keep-alive, on a raw socket.

The writing side is the shared one (``clients/socket_stream.py``: the stream's chunks,
direct and shared writes). Here:

- ``read`` is the connection's reader task: socket bytes -> ``WSInbound`` (wsproto) ->
  messages handed to the endpoint's ``on_message`` one at a time, in order (it may await,
  e.g. to refresh stale prices before a subscribe), pings answered with pongs, the peer's
  close answered with ours, protocol violations closed with their code (1002, 1007, 1009).
- ``heartbeat`` runs when the stream's heartbeat is due (one ticker for all streams, not a
  timer per connection): it sends a ping, and closes a peer that has sent nothing at all,
  not even a pong, for ``idle_timeout_s``.
- With ``ping_interval_s`` the connection keeps itself alive instead, on its own timer
  (``keepalive``, a task beside the reader): a ping every ``ping_interval_s`` and a close
  exactly ``idle_timeout_s`` after the peer was last heard from. For endpoints with few
  connections and tight liveness needs (the voice coach: a ping every 5 s, closed after 15 s
  of silence), where one timer per connection costs nothing.
- ``background``: an endpoint's own long-running work for this connection (a voice agent),
  run beside the reader and cancelled when the connection ends.
- ``on_oversized``: when set, a message past the size limit is skipped and reported here
  (``WSInbound(skip_oversized=True)``) instead of closing the connection with 1009.

Inbound rate: at most ``max_messages`` messages per ``window_s``; past that, messages are
dropped and the endpoint is told (``on_flood``), once per window, so a client that floods
cannot make the server work for it.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import trio

from spotlight.clients.stream import Stream
from spotlight.clients.ws_inbound import (
    Message,
    Oversized,
    PeerClosed,
    PeerGone,
    PingReceived,
    Violation,
    WSInbound,
)
from spotlight.protocol.ws_frames import ping_frame, pong_frame

__all__ = ["RECV_BYTES", "WSConnection"]

# One recv per readiness: commands are small; audio frames are a few KB.
RECV_BYTES = 65536
# The heartbeat's ping: no payload, so the same bytes for every connection (server frames
# are unmasked) and a pong that is one 6-byte frame.
_PING = ping_frame()


class WSConnection:
    __slots__ = (
        "_clock",
        "_in_window",
        "_window_start",
        "background",
        "flooded",
        "idle_timeout_s",
        "inbound",
        "max_messages",
        "on_flood",
        "on_message",
        "on_oversized",
        "ping_interval_s",
        "pings",
        "stream",
        "window_s",
    )

    def __init__(
        self,
        stream: Stream,
        inbound: WSInbound,
        on_message: Callable[[str | bytes], Awaitable[None]],
        *,
        idle_timeout_s: float,
        max_messages: int,
        window_s: float,
        on_flood: Callable[[int], None],
        clock: Callable[[], float],
        ping_interval_s: float | None = None,
        background: Callable[[], Awaitable[None]] | None = None,
        on_oversized: Callable[[int, int], None] | None = None,
    ) -> None:
        self.stream = stream
        self.inbound = inbound
        self.on_message = on_message
        self.idle_timeout_s = idle_timeout_s
        self.max_messages = max_messages
        self.window_s = window_s
        self.on_flood = on_flood
        self._clock = clock
        self._window_start = clock()
        self._in_window = 0
        self.flooded = 0  # messages dropped for the rate limit
        self.pings = 0
        self.ping_interval_s = ping_interval_s
        self.background = background
        self.on_oversized = on_oversized
        if ping_interval_s is None:
            stream.on_heartbeat = self.heartbeat

    def heartbeat(self) -> bytes:
        """The stream's heartbeat is due: a ping to write after it, or close a peer that went
        silent (b"")."""
        if self._clock() - self.inbound.last_received > self.idle_timeout_s:
            self.stream.close("idle")
            return b""
        self.pings += 1
        return _PING

    async def keepalive(self) -> None:
        """Own-timer keep-alive (``ping_interval_s``): ping on schedule, close when idle."""
        assert self.ping_interval_s is not None
        inbox = self.stream.session.inbox
        next_ping = trio.current_time() + self.ping_interval_s
        while inbox.closed_reason is None:
            idle_at = self.inbound.last_received + self.idle_timeout_s
            await trio.sleep_until(min(next_ping, idle_at))
            now = trio.current_time()
            if now >= self.inbound.last_received + self.idle_timeout_s:
                self.stream.close("idle")
                return
            if now >= next_ping:
                self.pings += 1
                self.stream.send_raw(_PING)
                next_ping = now + self.ping_interval_s

    async def read(self, sock: socket.socket, stream: Stream) -> None:
        if self.ping_interval_s is None and self.background is None:
            await self._read(sock)
            return
        async with trio.open_nursery() as nursery:
            if self.ping_interval_s is not None:
                nursery.start_soon(self.keepalive)
            if self.background is not None:
                nursery.start_soon(self.background)
            await self._read(sock)
            nursery.cancel_scope.cancel()

    async def _read(self, sock: socket.socket) -> None:
        for event in self.inbound.take_pending():
            if not await self._handle(event):
                return
        while True:
            await trio.lowlevel.wait_readable(sock)
            try:
                data = sock.recv(RECV_BYTES)
            except BlockingIOError:
                continue  # spurious readiness
            for event in self.inbound.feed(data or None):
                if not await self._handle(event):
                    return

    async def _handle(self, event: object) -> bool:
        """Act on one inbound event; False once the connection is done reading."""
        stream = self.stream
        if isinstance(event, Message):
            if self._admit():
                await self.on_message(event.data)
            return True
        if isinstance(event, PingReceived):
            stream.send_raw(pong_frame(event.payload))
            return True
        if isinstance(event, Oversized):
            if self.on_oversized is not None:
                self.on_oversized(event.size, event.limit)
            return True
        if isinstance(event, PeerClosed):
            stream.close("client-closed")  # answered with our close frame, then the end
            return False
        if isinstance(event, Violation):
            stream.close(event.reason)
            return False
        assert isinstance(event, PeerGone)
        return False

    def _admit(self) -> bool:
        now = self._clock()
        if now - self._window_start >= self.window_s:
            self._window_start, self._in_window = now, 0
        self._in_window += 1
        if self._in_window <= self.max_messages:
            return True
        self.flooded += 1
        if self._in_window == self.max_messages + 1:
            self.on_flood(self.max_messages)
        return False
