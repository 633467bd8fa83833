"""The published event: sequenced once, encoded once, shared by every subscriber.

An ``Event`` is immutable and carries its wire bytes for each transport, built at publish
time: the complete SSE frame and the complete WebSocket frame (header included: server
frames are never masked, and permessage-deflate is declined, so the same bytes are right for
every client). Fan-out hands the same object to every inbox, so delivering an event to 1,000
clients costs 1,000 pointer appends, not 1,000 encodings (centrifuge's broadcastPublication
does the same for the same reason).

It is a ``msgspec.Struct`` with ``gc=False``: it holds only ints, strings, bytes and a float,
so it can never be part of a reference cycle, and the cyclic garbage collector need never
visit it. The history holds up to 50,000 of them; as tracked objects they filled the young
generation and each young collection paused the event loop for 25-55 ms at 1,000 clients.
"""

from __future__ import annotations

import struct

import msgspec
import orjson

__all__ = ["EVENT_OVERHEAD", "Event", "encode_event", "format_event_id", "frame_event", "ws_frame"]

# What an event holds besides its two frames' bytes, measured with tracemalloc on CPython
# 3.11 (tests/hub/test_hub_and_history.py checks it): the struct (88 B), two bytes objects'
# headers, its topic string and its slot in the history's deque.
EVENT_OVERHEAD = 200

# RFC 6455 section 5.2: FIN + opcode in the first byte; text is 0x1, binary 0x2.
WS_TEXT = 0x1
WS_BINARY = 0x2


def ws_frame(payload: bytes, opcode: int = WS_TEXT) -> bytes:
    """One final, unmasked WebSocket frame (server to client) carrying ``payload``."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", first, 126, n) + payload
    return struct.pack("!BBQ", first, 127, n) + payload


def format_event_id(epoch: str, seq: int) -> str:
    """The resume position on the wire: ``<epoch>:<seq>`` (SSE ``id:``, WS ``id``)."""
    return f"{epoch}:{seq}"


class Event(msgspec.Struct, frozen=True, gc=False):
    seq: int
    type: str  # wire event name: "tick", "quote", "bar:update", "bar:close", ...
    topic: str  # routing key: "tick:SPY", "bar:SPY:1m", ...
    # Events with the same non-None key supersede each other in a client's queue (the
    # in-progress bar of a symbol): a newer one replaces a pending older one.
    conflate_key: str | None
    published: float  # hub clock (trio.current_time) at publish, for age bounds and latency
    sse: bytes  # complete SSE frame, terminated by a blank line
    ws: bytes  # complete WebSocket text frame (header + UTF-8 JSON message)
    size: int  # bytes this event costs a client queue: the larger of its two framings
    # Where the JSON payload starts in ``sse`` (it ends 2 bytes before its end). The payload
    # is not kept on its own: orjson's output keeps a 4 KB allocation whatever its length,
    # which made a retained event cost ~5.5 KB of RSS where its frames are ~0.4 KB.
    data_at: int

    @property
    def data(self) -> bytes:
        """The JSON payload (a copy sliced out of the SSE frame: for the rare reader)."""
        return self.sse[self.data_at : -2]

    @property
    def memory(self) -> int:
        """What this event holds in memory, measured: its two frames, their object headers
        and the event itself (docs/architecture.md, "Memory")."""
        return len(self.sse) + len(self.ws) + EVENT_OVERHEAD


def encode_event(
    epoch: str,
    seq: int,
    type: str,
    topic: str,
    payload: object,
    published: float,
    conflate_key: str | None = None,
) -> Event:
    return frame_event(epoch, seq, type, topic, orjson.dumps(payload), published, conflate_key)


def frame_event(
    epoch: str,
    seq: int,
    type: str,
    topic: str,
    data: bytes,
    published: float,
    conflate_key: str | None = None,
) -> Event:
    """An event from its already-encoded JSON payload (what a shared backend stores)."""
    eid = format_event_id(epoch, seq).encode()
    t = type.encode()
    head = b"id: " + eid + b"\nevent: " + t + b"\ndata: "
    sse = head + data + b"\n\n"
    ws = ws_frame(
        b'{"type":"'
        + t
        + b'","seq":'
        + str(seq).encode()
        + b',"id":"'
        + eid
        + b'","payload":'
        + data
        + b"}"
    )
    size = len(ws) if len(ws) > len(sse) else len(sse)
    return Event(seq, type, topic, conflate_key, published, sse, ws, size, len(head))
