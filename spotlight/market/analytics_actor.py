"""The analytics actor: computes the SPX channels on their cadences and publishes them.

Runs under the market supervisor next to the pipeline. Each cadence reads a snapshot of the
pipeline's state (bars, last prices) and the source's option chains, computes payloads with
the pure engines (analytics/channels.py) and publishes them through the same hub as ticks and
bars: one sequence, one history, one resume rule for everything. The newest payload of each
channel is kept (``latest``) so a new subscriber's snapshot includes it at once.

A bug in an engine raises out of here and the supervisor restarts the actor; missing inputs
(no chain yet, no SPX value yet) simply skip that channel's update.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import trio

from spotlight.analytics.basis import BasisTracker
from spotlight.analytics.channels import (
    ChannelInputs,
    clusters_payload,
    gamma_levels,
    levels_payload,
    regime_payload,
)
from spotlight.analytics.clusters import Zone
from spotlight.analytics.coach import Coach, CoachState
from spotlight.analytics.flow import FlowAlert
from spotlight.analytics.regime import classify
from spotlight.analytics.setups import SetupInputs, buffer_points, detect_setups
from spotlight.hub.hub import Hub
from spotlight.market.analytics_worker import ChainJob, analyze, chains_job, lower_priority
from spotlight.market.bars import EXCHANGE_TZ, Bar, rollup
from spotlight.market.simulated_source import SimulatedSource
from spotlight.market.source import MarketSource
from spotlight.pipeline import Pipeline
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["AnalyticsActor", "ChannelCadence"]


@dataclass(frozen=True, slots=True)
class ChannelCadence:
    gex_s: float = 15.0  # gex:SPX, gex:SPY (option chains change slowly; pricing costs ~0.2 s)
    levels_s: float = 5.0  # levels:update, clusters:update, regime:update
    basis_s: float = 1.0  # basis sampling; basis:update is published every 5 samples


class AnalyticsActor:
    def __init__(
        self,
        hub: Hub,
        pipeline: Pipeline,
        source: MarketSource,
        clock: WallClock,
        cadence: ChannelCadence | None = None,
    ) -> None:
        self.hub = hub
        self.pipeline = pipeline
        self.source = source
        self.clock = clock
        self.cadence = cadence or ChannelCadence()
        self.basis = BasisTracker(30)
        self.coach = Coach()
        self._flow_alerts: list[FlowAlert] = []  # the SPX flow alerts of the last update
        self._pool: ProcessPoolExecutor | None = None
        self.latest: dict[str, Any] = {}  # {channel: newest payload}
        self.published: dict[str, int] = {}  # {channel: count}
        self._zones: list[Zone] = []

    def publish(self, channel: str, payload: Any, *, conflate: bool = True) -> None:
        """Publish through the hub. Snapshot-like channels conflate (a newer payload replaces
        a pending one); flow alerts and coach messages are events and never do."""
        self.latest[channel] = payload
        self.published[channel] = self.published.get(channel, 0) + 1
        self.hub.publish(channel, channel, payload, conflate_key=channel if conflate else None)

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = lambda: {"published": dict(self.published)}
        c = self.cadence
        # One worker process: it keeps the simulated option book and the flow tracker.
        self._pool = ProcessPoolExecutor(
            max_workers=1, mp_context=mp.get_context("spawn"), initializer=lower_priority
        )
        self.publish(
            "coach:message",
            {
                "id": "coach:start",
                "kind": "start",
                "severity": "info",
                "text": "Coach is watching SPX: it speaks up when the regime flips, a key level "
                "is tested, a setup triggers or large flow prints.",
                "ts": self.clock.now_ms(),
            },
            conflate=False,
        )
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._every, c.gex_s, self._gex)
                nursery.start_soon(self._every, c.basis_s, self._basis)
                nursery.start_soon(self._every, c.levels_s, self._levels)
                task_status.started()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _every(self, interval_s: float, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await step()
            await trio.sleep(interval_s)

    # -- inputs -----------------------------------------------------------------------------
    def _inputs(self) -> ChannelInputs:
        now_ms = self.clock.now_ms()
        today = dt.datetime.fromtimestamp(now_ms / 1000, EXCHANGE_TZ).date()
        bars = self.pipeline.bars
        trade = self.pipeline.last_trade.get("I:SPX")
        return ChannelInputs(
            now_ms=now_ms,
            spx=trade.price if trade else None,
            spx_minutes=_today(bars["I:SPX"].history("1m", 1440), today) if "I:SPX" in bars else (),
            spy_minutes=_today(bars["SPY"].history("1m", 1440), today) if "SPY" in bars else (),
            spx_prev_day=_previous_day(bars["I:SPX"].history("1d", 3), today)
            if "I:SPX" in bars
            else None,
            basis=self.basis,
            gex_spx=self.latest.get("gex:SPX"),
        )

    # -- cadences ---------------------------------------------------------------------------
    async def _gex(self) -> None:
        """GEX and flow, computed in the worker process (see analytics_worker.py)."""
        assert self._pool is not None
        job = await self._chain_job()
        if job is None:
            return
        spots = {
            u: (t.price if (t := self.pipeline.last_trade.get(u)) else None)
            for u in ("I:SPX", "SPY")
        }
        future = self._pool.submit(analyze, job, spots, self.clock.now_ms())
        # This thread only waits on a lock (no GIL held); the work runs on the other core.
        result = await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
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
                    "asOf": self.clock.now_ms(),
                },
                conflate=False,
            )

    async def _chain_job(self) -> ChainJob | None:
        source = self.source
        if isinstance(source, SimulatedSource):
            cfg = source.simulator.config
            return ("sim", cfg.seed, source.simulator.start_ms, cfg.trades_per_second)
        chains = await source.option_chains()
        return chains_job(chains) if chains else None

    async def _basis(self) -> None:
        spx = self.pipeline.last_trade.get("I:SPX")
        spy = self.pipeline.last_quote.get("SPY")
        if spx and spy:
            self.basis.add(spx.price, spy.bid, spy.ask)
        if self.basis.samples and self.basis.samples % 5 == 0:
            self.publish("basis:update", {**self.basis.payload(), "asOf": self.clock.now_ms()})
        await trio.lowlevel.checkpoint()

    async def _levels(self) -> None:
        inputs = self._inputs()
        if inputs.spx is None:
            await trio.lowlevel.checkpoint()
            return
        levels, level_list = levels_payload(inputs)
        self.publish("levels:update", levels)
        regime = regime_payload(inputs)
        self.publish("regime:update", regime)
        iv = regime.get("iv0dte")
        move = inputs.spx * iv / (252**0.5) if isinstance(iv, float) else None
        clusters, self._zones = clusters_payload(level_list, move, self._zones)
        clusters["asOf"] = inputs.now_ms
        self.publish("clusters:update", clusters)
        self._setups_and_coach(inputs, levels, regime, move)
        await trio.lowlevel.checkpoint()

    def _setups_and_coach(
        self,
        inputs: ChannelInputs,
        levels: dict[str, Any],
        regime: dict[str, Any],
        move: float | None,
    ) -> None:
        spot = inputs.spx
        assert spot is not None
        gamma = gamma_levels(inputs.gex_spx)
        label = classify(regime["gamma"], regime["vol"], int(regime.get("trendEvidence") or 0))
        sigma = move * _remaining_fraction(inputs.now) ** 0.5 if move else 0.0
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
                zones=self._zones,
                net_gex=regime.get("netGexBn"),
                freshness="OI as of prior close; prices live",
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


def _remaining_fraction(now: dt.datetime) -> float:
    """Fraction of the regular session still to come (0 outside it)."""
    minutes = now.hour * 60 + now.minute
    return max(0.0, min(1.0, (16 * 60 - minutes) / 390))


def _today(bars: list[Bar], today: dt.date) -> list[Bar]:
    return [
        b for b in bars if dt.datetime.fromtimestamp(b.start_ms / 1000, EXCHANGE_TZ).date() == today
    ]


def _previous_day(days: list[Bar], today: dt.date) -> Bar | None:
    earlier = [
        b for b in days if dt.datetime.fromtimestamp(b.start_ms / 1000, EXCHANGE_TZ).date() < today
    ]
    return earlier[-1] if earlier else None
