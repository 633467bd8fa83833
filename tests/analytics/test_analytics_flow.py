"""Options-flow alerts from chain snapshots (spec section 10)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from spotlight.analytics.flow import (
    FlowThresholds,
    FlowTracker,
    classify_side,
    interval_premium,
)
from spotlight.domain.options import OptionSnapshot

TODAY = date(2026, 11, 20)
T0 = 1_763_650_000_000
SPOT = 6000.0


def snap(**kw: object) -> OptionSnapshot:
    base: dict[str, object] = {
        "ticker": "O:SPXW261127C06000000",
        "contract_type": "call",
        "expiration_date": "2026-11-27",
        "strike": 6000.0,
        "shares_per_contract": 100.0,
        "open_interest": 10_000.0,
        "implied_volatility": 0.15,
        "delta": 0.5,
        "gamma": 0.01,
        "theta": -1.0,
        "vega": 1.0,
        "day_volume": 100.0,
        "day_vwap": 10.0,
        "bid": 9.9,
        "ask": 10.1,
        "mid": 10.0,
        "quote_ts_ms": T0,
        "last_price": 10.0,
        "last_size": 1.0,
        "last_exchange": 1,
        "last_conditions": (),
        "trade_ts_ms": T0,
        "underlying_value": SPOT,
        "delayed": False,
    }
    base.update(kw)
    return OptionSnapshot(**base)  # type: ignore[arg-type]


def run(prev: OptionSnapshot, cur: OptionSnapshot, tracker: FlowTracker | None = None) -> list[str]:
    t = tracker or FlowTracker()
    assert t.update([prev], SPOT, T0, TODAY) == []
    return [a.kind for a in t.update([cur], SPOT, T0 + 5_000, TODAY)]


def test_interval_premium_from_cumulative_vwap() -> None:
    prev = snap(day_volume=100.0, day_vwap=10.0)
    cur = snap(day_volume=150.0, day_vwap=11.0)
    # (11 * 150 - 10 * 100) * 100 = 65,000: the 50 new contracts averaged $13.
    assert interval_premium(prev, cur) == pytest.approx(65_000.0)
    assert interval_premium(snap(day_volume=0.0, day_vwap=None), cur) == pytest.approx(165_000.0)


def test_interval_premium_falls_back_to_last_price() -> None:
    prev = snap(day_volume=100.0, day_vwap=None)
    cur = snap(day_volume=150.0, day_vwap=None, last_price=12.0)
    assert interval_premium(prev, cur) == pytest.approx(50 * 12.0 * 100)
    # A rounded VWAP giving a non-positive difference also falls back.
    cur = snap(day_volume=150.0, day_vwap=6.0, last_price=12.0)
    assert interval_premium(snap(day_volume=100.0), cur) == pytest.approx(60_000.0)
    no_price = snap(day_volume=150.0, day_vwap=None, last_price=None, mid=8.0)
    assert interval_premium(prev, no_price) == pytest.approx(50 * 8.0 * 100)
    assert interval_premium(cur, prev) == 0.0


def test_side_classification() -> None:
    assert classify_side(snap(last_price=10.1)) == "buy"
    assert classify_side(snap(last_price=10.5)) == "buy"
    assert classify_side(snap(last_price=9.9)) == "sell"
    assert classify_side(snap(last_price=10.0)) == "mid"
    assert classify_side(snap(last_price=10.1, trade_ts_ms=T0 + 1_000)) == "buy"  # 1 s: ok
    assert classify_side(snap(last_price=10.1, trade_ts_ms=T0 + 1_001)) == "unknown"
    assert classify_side(snap(bid=None)) == "unknown"
    assert classify_side(snap(quote_ts_ms=None)) == "unknown"
    assert classify_side(snap(last_price=None)) == "unknown"


def test_unusual_vol_oi_threshold_edges_and_once_per_session() -> None:
    prev = snap(open_interest=500.0, day_volume=400.0, day_vwap=None, last_price=0.1)
    at_edge = snap(open_interest=500.0, day_volume=500.0, day_vwap=None, last_price=0.1)
    tracker = FlowTracker()
    assert run(prev, at_edge, tracker) == ["unusual_vol_oi"]  # vol/OI = 1.0, vol = 500
    more = dataclasses.replace(at_edge, day_volume=600.0)
    assert tracker.update([more], SPOT, T0 + 10_000, TODAY) == []  # once per session
    assert run(prev, dataclasses.replace(at_edge, day_volume=499.0)) == []  # vol < 500
    assert run(prev, dataclasses.replace(at_edge, open_interest=501.0)) == []  # ratio < 1


def test_unusual_vol_oi_zero_dte_needs_ratio_two() -> None:
    zero = "2026-11-20"
    prev = snap(expiration_date=zero, open_interest=500.0, day_volume=900.0, last_price=0.1)
    prev = dataclasses.replace(prev, day_vwap=None)
    cur = dataclasses.replace(prev, day_volume=999.0)
    assert run(prev, cur) == []  # ratio 1.998
    alerts = FlowTracker()
    alerts.update([prev], SPOT, T0, TODAY)
    out = alerts.update([dataclasses.replace(prev, day_volume=1000.0)], SPOT, T0 + 1, TODAY)
    assert [(a.kind, a.zero_dte, a.vol_oi) for a in out] == [("unusual_vol_oi", True, 2.0)]


def test_large_premium_interval_and_single_print() -> None:
    prev = snap(day_volume=100.0, day_vwap=10.0)
    # 250 contracts at $10: exactly $250k in the interval.
    cur = snap(day_volume=350.0, day_vwap=10.0, last_price=10.0)
    assert run(prev, cur) == ["large_premium"]
    assert run(prev, snap(day_volume=349.0, day_vwap=10.0)) == []
    # 0DTE needs $500k.
    zero = {"expiration_date": "2026-11-20"}
    assert run(snap(**zero, day_volume=100.0), snap(**zero, day_volume=350.0)) == []
    assert run(snap(**zero, day_volume=100.0), snap(**zero, day_volume=600.0)) == ["large_premium"]
    # One new print of 100 contracts at $25 = $250k, even with a tiny interval VWAP figure.
    single = snap(day_volume=200.0, day_vwap=5.5, last_price=25.0, last_size=100.0,
                  trade_ts_ms=T0 + 3_000)  # fmt: skip
    assert run(prev, single) == ["large_premium"]


def test_block_and_possible_sweep() -> None:
    prev = snap(day_volume=100.0, day_vwap=0.1, last_price=0.1)
    block = snap(day_volume=600.0, day_vwap=0.1, last_price=0.1, last_size=500.0,
                 trade_ts_ms=T0 + 3_000, quote_ts_ms=T0 + 3_000, bid=0.05, ask=0.1)  # fmt: skip
    tracker = FlowTracker()
    tracker.update([prev], SPOT, T0, TODAY)
    out = tracker.update([block], SPOT, T0 + 5_000, TODAY)
    assert [a.kind for a in out] == ["block"]
    # Same print seen again (no new trade timestamp): no second block.
    again = dataclasses.replace(block, day_volume=700.0)
    assert [a.kind for a in tracker.update([again], SPOT, T0 + 10_000, TODAY)] == []

    sweep = snap(day_volume=350.0, day_vwap=0.1, last_price=0.1, last_size=10.0,
                 trade_ts_ms=T0 + 3_000, quote_ts_ms=T0 + 3_000, bid=0.05, ask=0.1)  # fmt: skip
    tracker = FlowTracker()
    tracker.update([prev], SPOT, T0, TODAY)
    (alert,) = tracker.update([sweep], SPOT, T0 + 5_000, TODAY)
    assert (alert.kind, alert.confidence, alert.side) == ("possible_sweep", "low", "buy")
    assert alert.delta_notional == pytest.approx(250 * 0.5 * 100 * SPOT)
    assert alert.to_json()["kind"] == "possible_sweep"
    assert alert.id == f"possible_sweep:{sweep.ticker}:{T0 + 5_000}"
    mid = dataclasses.replace(sweep, last_price=0.07)
    assert run(prev, mid) == []  # a mid print is not aggressive


def test_session_reset_on_volume_drop_and_bounded_memory() -> None:
    tracker = FlowTracker(FlowThresholds(large_premium=1.0))
    tracker.update([snap(day_volume=1_000.0)], SPOT, T0, TODAY)
    assert tracker.update([snap(day_volume=10.0)], SPOT, T0 + 1, TODAY) == []  # reset
    assert [a.kind for a in tracker.update([snap(day_volume=20.0)], SPOT, T0 + 2, TODAY)] == [
        "large_premium"
    ]
    other = snap(ticker="O:SPXW261127P05900000", contract_type="put", strike=5900.0)
    tracker.update([other], SPOT, T0 + 3, TODAY)
    # The call vanished from the chain, so it is forgotten: reappearing is a first sight.
    assert tracker.update([snap(day_volume=5_000.0)], SPOT, T0 + 4, TODAY) == []


def test_aggregates_by_strike_and_side() -> None:
    tracker = FlowTracker()
    call0 = snap(expiration_date="2026-11-20", day_volume=100.0, day_vwap=10.0)
    put = snap(ticker="O:SPXW261127P05900000", contract_type="put", strike=5900.0,
               delta=-0.3, day_volume=100.0, day_vwap=2.0)  # fmt: skip
    tracker.update([call0, put], SPOT, T0, TODAY)
    call_buy = dataclasses.replace(call0, day_volume=110.0, last_price=10.1)  # 10 @ 10.1 fallback
    call_buy = dataclasses.replace(call_buy, day_vwap=(10.0 * 100 + 10.1 * 10) / 110)
    put_sell = dataclasses.replace(put, day_volume=120.0, day_vwap=None, last_price=1.9,
                                   bid=1.9, ask=2.1)  # fmt: skip
    tracker.update([call_buy, put_sell], SPOT, T0 + 5_000, TODAY)
    agg = tracker.aggregates()
    all_ = agg["all"]
    zero = agg["zero_dte"]
    assert isinstance(all_, dict) and isinstance(zero, dict)
    assert all_["call_premium"] == pytest.approx(10_100.0)
    assert all_["put_premium"] == pytest.approx(-20 * 1.9 * 100)
    call_delta = 10 * 0.5 * 100 * SPOT
    put_delta = -1 * 20 * -0.3 * 100 * SPOT  # selling puts is long delta
    assert all_["net_delta"] == pytest.approx(call_delta + put_delta)
    assert set(all_["by_strike"]) == {"5900", "6000"}
    assert zero["call_premium"] == pytest.approx(10_100.0)
    assert zero["put_premium"] == 0.0
    tracker.update([call_buy], SPOT, T0 + 86_400_000, date(2026, 11, 21))
    fresh = tracker.aggregates()["all"]
    assert isinstance(fresh, dict) and fresh["call_premium"] == 0.0


def test_rounded_vwap_on_a_big_day_does_not_invent_premium() -> None:
    # 30,000 contracts traded at a VWAP rounded to the cent: one more contract moves the
    # rounded VWAP by 0.01, which the difference formula reads as $30,000 for one contract
    # ($300 each against a $10 option). The implied price is implausible: last price is used.
    prev = snap(day_volume=30_000.0, day_vwap=10.00)
    cur = snap(
        day_volume=30_001.0, day_vwap=10.01, last_price=10.0, last_size=1.0, trade_ts_ms=T0 + 1
    )
    assert interval_premium(prev, cur) == pytest.approx(1 * 10.0 * 100)
    assert "large_premium" not in run(prev, cur)
