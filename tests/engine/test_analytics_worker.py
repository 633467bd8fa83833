"""The analytics worker's step: one priced chain behind GEX and flow."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from spotlight.analytics.greeks import d1, norm_cdf
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot
from spotlight.engine.analytics_worker import analyze, forget
from spotlight.market.source import ChainJob

MON = dt.date(2026, 11, 23)
AT_13 = dt.datetime.combine(MON, dt.time(13, 0), NY)
NOW_MS = int(AT_13.timestamp() * 1000)


def contract(strike: float, kind: str, **kw: object) -> OptionSnapshot:
    code = "C" if kind == "call" else "P"
    base: dict[str, object] = {
        "ticker": f"O:SPXW261123{code}{round(strike * 1000):08d}", "contract_type": kind,
        "expiration_date": "2026-11-23", "strike": strike, "shares_per_contract": 100.0,
        "open_interest": 100.0, "implied_volatility": None, "delta": None, "gamma": None,
        "theta": None, "vega": None, "day_volume": 0.0, "day_vwap": None, "bid": None,
        "ask": None, "mid": None, "quote_ts_ms": None, "last_price": None, "last_size": None,
        "last_exchange": None, "last_conditions": (), "trade_ts_ms": None,
        "underlying_value": 6000.0, "delayed": False,
    }  # fmt: skip
    base.update(kw)
    return OptionSnapshot(**base)  # type: ignore[arg-type]


def test_flow_takes_the_chain_pricings_delta_where_the_vendor_gives_none() -> None:
    # At 13:00, spot 6000; the 6000 call and put (mids 20.00 each: parity forward 6000)
    # carry vendor deltas. The deep in-the-money 5000 call has none, like Massive's (and the
    # simulator's) deep contracts, only the vendor's IV, 30% on calendar time. 1,000 lots of
    # it are bought at the ask between two polls: the delta exposure is about
    # 1,000 x 1.0 x 100 x 6000 = +$600m, and it used to count as None (0 in net delta).
    atm = [
        contract(6000, "call", delta=0.51, mid=20.0, implied_volatility=0.14),
        contract(6000, "put", delta=-0.49, mid=20.0, implied_volatility=0.14),
    ]
    deep = contract(5000, "call", implied_volatility=0.30, day_volume=0.0)
    bought = dataclasses.replace(
        deep, day_volume=1000.0, day_vwap=1000.5, bid=1000.0, ask=1000.5, last_price=1000.5,
        last_size=1000.0, last_conditions=(209,), trade_ts_ms=NOW_MS + 14_000,
        quote_ts_ms=NOW_MS + 14_000,
    )  # fmt: skip
    context = "test-worker-deltas"
    spots: dict[str, float | None] = {"I:SPX": 6000.0}
    try:
        job: ChainJob = ("chains", {"I:SPX": [*atm, deep]}, {})
        analyze(context, job, spots, NOW_MS)
        job = ("chains", {"I:SPX": [*atm, bought]}, {})
        out = analyze(context, job, spots, NOW_MS + 15_000)
    finally:
        forget(context)
    # Our delta for the 5000 call: the vendor's 30% on our T (180 session minutes), N(d1).
    tau = 180 / (252 * 390)
    vol = 0.30 * math.sqrt((180 / (365 * 1440)) / tau)
    delta = norm_cdf(d1(6000.0, 5000.0, vol, tau))
    assert delta == pytest.approx(1.0, abs=1e-12)
    alerts = out["flow"]["alerts"]
    assert [a.kind for a in alerts] == ["unusual_vol_oi", "block"]
    for alert in alerts:
        assert (alert.side, alert.delta_source) == ("buy", "model")
        assert alert.delta_notional == pytest.approx(1000 * delta * 100 * 6000)
        assert alert.directional_delta_notional == pytest.approx(6.0e8)
    aggregates = out["flow"]["aggregates"]
    assert aggregates["all"]["net_delta"] == pytest.approx(6.0e8)
    assert aggregates["delta_sources"] == {"vendor": 0, "model": 1, "none": 0}
    assert alert.to_json()["delta_source"] == "model"
