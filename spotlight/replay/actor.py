"""One replay: an actor that owns its own copy of the live pipeline and plays items into it.

Source -> pipeline -> analytics engine -> hub, exactly the live classes, with the replay's
own epoch and sequence, so a client attached with ``replay=<id>`` receives events in the
live format. Only the clock differs: items are played at their recorded times divided by
the speed (``Pacer``), and the analytics run from recorded steps instead of timers.

State: ``starting`` -> ``running`` <-> ``paused`` -> ``ended`` (reached its end), ``stopped``
(asked to) or ``failed`` (bad data, memory limit). On every exit the replay publishes a
``replay:end`` event, closes its streams (close reason ``replay-ended``) and frees its
worker: nothing outlives it.

"As fast as possible" is as fast as the replay's slowest client can take it: before each
item the actor waits while any attached client has more than half its queue bound pending,
so a fast replay never cuts a client off as slow. The live hub is never involved.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import trio

from spotlight.domain.ticks import SourceStatus, Tick
from spotlight.engine.analytics_actor import stop_pool
from spotlight.engine.analytics_engine import AnalyticsEngine
from spotlight.engine.pipeline import Pipeline
from spotlight.hub.epoch import Epoch
from spotlight.hub.history import History
from spotlight.hub.hub import Hub
from spotlight.protocol.topics import STATUS_TOPIC
from spotlight.replay.items import AnalyticsStep, Item, SegmentState, TickBatch
from spotlight.replay.pacing import Pacer, StaleSteps
from spotlight.replay.plan import ReplayPlan
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["Replay", "ReplayLimits"]

log = logging.getLogger(__name__)

# A stretch of replay time with nothing to play that is longer than this is skipped, not
# waited out (the night before a session, hours the server was down).
MAX_IDLE_MS = 60_000

# Bytes of memory one 1-minute bar costs in a pipeline buffer (Bar object, deque slot),
# measured with tracemalloc: used for the replay's memory estimate.
BAR_BYTES = 200


@dataclass(frozen=True, slots=True)
class ReplayLimits:
    history_events: int = 10_000
    history_s: float = 900.0
    buffer_minutes: int = 4 * 1440
    max_bytes: int = 256 << 20
    client_queue_bytes: int = 1 << 20  # flow control waits above half of these
    client_queue_age_s: float = 5.0


class ReplayFailed(Exception):
    pass


class Replay:
    def __init__(
        self,
        id: str,
        owner: str,
        plan: ReplayPlan,
        origin: str,
        items: Iterable[list[Item]],
        clock: WallClock,
        executor_factory: Callable[[], Executor],
        limits: ReplayLimits,
        on_publish: Callable[[Any], None] | None = None,
    ) -> None:
        self.id = id
        self.owner = owner
        self.plan = plan
        self.origin = origin
        self.limits = limits
        self._items = items
        self._executor_factory = executor_factory
        self.epoch = Epoch.new(clock.now_ms())
        self.hub = Hub(
            self.epoch,
            History(limits.history_events, limits.history_s),
            trio.current_time,
            on_publish=on_publish,
        )
        self.symbols = plan.symbols
        self.pipeline = Pipeline(f"replay-{id}", self.hub, plan.symbols, limits.buffer_minutes)
        self.engine = AnalyticsEngine(self.hub, self.pipeline)
        self.state = "starting"
        self.error: str | None = None
        self.end_reason: str | None = None
        self.items_played = 0
        self.warmed = 0
        self.skipped = 0  # idle stretches jumped over
        self._stale_steps = StaleSteps()
        self._data_from_ms: int | None = None  # the first item in range (progress starts there)
        self._pacer = Pacer(plan.from_ms, plan.speed, 0.0)
        self._changed = trio.Event()
        # Set once the state before the first item in range is in place (the segment state
        # loaded, the ticks before ``from`` fast-forwarded), or when the replay ends: until
        # then its history is empty, so /api/history waits on this (Feed.ready).
        self.ready = trio.Event()
        self._scope: trio.CancelScope | None = None
        self._stop_requested = False
        self._loaded = False
        self._date = plan.date.isoformat() if plan.date else ""
        # A client that attaches before the first item sees at once that this is a replay.
        self.pipeline.status = self._status(
            SourceStatus(origin, "starting", "the replay is loading", (), plan.from_ms)
        )

    # -- control (from the API; synchronous) ----------------------------------------------
    def _poke(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def set_speed(self, speed: float | None) -> None:
        self._pacer.set_speed(speed, trio.current_time())
        self.plan = dataclasses.replace(self.plan, speed=speed)
        self._poke()

    def pause(self) -> None:
        if self.state == "running":
            self._pacer.pause(trio.current_time())
            self.state = "paused"
            self._poke()

    def resume(self) -> None:
        if self.state == "paused":
            self._pacer.resume(trio.current_time())
            self.state = "running"
            self._poke()

    def stop(self) -> None:
        self._stop_requested = True
        if self._scope is not None:
            self._scope.cancel()

    @property
    def finished(self) -> bool:
        return self.state in ("ended", "stopped", "failed")

    # -- the actor ------------------------------------------------------------------------
    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = self.describe
        node.state = "running"
        executor: Executor | None = None
        reason = "stopped"  # unless it finishes or fails: stopped, or the server is stopping
        try:
            with trio.CancelScope() as self._scope:
                task_status.started()
                if self._stop_requested:
                    self._scope.cancel()
                try:
                    self._pacer = Pacer(self.plan.from_ms, self.plan.speed, trio.current_time())
                    self.state = "running"
                    executor = self.engine.executor = self._executor_factory()
                    await self._play()
                    self.state, reason = "ended", "finished"
                except ReplayFailed as exc:
                    self.state, self.error, reason = "failed", str(exc), "failed"
                except Exception as exc:  # a bad recording must not take the server down
                    log.exception("replay %s failed", self.id)
                    self.state, self.error = "failed", f"{type(exc).__name__}: {exc}"
                    reason = "failed"
        finally:
            # Also on cancellation from outside (server shutdown): end the streams, free all.
            if self.state not in ("ended", "failed"):
                self.state = "stopped"
            self.end_reason = reason
            self._finish(reason)
            self.ready.set()
            if executor is not None:
                self.engine.close()
                stop_pool(executor)
            node.state = "stopped"

    def _finish(self, reason: str) -> None:
        position = int(self.position_ms())
        self.hub.publish(
            "replay:end",
            STATUS_TOPIC,
            {"id": self.id, "reason": reason, "positionMs": position, "error": self.error},
        )
        for sub in self.hub.subscribers():
            close = getattr(sub, "close", None)
            if close is not None:
                close("replay-ended")

    async def _play(self) -> None:
        chunks: Iterator[list[Item]] = iter(self._items)
        while True:
            chunk = await trio.to_thread.run_sync(next, chunks, None)
            if chunk is None:
                return
            for item in chunk:
                if item.t_ms >= self.plan.to_ms and not isinstance(item, SegmentState):
                    return
                await self._play_item(item)
            self._check_memory()
            await trio.lowlevel.checkpoint()

    async def _play_item(self, item: Item) -> None:
        if isinstance(item, SegmentState):
            if not self._loaded:
                self._load(item)
            return  # a later segment (the server restarted): keep playing on the same stream
        if item.t_ms < self.plan.from_ms:  # fast-forward to the start: state only
            if isinstance(item, TickBatch):
                self.pipeline.warm(self._for_replay(item.ticks))
                self.warmed += 1
            return
        if not self.ready.is_set():
            self._became_ready()
        await self._wait_until(item.t_ms)
        if self._data_from_ms is None:
            self._data_from_ms = item.t_ms
        if isinstance(item, TickBatch):
            self.pipeline.ingest(self._for_replay(item.ticks))
            self.items_played += 1
        elif isinstance(item, AnalyticsStep):
            late = self._pacer.late_ms(item.t_ms, trio.current_time())
            if not self._stale_steps.stale(item.step.get("k"), item.t_ms, late):
                await self.engine.apply(item.step)
                self.items_played += 1
        self._pacer.played(item.t_ms, trio.current_time())

    def _became_ready(self) -> None:
        """The starting state is in place. A recording's status was restored silently with
        it: publish it, so a client that attached while the replay was ``starting`` learns
        that it is loaded (the web client reloads its history then)."""
        self.ready.set()
        self._pacer.start_now(trio.current_time())
        status = self.pipeline.status
        if status is not None and status.state != "starting":
            self.pipeline.publisher.status(status)

    def _load(self, state: SegmentState) -> None:
        self._loaded = True
        self.pipeline.load_history({s: b for s, b in state.bars.items() if s in self.symbols})
        self.pipeline.restore(
            [t for t in state.last_trades if t.symbol in self.symbols],
            [q for q in state.last_quotes if q.symbol in self.symbols],
            self._status(state.status) if state.status is not None else None,
        )
        self.engine.restore(state.analytics)

    def _for_replay(self, ticks: list[Tick]) -> list[Tick]:
        """The replay's symbols only; status says "replay" (a trader must never mistake a
        replay for live data), with the recorded state."""
        out: list[Tick] = []
        symbols = self.symbols
        for t in ticks:
            if isinstance(t, SourceStatus):
                out.append(self._status(t))
            elif t.symbol in symbols:
                out.append(t)
        return out

    def _status(self, s: SourceStatus) -> SourceStatus:
        return SourceStatus(
            "replay",
            s.state,
            s.reason,
            s.feeds,
            s.ts_ms,
            (("id", self.id), ("origin", self.origin), ("date", self._date), ("source", s.source)),
        )

    async def _wait_until(self, t_ms: int) -> None:
        if t_ms - self._pacer.clock(trio.current_time()) > MAX_IDLE_MS:
            self._pacer.skip_to(t_ms, trio.current_time())
            self.skipped += 1
        while True:
            changed = self._changed
            delay = self._pacer.delay(t_ms, trio.current_time())
            if delay is None:  # paused
                await changed.wait()
                continue
            if delay > 0:
                with trio.move_on_after(delay):
                    await changed.wait()
                continue
            if self._clients_backlogged():
                await trio.sleep(0.005)
                continue
            await trio.lowlevel.checkpoint()
            return

    def _clients_backlogged(self) -> bool:
        now = trio.current_time()
        max_bytes = self.limits.client_queue_bytes / 2
        max_age = self.limits.client_queue_age_s / 2
        for sub in self.hub.subscribers():
            pending = getattr(sub, "pending_bytes", 0)
            age = getattr(sub, "backlog_age", None)
            if pending > max_bytes or (age is not None and age(now) > max_age):
                return True
        return False

    def memory_bytes(self) -> int:
        minutes = sum(b.minute_count for b in self.pipeline.bars.values())
        return self.hub.history.bytes + minutes * BAR_BYTES

    def _check_memory(self) -> None:
        used = self.memory_bytes()
        if used > self.limits.max_bytes:
            raise ReplayFailed(
                f"memory-limit: the replay holds ~{used >> 20} MiB, over its "
                f"{self.limits.max_bytes >> 20} MiB cap (SPOTLIGHT_REPLAY_MAX_MB)"
            )

    # -- what the API and diag show -------------------------------------------------------
    def position_ms(self) -> float:
        """The time of the newest item played (what the replay's chart shows)."""
        pos = self._pacer.position() if self.state != "starting" else 0
        return min(max(pos, self.plan.from_ms), self.plan.to_ms)

    def speed_reached(self) -> float | None:
        """The speed the replay really advanced at over the last seconds (None: paused,
        "max", not running, or not measured yet)."""
        if self.state != "running":
            return None
        reached = self._pacer.reached(trio.current_time())
        return None if reached is None else round(reached, 1)

    def describe(self) -> dict[str, Any]:
        p = self.plan
        position = self.position_ms()
        # Progress counts from the first data in range: a range that starts at midnight, or a
        # recording that began mid-afternoon, does not open at 60-94 % (issue 15).
        start = max(p.from_ms, min(self._data_from_ms or p.from_ms, p.to_ms))
        span = max(1, p.to_ms - start)
        progress = 1.0 if self.state == "ended" else (position - start) / span
        return {
            "id": self.id,
            "state": self.state,
            "symbols": list(p.symbols),
            "date": p.date.isoformat() if p.date else None,
            "fromMs": p.from_ms,
            "toMs": p.to_ms,
            "start": p.start,
            "speed": "max" if p.speed is None else p.speed,
            "speedReached": self.speed_reached(),
            "positionMs": int(position) if self.state != "starting" else None,
            "progress": round(min(1.0, max(0.0, progress)), 4),
            "origin": self.origin,
            "epoch": self.epoch.to_json(),
            "lastSeq": self.hub.last_seq,
            "clients": self.hub.subscriber_count,
            "itemsPlayed": self.items_played,
            "idleSkips": self.skipped,
            "stepsSkipped": dict(self._stale_steps.skipped),
            "dataFromMs": self._data_from_ms,
            "memoryBytes": self.memory_bytes(),
            "error": self.error,
        }
