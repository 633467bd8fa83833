"""The in-process backend (the default): one counter, history in this process's memory.

``publish`` numbers, encodes and delivers in one synchronous step, so an event is in history
and in every subscribed inbox before ``publish`` returns (what exact resume relies on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotlight.hub.event import Event, encode_event

if TYPE_CHECKING:
    from spotlight.hub.hub import Hub

__all__ = ["MemoryBackend"]


class MemoryBackend:
    kind = "memory"

    def publish(
        self, hub: Hub, type: str, topic: str, payload: object, conflate_key: str | None
    ) -> Event:
        event = encode_event(
            hub.epoch.id, hub.last_seq + 1, type, topic, payload, hub.clock(), conflate_key
        )
        hub.deliver(event)
        return event

    def health(self) -> dict[str, object]:
        return {"state": "ok"}

    def stats(self) -> dict[str, object]:
        return {"kind": self.kind}
