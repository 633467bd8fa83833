"""How a stream's messages look on each transport: one ``Framing`` per transport (pure).

A stream (``clients/stream.py``) decides *what* to send: hub events, then control messages
(snapshot, reset, heartbeat, the closing message, and on WebSocket the command replies). The
framing decides *how*: hub events come pre-framed from the hub (``Event.sse``, ``Event.ws``),
control messages are framed here. Both transports carry the same messages with the same
fields; only the envelope differs:

- SSE: ``id: <epoch>:<seq>`` / ``event: <type>`` / ``data: <payload>``; the stream opens with
  the ``retry:`` hint.
- WebSocket: one text frame ``{"type", "seq", "id", "payload"}``; no prelude; a close frame
  with the reason's code last. A control message's ``seq``/``id`` is the position the
  client has fully caught up to, as on SSE.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Final

import orjson

from spotlight.hub.event import Event, format_event_id, ws_frame
from spotlight.protocol.close import CloseReason
from spotlight.protocol.sse import control_frame, retry_frame
from spotlight.protocol.ws_frames import close_frame

__all__ = ["SSE", "WS", "Framing"]


class Framing:
    """One transport's envelope. Use the module's ``SSE`` and ``WS`` instances."""

    __slots__ = ("event", "name")

    def __init__(self, name: str, event_bytes: str) -> None:
        self.name = name
        # A hub event's pre-framed bytes: an attrgetter (C) rather than a method, since it
        # runs per event per client on the fan-out path.
        self.event: Callable[[Event], bytes] = attrgetter(event_bytes)

    def control(self, type: str, payload: object, epoch: str, seq: int) -> bytes:
        raise NotImplementedError

    def prelude(self, retry_ms: int) -> bytes:
        """What a stream writes before anything else."""
        return b""

    def closing(self, reason: CloseReason) -> bytes:
        """What a stream writes last (after the closing message, when announced)."""
        return b""

    def __repr__(self) -> str:
        return f"<Framing {self.name}>"


class _SSE(Framing):
    __slots__ = ()

    def control(self, type: str, payload: object, epoch: str, seq: int) -> bytes:
        return control_frame(type, payload, epoch, seq)

    def prelude(self, retry_ms: int) -> bytes:
        return retry_frame(retry_ms)


class _WS(Framing):
    __slots__ = ()

    def control(self, type: str, payload: object, epoch: str, seq: int) -> bytes:
        return ws_frame(
            orjson.dumps(
                {"type": type, "seq": seq, "id": format_event_id(epoch, seq), "payload": payload}
            )
        )

    def closing(self, reason: CloseReason) -> bytes:
        return close_frame(reason.ws_code, reason.name)


SSE: Final[Framing] = _SSE("sse", "sse")
WS: Final[Framing] = _WS("ws", "ws")
