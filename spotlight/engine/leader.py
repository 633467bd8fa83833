"""Exactly one market supervisor per deployment: a leader lease in Redis.

Every node runs this actor; the one holding the lease runs the market (the source, the
pipeline's publishing and the analytics) as its child, the others wait and mirror the
stream (engine/mirror.py).

- Acquire: ACQUIRE (redis_scripts.py) sets ``P:lease`` to ``<node>:<token>`` if nobody holds
  it, with a TTL, and the token comes from INCR on ``P:fence``, so every lease is new.
  Followers try every ``ttl/5``: a dead leader is replaced within about ``ttl + ttl/5``.
- Hold: renew every ``ttl/3``. The leader steps down on its own clock once ``0.8 * ttl``
  has passed since its last successful renewal began: by then it cannot know whether
  another node took over. The backend's ``fence`` is the lease value, and the PUBLISH script
  refuses a batch whose lease is not the current one: a deposed leader that did not notice
  yet (paused, partitioned) cannot publish.
- Release: a clean stop deletes the lease (if still ours) so a successor starts at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import trio

from spotlight.hub.backend_redis import RedisBackend, RedisUnavailable
from spotlight.runtime.supervisor import ActorRun, RestartPolicy, supervise
from spotlight.runtime.tree import ActorNode

__all__ = ["LeaderLease"]

log = logging.getLogger(__name__)

# The leader stops this fraction of a TTL after its last renewal started, leaving the rest
# of the TTL for a paused process or skewed clocks before a successor may start.
STEP_DOWN_AT = 0.8


class LeaderLease:
    def __init__(
        self,
        backend: RedisBackend,
        ttl_s: float,
        market: ActorRun,
        policy: RestartPolicy,
        before_leading: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.backend = backend
        self.ttl_s = ttl_s
        self.market = market
        self.policy = policy
        self.before_leading = before_leading
        self.value: str | None = None  # the lease while held
        self.terms = 0  # times this node became leader
        self.lost = 0  # times it stepped down (lease lost or not renewable in time)
        self.since: float | None = None  # wall time it became leader

    @property
    def is_leader(self) -> bool:
        return self.value is not None

    def stats(self) -> dict[str, object]:
        return {
            "leader": self.is_leader,
            "lease": self.value,
            "terms": self.terms,
            "lost": self.lost,
            "leaderSinceMs": int(self.since * 1000) if self.since else None,
            "ttlS": self.ttl_s,
        }

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = self.stats
        task_status.started()
        cfg = self.backend.config
        ttl_ms = int(self.ttl_s * 1000)
        while True:
            started, value = await self._acquire(cfg.node_id, ttl_ms)
            log.info("leader: this node holds the market lease %s", value)
            self.value, self.since = value, time.time()
            self.terms += 1
            try:
                if self.before_leading is not None:
                    await self.before_leading()
                self.backend.fence = value
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._hold, value, started, nursery.cancel_scope)
                    await nursery.start(
                        supervise, node, "market", "supervisor", self.market, self.policy
                    )
            finally:
                self.backend.fence = None
                self.value = self.since = None
                dropped = self.backend.drop_outbound("deposed")
                with (
                    trio.CancelScope(shield=True),
                    trio.move_on_after(self.backend.config.timeout_s),
                ):
                    await self._release(value)
            self.lost += 1
            log.warning("leader: stepped down (%d queued events dropped)", dropped)

    async def _acquire(self, node_id: str, ttl_ms: int) -> tuple[float, str]:
        lease, fence = self.backend.config.key("lease"), self.backend.config.key("fence")
        while True:
            t0 = trio.current_time()
            try:
                value = await self.backend.script("ACQUIRE", [lease, fence], [node_id, ttl_ms])
            except RedisUnavailable:
                value = None
            if value:
                return t0, value.decode() if isinstance(value, bytes) else str(value)
            await trio.sleep(self.ttl_s / 5)

    async def _hold(self, value: str, renewed_at: float, scope: trio.CancelScope) -> None:
        lease = self.backend.config.key("lease")
        ttl_ms = int(self.ttl_s * 1000)
        while True:
            deadline = renewed_at + STEP_DOWN_AT * self.ttl_s
            await trio.sleep_until(min(renewed_at + self.ttl_s / 3, deadline))
            t0 = trio.current_time()
            result: int | None = None
            with trio.move_on_at(deadline):
                try:
                    result = int(await self.backend.script("RENEW", [lease], [value, ttl_ms]))
                except RedisUnavailable:
                    await trio.sleep_until(min(t0 + self.ttl_s / 10, deadline))
            if result == 1:
                renewed_at = t0
            elif result == 0:
                log.warning("leader: lease %s was taken over", value)
                break
            elif trio.current_time() >= deadline:
                log.warning("leader: lease %s could not be renewed in time", value)
                break
        scope.cancel()

    async def _release(self, value: str) -> None:
        with contextlib.suppress(RedisUnavailable):
            await self.backend.script("RELEASE", [self.backend.config.key("lease")], [value])
