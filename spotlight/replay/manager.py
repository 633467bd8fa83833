"""The replay manager actor: starts, controls and frees replays, and owns their nursery.

Each replay runs as a child of this actor (``replays`` in the actor tree); a failing replay
ends itself (state ``failed``) and never disturbs the live server. Caps: at most
``replay_max`` replays at once for the whole server, each bounded in memory and range.
Replays are scoped to whoever started them (the login session): others cannot list or
control them; streams attach with the replay's unguessable id.

Where a replay's data comes from (``origin``), first match wins:
1. ``recorded``: the live server recorded that range (recording/);
2. ``massive``: the live source is Massive: its 1-minute aggregates of that day;
3. ``simulated``: the simulator's deterministic history (the live pipeline's 1-minute
   buffer, which holds the simulator's past days and what it has produced since).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor
from typing import Any

import trio

from spotlight.config import Settings
from spotlight.domain.bars import Bar
from spotlight.domain.calendar import holidays, is_trading_day, previous_trading_day
from spotlight.domain.nytime import ny_midnight_ms
from spotlight.domain.ticks import SourceStatus
from spotlight.engine.feed import Feed, FeedNotFound
from spotlight.engine.pipeline import Pipeline
from spotlight.market.massive.errors import MassiveError
from spotlight.market.massive.source import MassiveSource
from spotlight.market.source import MarketSource
from spotlight.metrics import Metrics
from spotlight.recording.store import RecordingStore, exchange_date
from spotlight.replay.actor import Replay, ReplayLimits
from spotlight.replay.items import BarItems, Item, RecordedItems
from spotlight.replay.plan import (
    MAX_SPEED,
    PlanError,
    ReplayPlan,
    parse_plan,
    parse_speed,
    session_open_ms,
)
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["ReplayError", "ReplayManager"]

log = logging.getLogger(__name__)

RECENT = 20  # final states of ended replays kept for GET /api/replay/<id>
# Trading sessions of bars loaded before a rebuilt (not recorded) replay, from midnight of
# the earliest: the prior day's levels are there for a Monday or the day after a holiday too.
HISTORY_SESSIONS_BEFORE = 2
MASSIVE_DATES = 10  # recent sessions offered for Massive replays


class ReplayError(Exception):
    """A request the manager refuses: ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


class ReplayManager:
    def __init__(
        self,
        settings: Settings,
        clock: WallClock,
        metrics: Metrics,
        store: RecordingStore,
        live: Pipeline,
        source: Callable[[], MarketSource | None],
        executor_factory: Callable[[], Executor],
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.store = store
        self.live = live
        self.source = source
        self.executor_factory = executor_factory
        self.limits = ReplayLimits(
            history_events=settings.replay.history_events,
            history_s=settings.hub.history_seconds,
            max_bytes=settings.replay.max_mb << 20,
            client_queue_bytes=settings.streams.client_queue_bytes,
            client_queue_age_s=settings.streams.client_queue_age_s,
        )
        self._replays: dict[str, Replay] = {}
        self._recent: deque[tuple[str, dict[str, Any]]] = deque(maxlen=RECENT)  # (owner, state)
        self._nursery: trio.Nursery | None = None
        self._node: ActorNode | None = None
        self.started = 0

    # -- the actor ------------------------------------------------------------------------
    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = lambda: {"active": len(self._replays), "started": self.started}
        try:
            async with trio.open_nursery() as nursery:
                self._nursery, self._node = nursery, node
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    async def _run_replay(self, replay: Replay, node: ActorNode) -> None:
        try:
            await replay.run(node)
        finally:
            self._replays.pop(replay.id, None)
            node.detach()
            self._recent.append((replay.owner, replay.describe()))
            self.metrics.replays_active.set(len(self._replays))
            self.metrics.replays.labels(replay.end_reason or "stopped").inc()

    # -- requests -------------------------------------------------------------------------
    def start(self, owner: str, body: Mapping[str, Any]) -> Replay:
        if self._nursery is None or self._node is None:
            raise ReplayError(503, "not_ready", "replays are not available yet; retry shortly")
        if not {"date", "from", "to"} & set(body):
            body = {**body, "date": self.default_date()}
        try:
            plan = parse_plan(
                body,
                known_symbols=self.settings.market.symbols,
                now_ms=self.clock.now_ms(),
                max_range_s=self.settings.replay.max_hours * 3600,
            )
        except PlanError as exc:
            raise ReplayError(400, exc.code, exc.detail) from None
        if len(self._replays) >= self.settings.replay.max:
            raise ReplayError(
                429,
                "too_many_replays",
                f"{len(self._replays)} replays are running (SPOTLIGHT_REPLAY_MAX="
                f"{self.settings.replay.max}); stop one first",
            )
        origin, items = self._items_for(plan)
        rid = secrets.token_hex(8)
        replay = Replay(
            rid,
            owner,
            plan,
            origin,
            items,
            self.clock,
            self.executor_factory,
            self.limits,
            on_publish=lambda _e: self.metrics.replay_events.inc(),
        )
        self._replays[rid] = replay
        self.started += 1
        self.metrics.replays_active.set(len(self._replays))
        node = self._node.child(f"replay:{rid}", "replay")
        self._nursery.start_soon(self._run_replay, replay, node)
        log.info("replay %s started: %s", rid, replay.describe())
        return replay

    def _items_for(self, plan: ReplayPlan) -> tuple[str, Iterable[list[Item]]]:
        """The data of the origin asked for, else the first origin that has some."""
        wanted = plan.origin
        recorded = RecordedItems.covering(self.store, plan.from_ms, plan.to_ms)
        if recorded.segments and wanted in (None, "recorded"):
            return "recorded", recorded
        if wanted == "recorded":
            raise ReplayError(400, "no_data", "nothing was recorded in that range")
        source = self.source()
        if isinstance(source, MassiveSource):
            if wanted == "simulated":
                raise ReplayError(
                    400, "bad_origin", "the live source is Massive: no simulator history here"
                )
            days = _dates(plan)
            if not any(is_trading_day(d) for d in days):
                names = [holidays(d.year).get(d) or "weekend" for d in days]
                raise ReplayError(
                    400,
                    "market_closed",
                    f"the market was closed on {', '.join(map(str, days))} ({', '.join(names)})",
                )
            status = self._status(plan, "massive")
            return "massive", _MassiveItems(source, plan, status, self.settings.analytics.levels_s)
        if wanted == "massive":
            raise ReplayError(400, "bad_origin", "Massive aggregates need MASSIVE_API_KEY")
        bars = self._live_bars(plan)
        items = BarItems(
            bars,
            plan.from_ms,
            plan.to_ms,
            self._status(plan, "simulated"),
            self.settings.analytics.levels_s,
        )
        if not items.has_data():
            raise ReplayError(
                400,
                "no_data",
                "nothing to replay in that range: it was not recorded and is outside the "
                "simulator's history (GET /api/replay lists the dates that can be replayed)",
            )
        return "simulated", items

    def _status(self, plan: ReplayPlan, origin: str) -> SourceStatus:
        reason = (
            "rebuilt from Massive 1-minute aggregates"
            if origin == "massive"
            else "rebuilt from the simulator's 1-minute history"
        )
        return SourceStatus(origin, "replay", reason, (), plan.from_ms)

    def _live_bars(self, plan: ReplayPlan) -> dict[str, list[Bar]]:
        start = ny_midnight_ms(_sessions_before(exchange_date(plan.from_ms)))
        limit = (plan.to_ms - start) // 60_000 + 1
        out: dict[str, list[Bar]] = {}
        for s in plan.symbols:
            bars = self.live.bars[s].history("1m", limit, plan.to_ms)
            out[s] = [b for b in bars if b.start_ms >= start]
        return out

    def get(self, owner: str, rid: str) -> dict[str, Any]:
        replay = self._replays.get(rid)
        if replay is not None and replay.owner == owner:
            return replay.describe()
        for who, state in reversed(self._recent):
            if state["id"] == rid and who == owner:
                return dict(state)
        raise ReplayError(404, "replay_not_found", f"no replay {rid!r} of yours")

    def default_date(self) -> str:
        """What a start without a date replays: the newest NYSE session that has opened
        (today after 09:30, else the last trading day with data: Friday on a weekend or a
        Monday morning, the day before a holiday), or the newest date there is."""
        dates = [str(d["date"]) for d in self.dates()]
        now_ms = self.clock.now_ms()
        for date in dates:
            day = dt.date.fromisoformat(date)
            if is_trading_day(day) and session_open_ms(day) < now_ms:
                return date
        if dates:
            return dates[0]
        raise ReplayError(
            400, "no_data", "there is nothing to replay yet (GET /api/replay lists the dates)"
        )

    def control(self, owner: str, rid: object, action: str, speed: object = None) -> Replay:
        if rid is None:
            rid = self._only_replay_of(owner)
        if not isinstance(rid, str):
            raise ReplayError(400, "bad_request", 'give the replay as {"id": "<replay id>"}')
        replay = self._replays.get(rid)
        if replay is None or replay.owner != owner:
            raise ReplayError(404, "replay_not_found", f"no running replay {rid!r} of yours")
        if action == "stop":
            replay.stop()
        elif action == "pause":
            replay.pause()
        elif action == "resume":
            replay.resume()
        elif action == "speed":
            try:
                replay.set_speed(parse_speed(speed))
            except PlanError as exc:
                raise ReplayError(400, exc.code, exc.detail) from None
        return replay

    def _only_replay_of(self, owner: str) -> str:
        """The caller's one running replay, for a control request without an id."""
        mine = [r.id for r in self._replays.values() if r.owner == owner and not r.finished]
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise ReplayError(404, "replay_not_found", "you have no running replay")
        raise ReplayError(
            409,
            "ambiguous_replay",
            f"you have {len(mine)} replays running ({', '.join(mine)}): "
            'say which with {"id": "<replay id>"}',
        )

    def listing(self, owner: str) -> dict[str, Any]:
        return {
            "replays": [r.describe() for r in self._replays.values() if r.owner == owner],
            "limits": {
                "maxConcurrent": self.settings.replay.max,
                "maxSpeed": MAX_SPEED,
                "maxHours": self.settings.replay.max_hours,
            },
            "dates": self.dates(),
        }

    def dates(self) -> list[dict[str, Any]]:
        """Dates that can be replayed, newest first: the origin a start picks by default and
        every origin that has data for the date (a recording may cover part of a day)."""
        rebuilt: dict[dt.date, str] = {}
        source = self.source()
        today = exchange_date(self.clock.now_ms())
        if isinstance(source, MassiveSource):
            d, n = today, 0
            while n < MASSIVE_DATES:
                if is_trading_day(d):
                    rebuilt[d] = "massive"
                    n += 1
                d -= dt.timedelta(days=1)
        else:
            first = [t for b in self.live.bars.values() if (t := b.oldest_start_ms) is not None]
            if first:
                d = exchange_date(min(first))
                while d <= today:
                    rebuilt[d] = "simulated"
                    d += dt.timedelta(days=1)
        recorded = set(self.store.dates())
        out = []
        for d in sorted(recorded | set(rebuilt), reverse=True):
            origins = (["recorded"] if d in recorded else []) + (
                [rebuilt[d]] if d in rebuilt else []
            )
            out.append({"date": d.isoformat(), "origin": origins[0], "origins": origins})
        return out

    def feed(self, rid: str) -> Feed:
        replay = self._replays.get(rid)
        if replay is None or replay.finished:
            raise FeedNotFound(rid)
        return Feed(
            rid, replay.hub, replay.pipeline, lambda: replay.engine.latest, ready=replay.ready.wait
        )

    def stop_all(self) -> None:
        for r in list(self._replays.values()):
            r.stop()

    def diag(self) -> dict[str, Any]:
        return {
            "active": [r.describe() for r in self._replays.values()],
            "recent": [state for _, state in self._recent],
            "limits": {
                "maxConcurrent": self.settings.replay.max,
                "maxMb": self.settings.replay.max_mb,
                "maxHours": self.settings.replay.max_hours,
            },
        }


def _sessions_before(day: dt.date) -> dt.date:
    """The ``HISTORY_SESSIONS_BEFORE``-th trading day before ``day``."""
    for _ in range(HISTORY_SESSIONS_BEFORE):
        day = previous_trading_day(day)
    return day


def _dates(plan: ReplayPlan) -> list[dt.date]:
    first, last = exchange_date(plan.from_ms), exchange_date(plan.to_ms - 1)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


class _MassiveItems:
    """Aggregates fetched when the replay starts playing (in its worker thread), then
    rebuilt into items like the simulator's history."""

    def __init__(
        self, source: MassiveSource, plan: ReplayPlan, status: SourceStatus, levels_s: float
    ) -> None:
        self.source, self.plan, self.status, self.levels_s = source, plan, status, levels_s

    def __iter__(self) -> Iterator[list[Item]]:
        plan = self.plan
        start = _sessions_before(exchange_date(plan.from_ms))
        try:
            bars = trio.from_thread.run(
                self.source.minute_bars, plan.symbols, start, exchange_date(plan.to_ms - 1)
            )
        except MassiveError as exc:
            raise RuntimeError(f"Massive: {exc}") from None
        yield from BarItems(bars, plan.from_ms, plan.to_ms, self.status, self.levels_s)
