"""The Redis backend's publishing half: a bounded outbound queue and its writer.

``publish`` (synchronous, the market leader's node only) encodes the payload once and
appends it to the queue without awaiting. The writer task drains it in batches, one PUBLISH
script call per batch (redis_scripts.py): epoch and fencing-token checks, INCRBY, one XADD per
event with the seq as its entry id, trim by count and by age, all atomic. A batch carries a
number, so a retry after a lost reply is applied once. Events come back to every node,
this one included, through the reader (backend_redis.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import coredis.exceptions
import orjson
import trio

from spotlight.hub.redis_common import RedisConfig, Resync

if TYPE_CHECKING:
    from spotlight.hub.hub import Hub

__all__ = ["BATCH_EVENTS", "OUTBOUND_MAX_AGE_S", "Outbound"]

# Events per PUBLISH call: large enough that a burst is one round trip (~170k publishes/s
# measured with 100 per call), small enough that one call holds Redis for well under 1 ms.
BATCH_EVENTS = 256
# Queued events older than this are dropped, not published: a publish that could not reach
# Redis for this long is no longer news (and its lease has likely expired anyway).
OUTBOUND_MAX_AGE_S = 10.0


@dataclass(slots=True)
class _Pending:
    type: str
    topic: str
    conflate_key: str
    data: bytes
    fence: str
    queued: float  # monotonic


class Outbound:
    def __init__(self, config: RedisConfig) -> None:
        self.config = config
        # The lease value while this node leads (engine/leader.py), else None: publishes
        # carry it and the PUBLISH script refuses any that is not the current lease.
        self.fence: str | None = None
        self._queue: deque[_Pending] = deque()
        self._inflight: tuple[int, list[_Pending]] | None = None
        self._batch_no = 0
        self._wake = trio.Event()
        self.published = 0
        self.dropped: dict[str, int] = {
            "not-leader": 0,
            "overflow": 0,
            "stale": 0,
            "fenced": 0,
            "epoch-changed": 0,
            "deposed": 0,
        }

    def __len__(self) -> int:
        return len(self._queue) + (len(self._inflight[1]) if self._inflight else 0)

    def publish(
        self, hub: Hub, type: str, topic: str, payload: object, conflate_key: str | None
    ) -> None:
        fence = self.fence
        if fence is None:
            self.dropped["not-leader"] += 1
            return
        q = self._queue
        if len(q) >= self.config.outbound_events:
            q.popleft()
            self.dropped["overflow"] += 1
        q.append(
            _Pending(type, topic, conflate_key or "", orjson.dumps(payload), fence, hub.clock())
        )
        self._wake.set()

    def drop(self, reason: str) -> int:
        """Forget every queued event (the lease was lost: none of them can be published)."""
        n = len(self)
        self._queue.clear()
        self._inflight = None
        self.dropped[reason] = self.dropped.get(reason, 0) + n
        return n

    async def run(self, script: Callable[[str], Any], hub: Hub) -> None:
        """The writer: batches to the PUBLISH script (``script(name)`` is the bound script)
        until cancelled; raises ``Resync`` when the stream's epoch changed under it."""
        cfg = self.config
        keys = [cfg.key("epoch"), cfg.key("seq"), cfg.key("stream"), cfg.key("lease")]
        batch_key = cfg.key(f"batch:{cfg.node_id}")
        while True:
            if self._inflight is None:
                batch = self._take(hub)
                if not batch:
                    self._wake = trio.Event()
                    await self._wake.wait()
                    continue
                self._batch_no += 1
                self._inflight = (self._batch_no, batch)
            number, batch = self._inflight
            args: list[str | int | bytes] = [
                f"{hub.epoch.id}:{hub.epoch.start_ms}",
                batch[0].fence,
                number,
                cfg.max_events,
                int(cfg.max_age_s * 1000),
            ]
            for p in batch:
                args += [p.type, p.topic, p.conflate_key, p.data]
            try:
                with trio.fail_after(cfg.timeout_s):
                    await script("PUBLISH")(keys=[*keys, batch_key], args=args)
            except coredis.exceptions.ResponseError as exc:
                text = str(exc)
                if "EPOCH" in text:
                    self.drop("epoch-changed")
                    raise Resync("the stream's epoch changed under the writer") from None
                if "FENCED" in text:
                    self.dropped["fenced"] += len(batch)
                    self._inflight = None
                    continue
                raise
            self.published += len(batch)
            self._inflight = None

    def _take(self, hub: Hub) -> list[_Pending]:
        """The next batch: one fence per batch (the script checks one lease per call)."""
        q = self._queue
        horizon = hub.clock() - OUTBOUND_MAX_AGE_S
        while q and q[0].queued < horizon:
            q.popleft()
            self.dropped["stale"] += 1
        out: list[_Pending] = []
        while q and len(out) < BATCH_EVENTS and q[0].fence == (out[0].fence if out else q[0].fence):
            out.append(q.popleft())
        return out
