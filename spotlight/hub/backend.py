"""The hub backend: where an event gets its sequence number and its place in history.

The ``Hub`` (hub.py) does the local half of publishing for every backend: history for
resume, and the offer to each subscribed inbox, synchronously (``Hub.deliver``). A backend
decides how an event reaches ``deliver``:

- ``MemoryBackend`` (backend_memory.py, the default): numbers the event in this process and
  delivers it in the same synchronous step. One process, one sequence, nothing shared.
- ``RedisBackend`` (backend_redis.py, ``SPOTLIGHT_REDIS_URL``): hands the event to a bounded
  outbound queue; a writer task numbers it in Redis (one script: sequence, stream entry,
  trim), and every node's one reader delivers it from the stream. Several processes and
  machines then share one sequence, one history and one epoch, and a client resumes exactly
  on any of them. ``publish`` returns ``None`` there: the seq is Redis's to give.

Either way ``publish`` never awaits and never blocks on a client or on the network.
(centrifuge splits its Broker the same way: broker.go, broker_memory.go, broker_redis.go.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from spotlight.hub.event import Event
    from spotlight.hub.hub import Hub

__all__ = ["HubBackend"]


class HubBackend(Protocol):
    kind: str  # "memory" | "redis"

    def publish(
        self, hub: Hub, type: str, topic: str, payload: object, conflate_key: str | None
    ) -> Event | None:
        """Sequence and deliver an event, or queue it for that; never awaits."""
        ...

    def health(self) -> dict[str, object]:
        """``{"state": "ok" | "starting" | "degraded", ...}`` for /health and the status."""
        ...

    def stats(self) -> dict[str, object]:
        """Counters for /api/diag and the metrics."""
        ...
