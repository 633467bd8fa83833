"""The Redis backend: one sequence, one history and one epoch shared by every node.

Publishing (the market leader's node only; engine/leader.py holds the lease): a bounded
outbound queue drained in batches by one atomic script call each (redis_outbound.py).

Delivering (every node): one reader task per node (XREAD BLOCK) delivers each entry to the
local hub (``Hub.deliver``: history, inboxes, shared chunks, transports as before) after
checking its seq against the last one delivered: a duplicate is dropped, a gap is repaired
from the stream (XRANGE) at once, and both are counted. A gap that cannot be repaired (the
stream was trimmed past it) reloads the window and closes the streams so they resume again.

Resume: on connecting, the node loads the stream's retained window into its local history,
and the reader keeps it in step, so ``protocol.resume.decide`` answers from the shared
history on whichever node a client reconnects to.

Epoch: ``P:epoch`` in Redis. When Redis comes back empty (or a replica took over without the
last events: the counter is behind what this node delivered, or the last entry it delivered
is missing), the node adopts or makes a new epoch and closes every stream; their reconnects
get ``reset`` with ``epoch-changed``, never another stream's events under an old id.

Degraded: when Redis cannot be reached (a command fails or takes longer than the timeout),
the node says so (``health``, the ``on_state`` callback: the service tells the streams) and
reconnects with backoff; once back, the reader resumes from the last seq it delivered, so
streams get everything they missed, exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import coredis
import coredis.exceptions
import trio
from coredis.retry import NoRetryPolicy

from spotlight.hub import redis_scripts
from spotlight.hub.epoch import Epoch
from spotlight.hub.event import Event, frame_event
from spotlight.hub.redis_common import (
    UNAVAILABLE,
    Fields,
    RedisConfig,
    RedisUnavailable,
    Resync,
    epoch_value,
    failure_kind,
    leaf,
    new_node_id,
    parse_epoch,
    seq_of,
)
from spotlight.hub.redis_outbound import Outbound
from spotlight.runtime.backoff import Backoff
from spotlight.runtime.tree import ActorNode

if TYPE_CHECKING:
    from spotlight.hub.hub import Hub

__all__ = ["RedisBackend", "RedisConfig", "RedisUnavailable", "Resync", "new_node_id"]

log = logging.getLogger(__name__)

# Entries per XREAD/XRANGE reply: bounds one reply's memory and one delivery step.
READ_COUNT = 1024
# How long one XREAD blocks when nothing is published; the epoch and counter are checked
# at least this often, which bounds how long a silent data loss goes unnoticed.
BLOCK_MS = 500
# The clock difference between Redis and this node that an event's age may absorb; beyond
# it the age is clamped (a node whose clock is off must not age events out at once).
MAX_CLOCK_SKEW_S = 60.0

Trigger = Callable[[str], None]


class RedisBackend:
    kind = "redis"

    def __init__(
        self,
        config: RedisConfig,
        *,
        on_state: Callable[[str, str | None], None] | None = None,
        on_epoch_change: Trigger | None = None,
        on_foreign: Callable[[Event], None] | None = None,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.config = config
        self.hub: Hub | None = None  # set by ``run``
        self.outbound = Outbound(config)
        self.state = "starting"  # "starting" | "ok" | "degraded"
        self.reason: str | None = "connecting to Redis"
        self.since = time.time()
        self._on_state = on_state
        self._on_epoch_change = on_epoch_change
        self._on_foreign = on_foreign  # every event published by another node (the mirror)
        self._wall_ms = wall_ms
        self._redis: coredis.Redis[bytes] | None = None
        self._synced = False
        self._last_sig: tuple[bytes, bytes] | None = None  # (w, f) of the last delivered entry
        self._scripts: dict[str, Any] = {}
        self.counts: dict[str, int] = {
            "delivered": 0,
            "duplicates": 0,
            "gaps": 0,
            "gapsRepaired": 0,
            "gapEvents": 0,
            "resyncs": 0,
            "epochChanges": 0,
            "reconnects": 0,
            "errors": 0,
        }
        self.dropped = self.outbound.dropped

    # -- the publishing side (synchronous: redis_outbound.py) -------------------------------
    @property
    def fence(self) -> str | None:
        """The lease value while this node leads (engine/leader.py), else None."""
        return self.outbound.fence

    @fence.setter
    def fence(self, value: str | None) -> None:
        self.outbound.fence = value

    def publish(
        self, hub: Hub, type: str, topic: str, payload: object, conflate_key: str | None
    ) -> None:
        self.outbound.publish(hub, type, topic, payload, conflate_key)

    def drop_outbound(self, reason: str) -> int:
        """Forget every queued event (the lease was lost: none of them can be published)."""
        return self.outbound.drop(reason)

    def health(self) -> dict[str, object]:
        return {
            "state": self.state,
            "reason": self.reason,
            "sinceMs": int(self.since * 1000),
            "leader": self.fence is not None,
        }

    def stats(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "node": self.config.node_id,
            "prefix": self.config.prefix,
            **self.health(),
            **self.counts,
            "published": self.outbound.published,
            "dropped": dict(self.dropped),
            "outbound": len(self.outbound),
            "outboundMax": self.config.outbound_events,
        }

    # -- calls for the leader lease ----------------------------------------------------------
    async def script(self, name: str, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        """Run one of redis_scripts' scripts now; ``RedisUnavailable`` when degraded."""
        r = self._redis
        if r is None or self.state != "ok":
            raise RedisUnavailable(self.reason or "not connected")
        try:
            with trio.fail_after(self.config.timeout_s):
                return await self._script(r, name)(keys=list(keys), args=list(args))
        except UNAVAILABLE as exc:
            raise RedisUnavailable(f"{type(exc).__name__}: {exc}") from exc

    # -- the actor ---------------------------------------------------------------------------
    async def run(
        self,
        hub: Hub,
        node: ActorNode,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Connect, sync, read and write; reconnect with backoff. ``started`` once synced."""
        self.hub = hub
        node.stats = self.stats
        # Reconnect quickly at first (a blip), then every second at most: a recovered Redis is
        # noticed within about a second.
        backoff = Backoff(base_s=0.05, cap_s=1.0)
        attempt = 0
        started = False
        while True:
            try:
                async with self._connect() as r:
                    self._redis = r
                    await self._sync(r, hub)
                    attempt = 0
                    self._set_state("ok", None)
                    if not started:
                        started = True
                        task_status.started()
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self.outbound.run, partial(self._script, r), hub)
                        await self._reader(r, hub)
            except BaseException as exc:
                kind = failure_kind(exc)
                if kind is None:
                    raise
                if kind == "resync":
                    self.counts["resyncs"] += 1
                    log.warning("redis: resync: %s", leaf(exc))
                    continue
                self.counts["errors"] += 1
                cause = leaf(exc)
                self._set_state(
                    "degraded" if started else "starting",
                    f"Redis unreachable: {type(cause).__name__}: {str(cause)[:200]}",
                )
            finally:
                self._redis = None
            self.counts["reconnects"] += 1
            await trio.sleep(backoff.delay(attempt))
            attempt += 1

    def _connect(self) -> coredis.Redis[bytes]:
        return coredis.Redis.from_url(
            self.config.url,
            decode_responses=False,
            retry_policy=NoRetryPolicy(),
            connect_timeout=self.config.timeout_s,
            stream_timeout=self.config.timeout_s + BLOCK_MS / 1000,
        )

    def _script(self, r: coredis.Redis[bytes], name: str) -> Any:
        """The script bound to this connection's client (EVALSHA, loaded on first use)."""
        script = self._scripts.get(name)
        if script is None or script.registered_client is not r:
            script = self._scripts[name] = r.register_script(getattr(redis_scripts, name))
        return script

    def _set_state(self, state: str, reason: str | None) -> None:
        if state == self.state and reason == self.reason:
            return
        changed = state != self.state
        self.state, self.reason = state, reason
        if changed:
            self.since = time.time()
            log.warning("redis: %s%s", state, f" ({reason})" if reason else "")
            if self._on_state is not None:
                self._on_state(state, reason)

    # -- sync: epoch, window, consistency ----------------------------------------------------
    async def _sync(self, r: coredis.Redis[bytes], hub: Hub) -> None:
        cfg = self.config
        keys = [cfg.key("epoch"), cfg.key("seq"), cfg.key("stream")]
        with trio.fail_after(cfg.timeout_s):
            value, counter = await self._script(r, "ENSURE_EPOCH")(
                keys=keys, args=[epoch_value(self._wall_ms())]
            )
        epoch = parse_epoch(value)
        if self._synced and epoch.id == hub.epoch.id:
            if await self._lost_suffix(r, hub, int(counter)):
                with trio.fail_after(cfg.timeout_s):
                    await self._script(r, "ROTATE_EPOCH")(
                        keys=keys, args=[value, epoch_value(self._wall_ms())]
                    )
                raise Resync("the stream lost events this node had delivered (failover?)")
            return  # same stream: the reader catches up from hub.last_seq
        events = await self._load_window(r, hub, epoch)
        last = events[-1].seq if events else int(counter)
        changed = self._synced
        hub.restart(epoch, events, last)
        self._synced = True
        if changed:
            self.counts["epochChanges"] += 1
            log.warning("redis: new epoch %s (the stream started over)", epoch.id)
            if self._on_epoch_change is not None:
                self._on_epoch_change("epoch-changed")

    async def _lost_suffix(self, r: coredis.Redis[bytes], hub: Hub, counter: int) -> bool:
        """Is the stream behind what this node delivered (an async replica took over)?"""
        last = hub.last_seq
        if counter < last:
            return True
        if last == 0 or self._last_sig is None:
            return False
        with trio.fail_after(self.config.timeout_s):
            entries = await r.xrange(self.config.key("stream"), f"{last}-0", f"{last}-0")
        if not entries:
            return False  # trimmed (by age or count) while this node was away: not a loss
        f: Fields = entries[0].field_values
        return (f.get(b"w", b""), f.get(b"f", b"")) != self._last_sig

    async def _load_window(self, r: coredis.Redis[bytes], hub: Hub, epoch: Epoch) -> list[Event]:
        """The stream's retained entries as events, oldest first (consecutive seqs)."""
        out: list[Event] = []
        start = "-"
        limit = hub.history.max_events
        while True:
            with trio.fail_after(self.config.timeout_s):
                entries = await r.xrange(self.config.key("stream"), start, "+", count=READ_COUNT)
            for entry in entries:
                seq = seq_of(entry.identifier)
                if out and seq != out[-1].seq + 1:
                    out.clear()  # keep only the consecutive tail (never expected)
                f: Fields = entry.field_values
                out.append(self._event(epoch.id, seq, f, hub))
                self._last_sig = (f.get(b"w", b""), f.get(b"f", b""))
            if len(entries) < READ_COUNT:
                break
            start = f"{seq_of(entries[-1].identifier) + 1}-0"
            await trio.lowlevel.checkpoint()
        if not out:
            self._last_sig = None
        return out[-limit:]

    # -- reader ------------------------------------------------------------------------------
    async def _reader(self, r: coredis.Redis[bytes], hub: Hub) -> None:
        cfg = self.config
        stream = cfg.key("stream")
        next_check = trio.current_time() + BLOCK_MS / 1000
        while True:
            with trio.fail_after(cfg.timeout_s + BLOCK_MS / 1000):
                reply = await r.xread(
                    {stream: f"{hub.last_seq}-0"}, count=READ_COUNT, block=BLOCK_MS
                )
            if reply:
                for entries in reply.values():
                    await self._deliver_all(r, hub, entries)
            if trio.current_time() >= next_check:
                next_check = trio.current_time() + BLOCK_MS / 1000
                await self._check(r, hub)

    async def _check(self, r: coredis.Redis[bytes], hub: Hub) -> None:
        """The epoch and the counter, read together: a silent data loss is noticed here."""
        cfg = self.config
        with trio.fail_after(cfg.timeout_s):
            async with r.pipeline(transaction=False) as pipe:
                e = pipe.get(cfg.key("epoch"))
                c = pipe.get(cfg.key("seq"))
            value, counter = await e, await c
        if value is None or parse_epoch(value).id != hub.epoch.id:
            raise Resync("the stream's epoch changed")
        if int(counter or 0) < hub.last_seq:
            raise Resync("the stream's counter went back")

    async def _deliver_all(self, r: coredis.Redis[bytes], hub: Hub, entries: Sequence[Any]) -> None:
        for entry in entries:
            seq = seq_of(entry.identifier)
            last = hub.last_seq
            if seq <= last:
                self.counts["duplicates"] += 1
                continue
            if seq > last + 1:
                await self._repair(r, hub, last, seq)
            self._deliver(hub, seq, entry.field_values)

    async def _repair(self, r: coredis.Redis[bytes], hub: Hub, last: int, seq: int) -> None:
        """Fetch the missing ``last+1 .. seq-1`` from the stream, or resync if it is gone."""
        self.counts["gaps"] += 1
        missing = seq - last - 1
        log.warning(
            "redis: gap of %d events after seq %d: repairing from the stream", missing, last
        )
        with trio.fail_after(self.config.timeout_s):
            entries = await r.xrange(
                self.config.key("stream"), f"{last + 1}-0", f"{seq - 1}-0", count=missing
            )
        if len(entries) != missing or seq_of(entries[0].identifier) != last + 1:
            self._synced = False  # reload the window (same epoch): positions stay valid
            if self._on_epoch_change is not None:
                self._on_epoch_change("resync")
            raise Resync(f"gap after seq {last} is no longer in the stream")
        for entry in entries:
            self._deliver(hub, seq_of(entry.identifier), entry.field_values)
        self.counts["gapsRepaired"] += 1
        self.counts["gapEvents"] += missing

    def _deliver(self, hub: Hub, seq: int, fields: Fields) -> None:
        event = self._event(hub.epoch.id, seq, fields, hub)
        hub.deliver(event)
        self.counts["delivered"] += 1
        self._last_sig = (fields.get(b"w", b""), fields.get(b"f", b""))
        fence = fields.get(b"f", b"").decode()
        if self._on_foreign is not None and fence != self.fence:
            self._on_foreign(event)

    def _event(self, epoch: str, seq: int, f: Fields, hub: Hub) -> Event:
        # Publish time on this node's monotonic clock, from Redis's clock at publish: the
        # client queues' age bounds and the latency metrics then include the trip via Redis.
        age = (self._wall_ms() - int(f.get(b"w", b"0"))) / 1000
        now = hub.clock()
        published = now - min(max(age, 0.0), MAX_CLOCK_SKEW_S)
        conflate = f.get(b"c", b"").decode() or None
        return frame_event(
            epoch, seq, f[b"y"].decode(), f[b"t"].decode(), f[b"d"], published, conflate
        )
