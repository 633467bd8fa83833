"""Options-flow alerts from chain snapshots (spec section 10)."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from spotlight.analytics.flow import (
    FlowAlert,
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


def printed(size: float, **kw: object) -> OptionSnapshot:
    """A snapshot whose newest print (``size`` lots, quoted at the same instant) came in
    the interval after the baseline at T0: the evidence a label needs."""
    return snap(**{"trade_ts_ms": T0 + 3_000, "quote_ts_ms": T0 + 3_000, "last_size": size, **kw})


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
    # A crossed quote (bid 10.1 over ask 9.9) says nothing about which side was hit.
    assert classify_side(snap(last_price=10.0, bid=10.1, ask=9.9)) == "unknown"
    # Without a bid, a print at the ask is still a buy.
    assert classify_side(snap(last_price=0.05, bid=0.0, ask=0.05)) == "buy"


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
    # 250 contracts at $10, printed as one trade: exactly $250k in the interval.
    cur = printed(250.0, day_volume=350.0, day_vwap=10.0, last_price=10.0)
    assert run(prev, cur) == ["large_premium"]
    assert run(prev, printed(249.0, day_volume=349.0, day_vwap=10.0)) == []
    # 0DTE needs $500k.
    zero = {"expiration_date": "2026-11-20"}
    assert run(snap(**zero, day_volume=100.0), printed(250.0, **zero, day_volume=350.0)) == []
    zero_500k = run(snap(**zero, day_volume=100.0), printed(500.0, **zero, day_volume=600.0))
    assert "large_premium" in zero_500k
    # 100 contracts at $25 = $250k: an implausible interval VWAP figure falls back to the
    # interval's volume at the last price.
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

    sweep = snap(day_volume=350.0, day_vwap=0.1, last_price=0.1, last_size=250.0,
                 trade_ts_ms=T0 + 3_000, quote_ts_ms=T0 + 3_000, bid=0.05, ask=0.1,
                 last_conditions=(219,))  # fmt: skip
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
    again = printed(10.0, day_volume=20.0)
    assert [a.kind for a in tracker.update([again], SPOT, T0 + 2, TODAY)] == ["large_premium"]
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
    at = T0 + 3_000  # both newest prints came in the interval, quoted at the same instant
    call_buy = dataclasses.replace(call0, day_volume=110.0, last_price=10.1, last_size=10.0,
                                   trade_ts_ms=at, quote_ts_ms=at)  # fmt: skip
    call_buy = dataclasses.replace(call_buy, day_vwap=(10.0 * 100 + 10.1 * 10) / 110)
    put_sell = dataclasses.replace(put, day_volume=120.0, day_vwap=None, last_price=1.9,
                                   last_size=20.0, bid=1.9, ask=2.1, trade_ts_ms=at,
                                   quote_ts_ms=at)  # fmt: skip
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


# -- what the interval supports (issue 14) ----------------------------------------------------


def alerts_between(prev: OptionSnapshot, cur: OptionSnapshot) -> list[FlowAlert]:
    t = FlowTracker()
    assert t.update([prev], SPOT, T0, TODAY) == []
    return t.update([cur], SPOT, T0 + 5_000, TODAY)


def test_large_premium_is_the_intervals_volume_not_the_latest_print() -> None:
    # One contract traded in the interval; the latest print (5 @ $505) is from before it.
    # That print's size x price is $252,500, but the interval carried $50,500.
    prev = snap(day_volume=100.0, day_vwap=None, last_price=505.0, mid=505.0)
    cur = snap(day_volume=101.0, day_vwap=None, last_price=505.0, last_size=5.0,
               trade_ts_ms=T0 + 3_000, mid=505.0)  # fmt: skip
    assert alerts_between(prev, cur) == []


def test_deep_in_the_money_premium_is_mostly_intrinsic() -> None:
    # 300 contracts of the 5000 call with spot at 6000 at $1,000.50: $30m of premium, of
    # which $15,000 is time value. Not a whale: no large_premium.
    deep = {"strike": 5000.0, "ticker": "O:SPXW261127C05000000", "delta": 0.99}
    prev = snap(**deep, day_volume=100.0, day_vwap=1000.5, last_price=1000.5, mid=1000.5)
    cur = printed(300.0, **deep, day_volume=400.0, day_vwap=1000.5, last_price=1000.5, mid=1000.5)
    assert [a.kind for a in alerts_between(prev, cur)] == []
    # With the threshold at $1, the alert reports both amounts.
    t = FlowTracker(FlowThresholds(large_premium=1.0))
    t.update([prev], SPOT, T0, TODAY)
    (alert,) = t.update([cur], SPOT, T0 + 5_000, TODAY)
    assert alert.premium == pytest.approx(300 * 1000.5 * 100)
    assert alert.extrinsic_premium == pytest.approx(300 * 0.5 * 100)


def test_delta_notional_is_reported_without_a_side_and_signed_only_with_one() -> None:
    prev = snap(day_volume=100.0, day_vwap=10.0)
    mid_print = printed(300.0, day_volume=400.0, day_vwap=10.0, last_price=10.0)  # at the mid
    (alert,) = alerts_between(prev, mid_print)
    assert alert.side == "mid"
    assert alert.delta_notional == pytest.approx(300 * 0.5 * 100 * SPOT)
    assert alert.directional_delta_notional is None
    bought = printed(300.0, day_volume=400.0, day_vwap=10.1, last_price=10.1)  # at the ask
    (alert,) = alerts_between(prev, bought)
    assert alert.directional_delta_notional == pytest.approx(300 * 0.5 * 100 * SPOT)
    put_sold = printed(300.0, ticker="O:SPXW261127P06000000", contract_type="put", delta=-0.5,
                       day_volume=400.0, day_vwap=9.9, last_price=9.9)  # fmt: skip
    prev_put = dataclasses.replace(put_sold, day_volume=100.0, day_vwap=10.0, trade_ts_ms=T0)
    (alert,) = alerts_between(prev_put, put_sold)
    assert alert.delta_notional == pytest.approx(-300 * 0.5 * 100 * SPOT)
    assert alert.directional_delta_notional == pytest.approx(300 * 0.5 * 100 * SPOT)


def test_multi_leg_and_canceled_prints_are_filtered() -> None:
    prev = snap(day_volume=100.0, day_vwap=10.0)
    # A box or spread leg: $300k in the interval and a 500-lot print, but no direction.
    leg = snap(day_volume=600.0, day_vwap=10.0, last_price=10.1, last_size=500.0,
               last_conditions=(232,), trade_ts_ms=T0 + 3_000, quote_ts_ms=T0 + 3_000)  # fmt: skip
    t = FlowTracker()
    t.update([prev], SPOT, T0, TODAY)
    assert t.update([leg], SPOT, T0 + 5_000, TODAY) == []
    assert t.filtered == {"complex": 1}
    assert t.aggregates()["all"] == {"call_premium": 0.0, "put_premium": 0.0, "net_delta": 0.0,
                                     "by_strike": {}}  # fmt: skip
    # A canceled print is not a print: no block from it, and with no other print seen the
    # interval's lots are of no known kind (no premium alert either).
    canceled = dataclasses.replace(leg, last_conditions=(201,), last_price=10.0)
    assert alerts_between(prev, canceled) == []
    single = dataclasses.replace(canceled, last_conditions=(209,))
    assert [a.kind for a in alerts_between(prev, single)] == ["large_premium", "block"]


def test_sweeps_and_blocks_need_evidence() -> None:
    prev = snap(day_volume=100.0, day_vwap=0.1, last_price=0.1)
    at_ask = {"trade_ts_ms": T0 + 3_000, "quote_ts_ms": T0 + 3_000, "bid": 0.05, "ask": 0.1}
    # 250 contracts, an aggressive latest print, but no ISO flag: no sweep claimed.
    plain = snap(day_volume=350.0, day_vwap=0.1, last_price=0.1, last_size=10.0, **at_ask)
    assert alerts_between(prev, plain) == []
    iso = dataclasses.replace(plain, last_conditions=(219,), last_size=250.0)
    (alert,) = alerts_between(prev, iso)
    assert (alert.kind, alert.confidence, alert.print_kind) == ("possible_sweep", "low", "iso")
    # A 500-lot print that the interval's volume cannot hold (only 100 traded) is not a
    # block seen in this interval.
    big = snap(day_volume=200.0, day_vwap=0.1, last_price=0.1, last_size=500.0, **at_ask)
    assert alerts_between(prev, big) == []


def test_the_simulators_chain_gives_a_readable_number_of_alerts() -> None:
    import datetime as dt

    from spotlight.domain.nytime import NY
    from spotlight.market.simulated_options import OptionBook
    from spotlight.market.simulated_tape import MarketData

    start = int(dt.datetime(2025, 12, 17, 10, 30, tzinfo=NY).timestamp() * 1000)
    book = OptionBook(MarketData(7, start, history_days=0))
    tracker = FlowTracker()
    counts = []
    for k in range(4):
        now = start + 60_000 + k * 15_000
        chain = book.chain("I:SPX", now)
        spot = chain[0].underlying_value or SPOT
        counts.append(len(tracker.update(chain, spot, now, dt.date(2025, 12, 17))))
    # The first poll only sets the baseline. Hundreds per poll (481 before) is noise.
    assert counts[0] == 0 and max(counts) <= 25, counts


def test_over_a_simulated_session_the_blocks_and_sweeps_are_found() -> None:
    import datetime as dt

    from spotlight.domain.nytime import NY
    from spotlight.market.simulated_options import OptionBook
    from spotlight.market.simulated_tape import MarketData

    start = int(dt.datetime(2025, 12, 17, 9, 30, tzinfo=NY).timestamp() * 1000)
    book = OptionBook(MarketData(7, start, history_days=0))
    listed = book.listing("I:SPX", start)
    blocks = {c.ticker: c.block for c in listed if c.block is not None}
    assert 20 < len(blocks) < 0.05 * len(listed)
    tracker = FlowTracker()
    found: list[FlowAlert] = []
    # Every 5 minutes through the morning: coarse polls, so each block has its own interval.
    for k in range(0, 25):
        now = start + k * 300_000
        chain = book.chain("I:SPX", now)
        found += tracker.update(
            chain, chain[0].underlying_value or SPOT, now, dt.date(2025, 12, 17)
        )
    prints = [a for a in found if a.kind in ("block", "possible_sweep")]
    assert prints, "the simulated blocks were not found"
    for a in prints:
        block = blocks[a.contract]
        assert block is not None and a.print_size == block.size <= a.delta_volume
        assert a.kind == ("possible_sweep" if block.condition == 219 else "block")
        # Bought at the ask; sold at the bid, or bought when there was no bid to hit.
        assert a.side == "buy" if block.buy else a.side in ("sell", "buy")


def test_a_contract_already_unusual_when_first_seen_is_not_news() -> None:
    # Started at 15:30, the tracker's first look finds this contract at vol/OI 3 already:
    # that happened before anyone watched. Another contract crossing the bar later is news.
    already = snap(open_interest=500.0, day_volume=1_500.0, day_vwap=None, last_price=0.1)
    later = snap(ticker="O:SPXW261127P05900000", contract_type="put", strike=5900.0,
                 open_interest=500.0, day_volume=450.0, day_vwap=None, last_price=0.1)  # fmt: skip
    t = FlowTracker()
    assert t.update([already, later], SPOT, T0, TODAY) == []
    more = dataclasses.replace(already, day_volume=1_600.0)
    crossed = dataclasses.replace(later, day_volume=550.0)
    out = t.update([more, crossed], SPOT, T0 + 15_000, TODAY)
    assert [(a.kind, a.contract) for a in out] == [("unusual_vol_oi", later.ticker)]


# -- what the interval's prints support (issue 27) --------------------------------------------

AT_ASK = {"trade_ts_ms": T0 + 3_000, "quote_ts_ms": T0 + 3_000, "bid": 5.9, "ask": 6.0}


def test_a_one_lot_iso_print_is_no_sweep_of_three_hundred() -> None:
    # 300 lots traded; the one print seen is a 1-lot ISO at the ask. The sweep's evidence
    # is the ISO lots seen (1), not the interval's volume (300).
    prev = snap(day_volume=100.0, day_vwap=6.0, last_price=6.0)
    one_lot = snap(day_volume=400.0, day_vwap=6.0, last_price=6.0, last_size=1.0,
                   last_conditions=(219,), **AT_ASK)  # fmt: skip
    assert "possible_sweep" not in [a.kind for a in alerts_between(prev, one_lot)]
    # A 300-lot ISO print at the ask carries the whole interval: that is evidence.
    swept = dataclasses.replace(one_lot, last_size=300.0)
    sweeps = [a for a in alerts_between(prev, swept) if a.kind == "possible_sweep"]
    assert [(a.side, a.print_size, a.confidence) for a in sweeps] == [("buy", 300.0, "low")]


def test_a_one_lot_single_print_does_not_make_a_thousand_lots_single_leg() -> None:
    # 1,000 lots at $6.00 ($600,000) between two polls: 999 of them spread legs nobody saw,
    # then a 1-lot single-leg print at the ask, the only print the snapshot shows. One lot
    # of evidence labels one lot: no $600k large_premium, and $600 of signed call premium
    # (1 x 6.00 x 100), 1 x 0.5 x 100 x 6000 = $300,000 of net delta, not 1,000 times that.
    prev = snap(day_volume=0.0, day_vwap=None, last_price=None, trade_ts_ms=None)
    cur = snap(day_volume=1000.0, day_vwap=6.0, last_price=6.0, last_size=1.0,
               last_conditions=(209,), **AT_ASK)  # fmt: skip
    t = FlowTracker()
    t.update([prev], SPOT, T0, TODAY)
    alerts = t.update([cur], SPOT, T0 + 5_000, TODAY)
    assert "large_premium" not in [a.kind for a in alerts]
    flow = t.aggregates()["all"]
    assert isinstance(flow, dict)
    assert flow["call_premium"] == pytest.approx(600.0)
    assert flow["net_delta"] == pytest.approx(300_000.0)
    # The same interval printed as one 1,000-lot single-leg trade at the ask is $600k of
    # bought premium: the alert and the signed flow are supported.
    whole = dataclasses.replace(cur, last_size=1000.0)
    t = FlowTracker()
    t.update([prev], SPOT, T0, TODAY)
    kinds = [a.kind for a in t.update([whole], SPOT, T0 + 5_000, TODAY)]
    assert "large_premium" in kinds
    flow = t.aggregates()["all"]
    assert isinstance(flow, dict) and flow["call_premium"] == pytest.approx(600_000.0)


def test_an_interval_without_a_new_print_is_not_signed_by_an_old_one() -> None:
    # Volume grew by 250 lots ($250k) but the latest print is the one from before the
    # interval (same timestamp): nothing says what these lots were or who took them.
    prev = snap(day_volume=100.0, day_vwap=10.0, last_price=10.1)
    cur = snap(day_volume=350.0, day_vwap=10.0, last_price=10.1)
    t = FlowTracker()
    t.update([prev], SPOT, T0, TODAY)
    assert t.update([cur], SPOT, T0 + 5_000, TODAY) == []
    flow = t.aggregates()["all"]
    assert isinstance(flow, dict) and (flow["call_premium"], flow["net_delta"]) == (0.0, 0.0)
    assert t.filtered == {"unseen": 1}


def test_judging_every_print_of_an_interval() -> None:
    from spotlight.analytics.flow_evidence import Evidence, Print, judge

    # With every print of the interval in hand: 999 spread lots then 1 single-leg lot at
    # the ask make 1 lot single-leg (bought) and 999 complex; nothing more.
    ev = judge(1000.0, [Print(999.0, "complex", "buy"), Print(1.0, "single", "buy")])
    assert (ev.single, ev.complex, ev.signed, ev.sided) == (1.0, 999.0, 1.0, True)
    assert (ev.sweep, ev.sweep_side) == (0.0, None)
    # ISO children on several exchanges add up: 100 + 200 bought at the ask is a 300-lot
    # sweep; a 50-lot sale at the bid nets the signed lots to 250; a mid print is unsigned.
    ev = judge(400.0, [Print(100.0, "iso", "buy"), Print(200.0, "iso", "buy"),
                       Print(50.0, "single", "sell"), Print(50.0, "single", "mid")])  # fmt: skip
    assert (ev.single, ev.signed, ev.sweep, ev.sweep_side) == (400.0, 250.0, 300.0, "buy")
    # Never more lots than traded (a source whose sizes and volumes disagree).
    ev = judge(10.0, [Print(500.0, "iso", "sell")])
    assert (ev.single, ev.signed, ev.sweep, ev.sweep_side) == (10.0, -10.0, 10.0, "sell")
    # Nothing seen, nothing known; a print without a side is single-leg but unsigned.
    assert judge(300.0, []) == Evidence(0.0, 0.0, 0.0, False, 0.0, None)
    assert judge(300.0, [Print(5.0, "single", "unknown")]) == Evidence(
        5.0, 0.0, 0.0, False, 0.0, None
    )
