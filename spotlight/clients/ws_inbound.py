"""What a WebSocket client sends, as events (sans-I/O, over wsproto).

wsproto parses the client's frames: masking (a server must refuse unmasked frames),
opcodes, fragmentation, control-frame rules and incremental UTF-8 validation. This adds what
an endpoint needs on top: whole messages assembled from fragments within a size limit
(checked as fragments arrive, so an oversized message is refused before it is buffered),
and the time the peer was last heard from (any frame, pongs included), for idle detection.

``feed(data)`` takes bytes from the socket (``None`` at EOF) and returns what happened, in
order: ``Message``, ``PingReceived``, ``PeerClosed``, ``PeerGone`` or ``Violation`` (the close
reason from protocol/close.py). After ``PeerClosed``, ``PeerGone`` or ``Violation`` nothing
more is read.

An oversized message is a ``Violation`` (1009) by default. With ``skip_oversized`` it is
skipped instead: its fragments are discarded as they arrive (never buffered) and, once it
ends, an ``Oversized`` event says how large it was; the connection goes on (the voice
endpoint answers with an error message rather than dropping a trader's session).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

__all__ = [
    "Inbound",
    "Message",
    "Oversized",
    "PeerClosed",
    "PeerGone",
    "PingReceived",
    "Violation",
    "WSInbound",
    "discard_parser",
]


@dataclass(frozen=True, slots=True)
class Message:
    data: str | bytes  # str for a text message, bytes for a binary one


@dataclass(frozen=True, slots=True)
class PingReceived:
    payload: bytes  # answer with a pong carrying the same payload


@dataclass(frozen=True, slots=True)
class PeerClosed:
    code: int  # 1005 when the close frame carried no code
    reason: str


@dataclass(frozen=True, slots=True)
class PeerGone:
    """EOF without a close frame (the client crashed, or half-closed its side)."""


@dataclass(frozen=True, slots=True)
class Violation:
    reason: str  # "protocol-error", "invalid-data" or "message-too-big" (protocol/close.py)
    detail: str


@dataclass(frozen=True, slots=True)
class Oversized:
    """A message past the limit was skipped whole (``skip_oversized``)."""

    size: int  # its length in bytes
    limit: int


Inbound = Message | PingReceived | PeerClosed | PeerGone | Violation | Oversized

_BY_CODE = {1007: "invalid-data", 1009: "message-too-big"}

# A masked pong with no payload (FIN, opcode 0xA; MASK, length 0), then its 4-byte mask key:
# the answer to the heartbeat's empty ping. A heartbeat brings one from every connection at
# once (1,000 within milliseconds); wsproto takes ~8.5 us for each, this check ~0.3 us. Any
# other bytes, and any pong that arrives with more, go through wsproto.
_EMPTY_PONG = b"\x8a\x80"


class WSInbound:
    """One server-side connection's inbound half, after the opening handshake."""

    __slots__ = (
        "_clock",
        "_conn",
        "_parts",
        "_pending",
        "_size",
        "_skipping",
        "finished",
        "last_received",
        "max_message_bytes",
        "messages",
        "skip_oversized",
    )

    def __init__(
        self,
        max_message_bytes: int,
        clock: Callable[[], float],
        trailing: bytes = b"",
        *,
        skip_oversized: bool = False,
    ) -> None:
        self.max_message_bytes = max_message_bytes
        self.skip_oversized = skip_oversized
        self._clock = clock
        # wsproto's parser, only while a frame or a fragmented message is half-read: at rest
        # a new one carries on exactly as the old would, and an idle connection saves ~1.7 KB.
        self._conn: Connection | None = None
        self._parts: list[str | bytes] = []
        self._size = 0
        self.last_received = clock()
        self.messages = 0
        self.finished = False
        self._pending = self.feed(trailing) if trailing else []

    def take_pending(self) -> list[Inbound]:
        """Events from bytes that arrived with the handshake (normally none)."""
        out, self._pending = self._pending, []
        return out

    def feed(self, data: bytes | None) -> list[Inbound]:
        if self.finished:
            return []
        if data is None:
            self.finished = True
            return [PeerGone()]
        self.last_received = self._clock()
        if self._conn is None and len(data) == 6 and data[:2] == _EMPTY_PONG:
            return []  # the answer to a heartbeat's ping, read whole at rest: nothing to check
        conn = self._conn or Connection(ConnectionType.SERVER)
        conn.receive_data(data)
        out = self._events(conn)
        if self.finished or (_at_rest(conn) and not self._parts):
            discard_parser(conn)
            self._conn = None
        else:
            self._conn = conn
        return out

    def _events(self, conn: Connection) -> list[Inbound]:
        out: list[Inbound] = []
        for event in conn.events():
            if isinstance(event, TextMessage | BytesMessage):
                piece: str | bytes = (
                    event.data if isinstance(event.data, str) else bytes(event.data)
                )
                self._size += len(piece.encode()) if isinstance(piece, str) else len(piece)
                if self._size > self.max_message_bytes and self.skip_oversized:
                    self._parts = []  # the rest of it is discarded as it arrives
                    if event.message_finished:
                        out.append(Oversized(self._size, self.max_message_bytes))
                        self._size = 0
                    continue
                if self._size > self.max_message_bytes:
                    self.finished = True
                    out.append(
                        Violation(
                            "message-too-big",
                            f"a message is at most {self.max_message_bytes} bytes here",
                        )
                    )
                    return out
                self._parts.append(piece)
                if event.message_finished:
                    out.append(Message(_join(self._parts)))
                    self.messages += 1
                    self._parts, self._size = [], 0
            elif isinstance(event, Ping):
                out.append(PingReceived(bytes(event.payload)))
            elif isinstance(event, Pong):
                continue
            elif isinstance(event, CloseConnection):
                self.finished = True
                if conn.state is ConnectionState.REMOTE_CLOSING:
                    out.append(PeerClosed(int(event.code), event.reason or ""))
                else:  # wsproto turned a frame it could not parse into a close event
                    reason = _BY_CODE.get(int(event.code), "protocol-error")
                    out.append(Violation(reason, event.reason or "malformed frame"))
                return out
        return out


def _at_rest(conn: Connection) -> bool:
    """No frame half-parsed and no fragmented message open in wsproto's parser (a server's
    receiving side keeps no other state). Reads wsproto's internals: if they ever change
    shape, the answer is False and the parser is simply kept (tests/clients/test_ws_inbound.py
    checks that it is released)."""
    try:
        proto = conn._proto
        frames = proto._frame_decoder
        return (
            frames.header is None
            and len(frames.buffer) == 0
            and proto._message_decoder.opcode is None
            and not conn._events
        )
    except AttributeError:
        return False


def discard_parser(conn: Connection | None) -> None:
    """Free a wsproto ``Connection`` now rather than at the next cyclic collection.

    Its frame parser holds a generator that holds the parser: a reference cycle, ~1.7 KB each,
    two per WebSocket (the handshake's, the first message's) that only the cyclic GC would free,
    which with the server's thresholds can be minutes later (runtime/gc_policy.py). Closing the
    generator breaks the cycle. Reads wsproto's internals: if they change shape, nothing is
    done and the collector frees it as before."""
    if conn is None:
        return
    try:
        parse_more = conn._proto._parse_more
    except AttributeError:
        return
    parse_more.close()


def _join(parts: list[str | bytes]) -> str | bytes:
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], str):
        return "".join(p for p in parts if isinstance(p, str))
    return b"".join(p for p in parts if isinstance(p, bytes))
