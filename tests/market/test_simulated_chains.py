"""The simulator's option chains: realistic, consistent with its prices, usable by GEX."""

from __future__ import annotations

import datetime as dt
import math
import statistics

from spotlight.analytics import SessionCalendar, gex_report
from spotlight.analytics.gex import OptionPosition
from spotlight.domain.nytime import NY
from spotlight.market.simulated_source import SimulatedSource
from spotlight.market.simulator import MarketSimulator, SimulatorConfig

NOW = dt.datetime(2025, 12, 17, 11, 0, tzinfo=NY)  # a Wednesday, mid-session
NOW_MS = int(NOW.timestamp() * 1000)


class FixedClock:
    def now_ms(self) -> int:
        return NOW_MS

    def now_s(self) -> float:
        return NOW_MS / 1000


async def test_simulated_chains_are_complete_consistent_and_skewed() -> None:
    sim = MarketSimulator(SimulatorConfig(seed=7, history_days=0), NOW_MS - 60_000)
    source = SimulatedSource(sim, 100, FixedClock())
    chains = await source.option_chains()
    assert set(chains) == {"I:SPX", "SPY"}
    at, spx = chains["I:SPX"]
    assert at == NOW_MS and len(spx) > 1000
    today = NOW.date().isoformat()
    expiries = {o.expiration_date for o in spx}
    assert today in expiries and any(e > today for e in expiries)  # 0DTE and later
    spot = spx[0].underlying_value
    assert spot is not None and spot > 0
    # Consistent with the simulator's own SPX path (the twin follows the same seed and start).
    sim.advance(NOW_MS)
    assert abs(spot / sim.last_price("I:SPX") - 1) < 0.005
    # A put skew: out-of-the-money puts carry more implied volatility than at the money.
    nxt = min(e for e in expiries if e > today)
    same = [o for o in spx if o.expiration_date == nxt]
    atm: list[float] = []
    otm_puts: list[float] = []
    for o in same:
        iv = o.implied_volatility
        if iv is None:
            continue
        if abs(o.strike / spot - 1) < 0.005:
            atm.append(iv)
        elif o.contract_type == "put" and o.strike < 0.96 * spot:
            otm_puts.append(iv)
    assert atm and otm_puts
    assert statistics.median(otm_puts) > statistics.median(atm)
    assert all(o.open_interest >= 0 for o in spx)
    # The analytics run on it.
    positions = [OptionPosition.from_snapshot(o) for o in spx]
    report = gex_report(positions, spot, NOW, SessionCalendar())
    buckets = report["buckets"]
    assert isinstance(buckets, dict)
    for name in ("0dte", "all"):
        total = buckets[name]["totalGexBn"]
        assert isinstance(total, float) and math.isfinite(total)


async def test_at_13_our_0dte_gamma_agrees_with_the_simulators_vendor_gamma() -> None:
    # The simulator quotes like a vendor: IV and greeks on calendar time. Gamma from that IV
    # with our trading-minute T was 0.43x the vendor's at the money at 13:00; implied again
    # from the mids on our T, the two agree (the same total variance).
    at_13 = dt.datetime(2025, 12, 17, 13, 0, tzinfo=NY)
    at_ms = int(at_13.timestamp() * 1000)

    class At13:
        def now_ms(self) -> int:
            return at_ms

        def now_s(self) -> float:
            return at_ms / 1000

    sim = MarketSimulator(SimulatorConfig(seed=7, history_days=0), at_ms - 60_000)
    chains = await SimulatedSource(sim, 100, At13()).option_chains()
    spx = chains["I:SPX"][1]
    spot = spx[0].underlying_value
    assert spot is not None
    nyse = SessionCalendar(early_closes={}, holidays=set())
    report = gex_report([OptionPosition.from_snapshot(o) for o in spx], spot, at_13, nyse)
    check = report["vendorGammaCheck"]
    assert isinstance(check, dict)
    assert check["0dte"]["atmContracts"] >= 4
    assert abs(check["0dte"]["atmMedian"]) < 0.05
    assert abs(check["1-7dte"]["atmMedian"]) < 0.10
    sources = report["ivSources"]
    # Deep in-the-money mids often sit at or below intrinsic (no time value to invert), and
    # deep out-of-the-money quotes without a bid have no mid: those fall back to the
    # converted vendor IV.
    assert isinstance(sources, dict)
    total = sum(sources.values())
    assert sources["mid"] > 0.6 * total and sources["mid"] + sources["vendor"] > 0.9 * total


def test_options_keep_market_hours_the_chain_after_the_close_is_the_closing_chain() -> None:
    from spotlight.market.simulated_options import OptionBook
    from spotlight.market.simulated_tape import MarketData

    close = int(dt.datetime(2025, 12, 17, 16, 0, tzinfo=NY).timestamp() * 1000)
    book = OptionBook(MarketData(7, close - 3_600_000, history_days=0))
    at_close = {o.ticker: o for o in book.chain("SPY", close)}
    night = {o.ticker: o for o in book.chain("SPY", close + 5 * 3_600_000)}  # 21:00
    # SPY itself prints after hours, but its options do not: same quotes, greeks and volume
    # at 21:00 as at the bell (only the contracts that expired at 16:00 are gone).
    assert night and set(night) <= set(at_close)
    for ticker, o in night.items():
        c = at_close[ticker]
        assert (o.mid, o.implied_volatility, o.day_volume) == (
            c.mid,
            c.implied_volatility,
            c.day_volume,
        )
    assert all(o.expiration_date > "2025-12-17" for o in night.values())


def test_the_simulated_book_refuses_zero_bid_mids_like_the_massive_parser() -> None:
    # Deep out of the money the simulator's bid is 0 and its ask one tick: a "mid" of half a
    # tick is no price. The book drops it when it builds the snapshot, as parsing Massive's
    # answer does, so both sources give the analytics the same chain.
    from spotlight.market.massive import parse_option_snapshot
    from spotlight.market.simulated_options import OptionBook
    from spotlight.market.simulated_tape import MarketData
    from spotlight.testing.fake_massive_data import snapshot_json

    book = OptionBook(MarketData(7, NOW_MS - 60_000, history_days=0))
    ctx = book.context("I:SPX", NOW_MS)
    contracts = book.listing("I:SPX", NOW_MS)
    snaps = [book.snapshot(c, ctx) for c in contracts]
    no_bid = [s for s in snaps if s.bid == 0.0]
    assert len(no_bid) > 10 and all(s.mid is None and s.ask for s in no_bid)
    assert all(s.mid is not None for s in snaps if s.bid)
    c = next(c for c, s in zip(contracts, snaps, strict=True) if s.bid == 0.0)
    assert parse_option_snapshot(snapshot_json(book, c, ctx)) == book.snapshot(c, ctx)
