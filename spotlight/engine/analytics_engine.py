"""The SPX analytics as steps with explicit inputs: the same code for live and replay.

Each step reads the pipeline's state and the inputs it is given, computes payloads with the
pure engines (analytics/channels.py) and publishes them through the hub. Nothing in a step
reads a clock or a source: the time, the spot prices and the option-chain job are
arguments. The live driver (``analytics_actor.py``) calls the steps on timers; a replay
calls them from the recorded steps, so a replay computes exactly what the live run did.

Steps (``apply`` takes them as recorded dicts, ``{"k": ..., "now": ms, ...}``):
- ``start``: the coach's greeting;
- ``gex``: GEX per underlying and SPX flow, from a chain job, in the worker process;
- ``basis``: one SPX/SPY basis sample (``basis:update`` every 5 samples);
- ``levels``: levels, regime, clusters, setups and coach messages.

``on_step`` (the recorder) is called with each step's inputs right before it publishes, so
the recorded order of steps and tick batches is the order that produced the events.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

import trio

from spotlight.analytics.basis import BasisTracker
from spotlight.analytics.channels import (
    CHANNELS,
    ChannelInputs,
    clusters_payload,
    gamma_levels,
    levels_payload,
    regime_payload,
    session_summary,
)
from spotlight.analytics.clusters import Zone
from spotlight.analytics.coach import Coach, CoachState
from spotlight.analytics.flow import FlowAlert
from spotlight.analytics.regime import classify
from spotlight.analytics.session import SessionCalendar, nyse_calendar
from spotlight.analytics.setups import SetupInputs, buffer_points, detect_setups
from spotlight.domain.bars import Bar, rollup
from spotlight.domain.nytime import NY
from spotlight.domain.symbol_bars import SymbolBars
from spotlight.engine.analytics_worker import analyze, forget
from spotlight.engine.channel_states import channel_states, channel_view
from spotlight.engine.pipeline import Pipeline
from spotlight.hub.hub import Hub
from spotlight.market.source import ChainJob
from spotlight.metrics import Metrics

__all__ = ["AnalyticsEngine", "camel"]

StepRecorder = Callable[[str, dict[str, Any]], None]
_contexts = itertools.count(1)

COACH_GREETING = (
    "Coach is watching SPX: it speaks up when the regime flips, a key level is tested, a "
    "setup triggers or large flow prints."
)


class AnalyticsEngine:
    def __init__(
        self,
        hub: Hub,
        pipeline: Pipeline,
        executor: Executor | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.hub = hub
        self.pipeline = pipeline
        self.executor = executor  # runs the worker's functions; set before ``gex`` runs
        self._metrics = metrics  # the live engine's; replays count only in their own stats
        # Option quotes whose mid the parsing boundary refused (crossed, no bid), counted
        # per chain analyzed: {(underlying, problem): count}.
        self.quotes_refused: Counter[tuple[str, str]] = Counter()
        # The worker keeps per-engine state (flow baseline, simulated option book) under
        # this key, so a live engine and replays never mix their state.
        self.context = f"{pipeline.name}-{next(_contexts)}"
        self.basis = BasisTracker(30)
        self.coach = Coach()
        self._flow_alerts: list[FlowAlert] = []  # the SPX flow alerts of the last update
        self._zones: list[Zone] = []
        self.latest: dict[str, Any] = {}  # {channel: newest payload}
        self.published: dict[str, int] = {}  # {channel: count}
        self.on_step: StepRecorder | None = None
        self._submitted = False  # whether the worker holds state for this engine
        self.started_ms: int | None = None  # when ``start`` ran: channels warm up from here

    def publish(self, channel: str, payload: Any, *, conflate: bool = True) -> None:
        """Publish through the hub. Snapshot-like channels conflate (a newer payload replaces
        a pending one); flow alerts and coach messages are events and never do."""
        self.latest[channel] = payload
        self.published[channel] = self.published.get(channel, 0) + 1
        self.hub.publish(channel, channel, payload, conflate_key=channel if conflate else None)

    def stats(self) -> dict[str, Any]:
        """For /api/diag (the analytics actor's stats): channels published, refused quotes."""
        refused: dict[str, dict[str, int]] = {}
        for (underlying, problem), n in sorted(self.quotes_refused.items()):
            refused.setdefault(underlying, {})[problem] = n
        return {"published": dict(self.published), "quotesRefused": refused}

    def _count_refused(self, refused: Mapping[str, Mapping[str, int]]) -> None:
        for underlying, problems in refused.items():
            for problem, n in problems.items():
                self.quotes_refused[underlying, problem] += n
                if self._metrics is not None:
                    self._metrics.option_quotes_refused.labels(underlying, problem).inc(n)

    def channel_states(self, now_ms: int) -> dict[str, str]:
        """``{channel: "ready" | "warming" | "waiting"}`` (engine/channel_states.py)."""
        return channel_states(CHANNELS, self.latest, self.started_ms, now_ms)

    def channel_view(self, now_ms: int) -> dict[str, Any]:
        """The newest payloads, with a warming marker for channels without one yet."""
        return channel_view(CHANNELS, self.latest, self.started_ms, now_ms)

    def restore(self, latest: Mapping[str, Any]) -> None:
        """Adopt state captured at a recording's segment start (the latest GEX)."""
        self.latest.update(latest)

    def close(self) -> None:
        """Drop this engine's state in the worker (best effort, never blocks)."""
        if self.executor is None or not self._submitted:
            return  # nothing in the worker (and no worker process to start just for this)
        with contextlib.suppress(RuntimeError):  # executor already shut down
            self.executor.submit(forget, self.context)

    def _record(self, step: dict[str, Any]) -> None:
        if self.on_step is not None:
            self.on_step("step", step)

    async def apply(self, step: Mapping[str, Any]) -> None:
        """Run one recorded step (replay)."""
        kind, now = step.get("k"), int(step["now"])
        if kind == "gex":
            await self.gex(now, dict(step["spots"]), step["job"])
        elif kind == "basis":
            self.sample_basis(now)
        elif kind == "levels":
            self.levels(now)
        elif kind == "start":
            self.start(now)
        else:
            raise ValueError(f"unknown analytics step {kind!r}")

    # -- steps ----------------------------------------------------------------------------
    def start(self, now_ms: int) -> None:
        self._record({"k": "start", "now": now_ms})
        if self.started_ms is None:  # an actor restart keeps the first start
            self.started_ms = now_ms
        self.publish(
            "coach:message",
            {
                "id": "coach:start",
                "kind": "start",
                "severity": "info",
                "text": COACH_GREETING,
                "ts": now_ms,
            },
            conflate=False,
        )

    async def gex(self, now_ms: int, spots: dict[str, float | None], job: ChainJob) -> None:
        """GEX and flow, computed in the worker process (see analytics_worker.py)."""
        assert self.executor is not None, "set AnalyticsEngine.executor before running gex"
        future = self.executor.submit(analyze, self.context, job, spots, now_ms)
        self._submitted = True
        if future.done():  # an inline executor (tests): no thread hop for the clock to skip
            result = future.result()
            await trio.lowlevel.checkpoint()
        else:
            # This thread only waits on a lock (no GIL held); the work runs on the other core.
            result = await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
        self._record({"k": "gex", "now": now_ms, "spots": spots, "job": job})
        self._count_refused(result.get("quotesRefused") or {})
        for underlying, channel in (("I:SPX", "gex:SPX"), ("SPY", "gex:SPY")):
            payload = result["gex"].get(underlying)
            if payload is not None:
                self.publish(channel, payload)
        flow = result["flow"]
        if flow is not None:
            self._flow_alerts = flow["alerts"]
            self.publish(
                "flow:alert",
                {
                    "alerts": [camel(a.to_json()) for a in self._flow_alerts],
                    "aggregates": camel(flow["aggregates"]),
                    "asOf": now_ms,
                },
                conflate=False,
            )

    def spots(self) -> dict[str, float | None]:
        return {
            u: (t.price if (t := self.pipeline.last_trade.get(u)) else None)
            for u in ("I:SPX", "SPY")
        }

    def sample_basis(self, now_ms: int) -> None:
        spx = self.pipeline.last_trade.get("I:SPX")
        spy = self.pipeline.last_quote.get("SPY")
        if not (spx and spy):
            return
        self._record({"k": "basis", "now": now_ms})
        self.basis.add(spx.price, spy.bid, spy.ask)
        # The first sample publishes at once (a ratio of one sample beats none while the
        # channel warms up), then every 5th.
        if self.basis.samples % 5 == 0 or self.basis.samples == 1:
            self.publish("basis:update", {**self.basis.payload(), "asOf": now_ms})

    def levels(self, now_ms: int) -> None:
        inputs = self._inputs(now_ms)
        if inputs.spx is None:
            return
        self._record({"k": "levels", "now": now_ms})
        levels, level_list = levels_payload(inputs)
        self.publish("levels:update", levels)
        regime = regime_payload(inputs)
        self.publish("regime:update", regime)
        iv = regime.get("iv0dte")
        move = inputs.spx * iv / (252**0.5) if isinstance(iv, float) else None
        clusters, self._zones = clusters_payload(level_list, move, self._zones)
        clusters["asOf"] = inputs.now_ms
        self.publish("clusters:update", clusters)
        self._setups_and_coach(inputs, levels, regime)

    # -- inputs -----------------------------------------------------------------------------
    def _inputs(self, now_ms: int) -> ChannelInputs:
        """Market state for the channels; session inputs are regular-hours bars only."""
        now = dt.datetime.fromtimestamp(now_ms / 1000, NY)
        calendar = nyse_calendar(now.year)
        today = now.date()
        bars = self.pipeline.bars
        trade = self.pipeline.last_trade.get("I:SPX")
        spx, spy = bars.get("I:SPX"), bars.get("SPY")
        previous = session_minutes(spx, calendar, calendar.previous_trading_day(today))
        return ChannelInputs(
            now_ms=now_ms,
            spx=trade.price if trade else None,
            spx_minutes=session_minutes(spx, calendar, today),
            spy_minutes=session_minutes(spy, calendar, today),
            spx_prev_day=session_summary(previous),
            basis=self.basis,
            gex_spx=self.latest.get("gex:SPX"),
            calendar=calendar,
        )

    def _setups_and_coach(
        self,
        inputs: ChannelInputs,
        levels: dict[str, Any],
        regime: dict[str, Any],
    ) -> None:
        spot = inputs.spx
        assert spot is not None
        gamma = gamma_levels(inputs.gex_spx)
        label = classify(regime["gamma"], regime["vol"], int(regime.get("trendEvidence") or 0))
        iv = regime.get("iv0dte")
        sigma = inputs.sigma_remaining(iv if isinstance(iv, float) else None) or 0.0
        opening = levels.get("openingRange") or {}
        vwap = levels.get("vwap") or {}
        setups = detect_setups(
            SetupInputs(
                spot=spot,
                bars_1m=inputs.spx_minutes,
                bars_5m=rollup(inputs.spx_minutes, "5m"),
                regime=label,
                sigma_remaining=sigma,
                now_ms=inputs.now_ms,
                call_wall=gamma.get("call_wall"),
                put_wall=gamma.get("put_wall"),
                flip=gamma.get("flip"),
                ags=gamma.get("ags"),
                vwap=vwap.get("vwap"),
                vwap_sigma=vwap.get("sigma"),
                or_high=opening.get("high"),
                or_low=opening.get("low"),
                or_mid=opening.get("mid"),
                or_complete=bool(opening.get("complete")),
                or_end_ms=opening.get("endMs"),
                max_net_strike=gamma.get("max_net"),
                zones=self._zones,
                net_gex=regime.get("netGexBn"),
                freshness="OI as of prior close; prices live",
                session_close_ms=inputs.session_close_ms(),
            )
        )
        self.publish(
            "setups:update", {"setups": [camel(s.to_json()) for s in setups], "asOf": inputs.now_ms}
        )
        state = CoachState(
            now_ms=inputs.now_ms,
            spot=spot,
            regime=label.label,
            flip=gamma.get("flip"),
            call_wall=gamma.get("call_wall"),
            put_wall=gamma.get("put_wall"),
            vwap=vwap.get("vwap"),
            buffer=buffer_points(sigma),
            setups=setups,
            flow_alerts=self._flow_alerts,
        )
        for message in self.coach.observe(state):
            self.publish("coach:message", camel(message.to_json()), conflate=False)


def camel(value: Any) -> Any:
    """snake_case keys -> camelCase, recursively: every channel payload uses one style."""
    if isinstance(value, dict):
        return {_camel_key(k): camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel(v) for v in value]
    return value


def _camel_key(key: object) -> object:
    if not isinstance(key, str) or "_" not in key:
        return key
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def session_minutes(bars: SymbolBars | None, calendar: SessionCalendar, day: dt.date) -> list[Bar]:
    """The 1-minute bars of ``day``'s regular session (09:30 to its close), oldest first."""
    bounds = calendar.session_bounds(day)
    if bars is None or bounds is None:
        return []
    lo, hi = (int(b.timestamp() * 1000) for b in bounds)
    # A session has at most 390 minutes; ask only for those before its close.
    return [b for b in bars.history("1m", 400, before_ms=hi) if b.start_ms >= lo]
