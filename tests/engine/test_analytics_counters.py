"""What the analytics refuse is counted where operators look: /api/diag (the analytics
actor's stats) and /api/metrics, the way the pipeline counts the ticks it rejects."""

from __future__ import annotations

import dataclasses
import datetime as dt

from support import InlineExecutor

from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot, usable_mid
from spotlight.engine.analytics_actor import AnalyticsActor
from spotlight.engine.pipeline import Pipeline
from spotlight.hub import Epoch, History, Hub
from spotlight.market.source import ChainJob
from spotlight.metrics import Metrics

NOW_MS = int(dt.datetime(2026, 11, 23, 13, 0, tzinfo=NY).timestamp() * 1000)


def contract(strike: float, bid: float, ask: float) -> OptionSnapshot:
    return OptionSnapshot(
        ticker=f"O:SPXW261123C{round(strike * 1000):08d}", contract_type="call",
        expiration_date="2026-11-23", strike=strike, shares_per_contract=100.0,
        open_interest=1000.0, implied_volatility=0.14, delta=None, gamma=None, theta=None,
        vega=None, day_volume=0.0, day_vwap=None, bid=bid, ask=ask,
        mid=usable_mid(bid, ask, (bid + ask) / 2), quote_ts_ms=None, last_price=None,
        last_size=None, last_exchange=None, last_conditions=(), trade_ts_ms=None,
        underlying_value=6000.0, delayed=False,
    )  # fmt: skip


async def test_refused_option_quotes_reach_diag_and_metrics() -> None:
    # One chain of three calls: a sound quote, a crossed one (bid 3.00 over ask 1.00) and one
    # without a bid. Polled twice, the two refusals count twice each, per underlying.
    hub = Hub(Epoch("ab", 0), History(1000, 1e9), clock=lambda: 0.0)
    pipeline = Pipeline("t", hub, ("I:SPX", "SPY"), 600)
    metrics = Metrics()
    # The actor's source and clock are not used by the step run here.
    actor = AnalyticsActor(hub, pipeline, None, None, metrics=metrics)  # type: ignore[arg-type]
    engine = actor.engine
    engine.executor = InlineExecutor()
    chain = [contract(6000, 12.2, 12.5), contract(6050, 3.0, 1.0), contract(6300, 0.0, 0.05)]
    for k in range(2):
        job: ChainJob = ("chains", {"I:SPX": [dataclasses.replace(c) for c in chain]}, {})
        await engine.gex(NOW_MS + k * 15_000, {"I:SPX": 6000.0, "SPY": None}, job)
    assert actor.stats()["quotesRefused"] == {"I:SPX": {"crossed": 2, "zero-bid": 2}}
    sample = metrics.registry.get_sample_value
    name = "spotlight_option_quotes_refused_total"
    assert sample(name, {"underlying": "I:SPX", "reason": "crossed"}) == 2.0
    assert sample(name, {"underlying": "I:SPX", "reason": "zero-bid"}) == 2.0
