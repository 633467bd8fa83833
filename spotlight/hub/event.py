"""The published event: sequenced once, encoded once, shared by every subscriber.

An ``Event`` is immutable and carries its wire bytes for each transport, built at publish
time. Fan-out hands the same object to every inbox, so delivering an event to 1,000 clients
costs 1,000 pointer appends, not 1,000 encodings (centrifuge's broadcastPublication does the
same for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = ["Event", "encode_event", "format_event_id", "frame_event"]


def format_event_id(epoch: str, seq: int) -> str:
    """The resume position on the wire: ``<epoch>:<seq>`` (SSE ``id:``, WS ``id``)."""
    return f"{epoch}:{seq}"


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str  # wire event name: "tick", "quote", "bar:update", "bar:close", ...
    topic: str  # routing key: "tick:SPY", "bar:SPY:1m", ...
    # Events with the same non-None key supersede each other in a client's queue (the
    # in-progress bar of a symbol): a newer one replaces a pending older one.
    conflate_key: str | None
    published: float  # hub clock (trio.current_time) at publish, for age bounds and latency
    data: bytes  # the JSON payload
    sse: bytes  # complete SSE frame, terminated by a blank line
    ws: bytes  # complete WebSocket text message (UTF-8 JSON)
    size: int  # bytes this event costs a client queue (its SSE frame, the larger framing)


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
    sse = b"id: " + eid + b"\nevent: " + t + b"\ndata: " + data + b"\n\n"
    ws = (
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
    return Event(seq, type, topic, conflate_key, published, data, sse, ws, len(sse))
