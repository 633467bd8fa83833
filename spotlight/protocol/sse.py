"""SSE framing for the per-client events that are not in the hub's sequence (pure).

Hub events arrive pre-framed (``Event.sse``). Control events (snapshot, reset, heartbeat,
slow, shutdown) are framed here. Every frame carries an ``id:``: the position the client has
fully caught up to, so a browser's automatic Last-Event-ID is always the right resume point.
"""

from __future__ import annotations

import orjson

from spotlight.hub.event import format_event_id

__all__ = ["control_frame", "retry_frame"]


def retry_frame(retry_ms: int) -> bytes:
    """The reconnect delay hint (EventSource waits this long before reconnecting)."""
    return b"retry: " + str(int(retry_ms)).encode() + b"\n\n"


def control_frame(event: str, payload: object, epoch: str, seq: int) -> bytes:
    return (
        b"id: "
        + format_event_id(epoch, seq).encode()
        + b"\nevent: "
        + event.encode()
        + b"\ndata: "
        + orjson.dumps(payload)
        + b"\n\n"
    )
