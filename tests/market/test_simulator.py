"""Tests for the deterministic market simulator."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import Quote, Trade
from spotlight.market.simulator import DEFAULT_SYMBOLS, MarketSimulator, SimulatorConfig

NY = ZoneInfo("America/New_York")
MINUTE = 60_000
# Thursday 2025-10-09 10:37:12.345 New York time: mid-session, not minute-aligned.
START = int(datetime(2025, 10, 9, 10, 37, 12, 345_000, tzinfo=NY).timestamp() * 1000)
# Saturday 2025-10-11 03:00 New York time: the market "runs around the clock".
WEEKEND_START = int(datetime(2025, 10, 11, 3, 0, tzinfo=NY).timestamp() * 1000)


def make(start: int = START, **kwargs: object) -> MarketSimulator:
    return MarketSimulator(SimulatorConfig(**kwargs), start)  # type: ignore[arg-type]


def trades_of(ticks: list[Trade | Quote], symbol: str) -> list[Trade]:
    return [t for t in ticks if isinstance(t, Trade) and t.symbol == symbol]


def quotes_of(ticks: list[Trade | Quote], symbol: str) -> list[Quote]:
    return [t for t in ticks if isinstance(t, Quote) and t.symbol == symbol]


def log_returns(values: list[float]) -> list[float]:
    return [math.log(b / a) for a, b in itertools.pairwise(values)]


def correlation(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    return cov / math.sqrt(vx * vy)


def on_cent_grid(price: float) -> bool:
    return abs(price * 100 - round(price * 100)) < 1e-6


# -- determinism -------------------------------------------------------------------------


def test_same_seed_and_start_is_identical() -> None:
    a, b = make(), make()
    assert a.history() == b.history()
    assert a.advance(START + 120_000) == b.advance(START + 120_000)


def test_different_seed_differs() -> None:
    a, b = make(seed=7), make(seed=8)
    assert a.history()["SPY"] != b.history()["SPY"]
    assert a.advance(START + 60_000) != b.advance(START + 60_000)


def test_different_start_differs() -> None:
    a, b = make(), make(START + 3_600_000)
    assert a.history()["I:SPX"] != b.history()["I:SPX"]


def test_advance_chunking_is_irrelevant() -> None:
    horizon = START + 5 * MINUTE
    expected = make().advance(horizon)

    sim = make()
    got: list[Trade | Quote] = []
    now = START - 500  # before start: nothing yet
    step = 1
    while now < horizon:
        got.extend(sim.advance(now))
        now += step
        step = step * 3 % 997 + 1  # irregular steps, from 1 ms up to ~1 s
    got.extend(sim.advance(horizon))
    assert got == expected


def test_history_and_advance_are_independent_of_call_order() -> None:
    a = make()
    hist_a = a.history()
    ticks_a = a.advance(START + 90_000)

    b = make()
    ticks_b = b.advance(START + 90_000)
    hist_b = b.history()
    assert hist_a == hist_b
    assert ticks_a == ticks_b
    assert make().history() == hist_b  # history() is repeatable on one instance too


def test_extra_symbol_does_not_change_other_symbols() -> None:
    base = make()
    extended = make(symbols=(*DEFAULT_SYMBOLS, "IWM"))
    assert base.history()["SPY"] == extended.history()["SPY"]
    ticks_base = base.advance(START + MINUTE)
    ticks_ext = extended.advance(START + MINUTE)
    assert [t for t in ticks_ext if t.symbol != "IWM"] == ticks_base


_DIGEST_SCRIPT = """
import hashlib, sys
from spotlight.market.simulator import MarketSimulator, SimulatorConfig
sim = MarketSimulator(SimulatorConfig(symbols=("SPY", "QQQ", "I:SPX", "XYZ"), history_days=1),
                      int(sys.argv[1]))
text = repr(sim.history()) + repr(sim.advance(int(sys.argv[1]) + 30_000))
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_deterministic_across_processes() -> None:
    # Python's str hash is salted per process; the simulator must not depend on it.
    root = Path(__file__).resolve().parents[2]
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(root)}
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT, str(START)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(out.stdout.strip())
    sim = MarketSimulator(
        SimulatorConfig(symbols=("SPY", "QQQ", "I:SPX", "XYZ"), history_days=1), START
    )
    text = repr(sim.history()) + repr(sim.advance(START + 30_000))
    digests.add(hashlib.sha256(text.encode()).hexdigest())
    assert len(digests) == 1


# -- live ticks --------------------------------------------------------------------------


@pytest.mark.parametrize("start", [START, WEEKEND_START])
def test_tick_rate_matches_config(start: int) -> None:
    sim = make(start, trades_per_second=3.0, quotes_per_trade=1.5)
    seconds = 600
    ticks = sim.advance(start + seconds * 1000)
    expected_trades = 3.0 * seconds  # 1800, Poisson sd ~42
    for sym in DEFAULT_SYMBOLS:
        assert abs(len(trades_of(ticks, sym)) - expected_trades) < 0.1 * expected_trades
    for sym in ("SPY", "QQQ"):
        expected_quotes = expected_trades * 1.5
        assert abs(len(quotes_of(ticks, sym)) - expected_quotes) < 0.1 * expected_quotes


def test_zero_quotes_per_trade_disables_quotes() -> None:
    ticks = make(quotes_per_trade=0.0).advance(START + MINUTE)
    assert ticks
    assert all(isinstance(t, Trade) for t in ticks)


def test_timestamps_ordered_and_in_range() -> None:
    sim = make()
    horizon = START + 3 * MINUTE
    ticks = sim.advance(START + MINUTE) + sim.advance(horizon)
    stamps = [t.ts_ms for t in ticks]
    assert stamps == sorted(stamps)
    assert stamps[0] >= START
    assert stamps[-1] <= horizon


def test_advance_backwards_or_before_start_returns_nothing() -> None:
    sim = make()
    assert sim.advance(START - 1) == []
    assert sim.advance(START + 10_000)
    assert sim.advance(START + 5_000) == []
    assert sim.advance(START + 10_000) == []  # same instant: already returned


def test_live_prices_positive_on_grid_and_quotes_well_formed() -> None:
    ticks = make().advance(START + 5 * MINUTE)
    for tick in ticks:
        if isinstance(tick, Trade):
            assert tick.price > 0
            assert on_cent_grid(tick.price)
            if tick.symbol.startswith("I:"):
                assert tick.size == 0.0
            else:
                assert tick.size >= 1 and tick.size == int(tick.size)
        else:
            assert 0 < tick.bid < tick.ask
            assert on_cent_grid(tick.bid) and on_cent_grid(tick.ask)
            assert round((tick.ask - tick.bid) * 100) in (1, 2)
            for size in (tick.bid_size, tick.ask_size):
                assert size > 0 and size % 100 == 0


def test_trade_sizes_are_mostly_round_lots() -> None:
    ticks = make().advance(START + 10 * MINUTE)
    sizes = [t.size for t in trades_of(ticks, "SPY")]
    round_lots = sum(1 for s in sizes if s % 100 == 0)
    assert round_lots / len(sizes) > 0.8


def test_quotes_bracket_trades() -> None:
    ticks = make().advance(START + 2 * MINUTE)
    last_quote: dict[str, Quote] = {}
    near = 0
    trades = 0
    for tick in ticks:
        if isinstance(tick, Quote):
            last_quote[tick.symbol] = tick
        elif tick.symbol in last_quote:
            q = last_quote[tick.symbol]
            trades += 1
            # The book moves between updates, but prints stay within a few cents of it.
            near += q.bid - 0.05 <= tick.price <= q.ask + 0.05
    assert trades > 100
    assert near / trades > 0.95


def test_index_has_no_quotes_and_zero_size() -> None:
    sim = make()
    ticks = sim.advance(START + 5 * MINUTE)
    spx = [t for t in ticks if t.symbol == "I:SPX"]
    assert spx
    assert all(isinstance(t, Trade) and t.size == 0.0 for t in spx)
    bars = sim.history()["I:SPX"]
    assert all(b.volume == 0.0 for b in bars)
    assert all(b.trades > 0 for b in bars)


def test_spx_spy_ratio_stays_in_band_live() -> None:
    ticks = make().advance(START + 10 * MINUTE)
    last: dict[str, float] = {}
    checked = 0
    for tick in ticks:
        if isinstance(tick, Trade):
            last[tick.symbol] = tick.price
            if "SPY" in last and "I:SPX" in last:
                assert 9.9 < last["I:SPX"] / last["SPY"] < 10.2
                checked += 1
    assert checked > 1000


def test_spy_and_qqq_levels() -> None:
    sim = make()
    assert 5500 < sim.last_price("I:SPX") < 6500
    assert 550 < sim.last_price("SPY") < 650
    assert 480 < sim.last_price("QQQ") < 560


def test_last_price_follows_trades() -> None:
    sim = make()
    ticks = sim.advance(START + MINUTE)
    for sym in DEFAULT_SYMBOLS:
        assert sim.last_price(sym) == trades_of(ticks, sym)[-1].price
    with pytest.raises(KeyError, match="NOPE"):
        sim.last_price("NOPE")


def test_prices_move_at_any_hour() -> None:
    for start in (START, WEEKEND_START):
        ticks = make(start).advance(start + 10 * MINUTE)
        prices = {t.price for t in trades_of(ticks, "I:SPX")}
        assert len(prices) > 10


# -- history -----------------------------------------------------------------------------


def test_history_covers_exact_minutes_before_start() -> None:
    sim = make(history_days=2)
    hist = sim.history()
    assert set(hist) == set(DEFAULT_SYMBOLS)
    start_minute = START // MINUTE * MINUTE
    expected = [start_minute - (2 * 1440 - i) * MINUTE for i in range(2 * 1440)]
    for sym, bars in hist.items():
        assert [b.start_ms for b in bars] == expected
        assert all(b.symbol == sym and b.timeframe == "1m" for b in bars)
        assert all(isinstance(b, Bar) for b in bars)


def test_history_default_is_five_days() -> None:
    hist = make().history()
    assert all(len(bars) == 5 * 1440 for bars in hist.values())


def test_history_zero_days_is_empty() -> None:
    assert make(history_days=0).history() == {sym: [] for sym in DEFAULT_SYMBOLS}


def test_history_is_continuous_and_well_formed() -> None:
    sim = make()
    for sym, bars in sim.history().items():
        for prev, bar in itertools.pairwise(bars):
            assert bar.open == prev.close  # charts are continuous
        for bar in bars:
            assert 0 < bar.low <= min(bar.open, bar.close)
            assert max(bar.open, bar.close) <= bar.high
            for price in (bar.open, bar.high, bar.low, bar.close):
                assert on_cent_grid(price)
            if sym != "I:SPX":
                assert bar.volume > 0 and bar.volume == int(bar.volume)


def test_live_continues_from_last_history_close() -> None:
    sim = make()
    hist = sim.history()
    for sym in DEFAULT_SYMBOLS:
        assert sim.last_price(sym) == hist[sym][-1].close
    ticks = sim.advance(START + 5_000)
    for sym in DEFAULT_SYMBOLS:
        first = trades_of(ticks, sym)[0].price
        close = hist[sym][-1].close
        assert abs(first / close - 1) < 5e-4  # within 5 basis points


def test_history_ratio_and_correlation() -> None:
    hist = make().history()
    spx = [b.close for b in hist["I:SPX"]]
    spy = [b.close for b in hist["SPY"]]
    qqq = [b.close for b in hist["QQQ"]]
    for x, y in zip(spx, spy, strict=True):
        assert 9.9 < x / y < 10.2
    r_spx, r_spy, r_qqq = log_returns(spx), log_returns(spy), log_returns(qqq)
    assert correlation(r_spy, r_spx) > 0.8
    # QQQ: strongly but not perfectly correlated.
    assert 0.75 < correlation(r_qqq, r_spx) < 0.98


def test_history_volatility_is_plausible() -> None:
    # Annualized from regular-hours 1-minute returns: about 15%.
    bars = make().history()["I:SPX"]
    rets = []
    for prev, bar in itertools.pairwise(bars):
        local = datetime.fromtimestamp(bar.start_ms / 1000, tz=NY)
        if local.weekday() < 5 and 570 <= local.hour * 60 + local.minute < 960:
            rets.append(math.log(bar.close / prev.close))
    annual = math.sqrt(sum(r * r for r in rets) / len(rets) * 252 * 390)
    assert 0.10 < annual < 0.22


def test_history_intraday_u_shape() -> None:
    bars = make().history()["SPY"]
    volume: dict[str, list[float]] = {"open": [], "midday": [], "overnight": []}
    ranges: dict[str, list[float]] = {"open": [], "midday": [], "overnight": []}
    for bar in bars:
        local = datetime.fromtimestamp(bar.start_ms / 1000, tz=NY)
        if local.weekday() >= 5:
            continue
        mod = local.hour * 60 + local.minute
        if 570 <= mod < 600:
            key = "open"
        elif 720 <= mod < 780:
            key = "midday"
        elif mod >= 1260 or mod < 180:
            key = "overnight"
        else:
            continue
        volume[key].append(bar.volume)
        ranges[key].append(bar.high - bar.low)

    def mean(xs: list[float]) -> float:
        assert xs
        return sum(xs) / len(xs)

    assert mean(volume["open"]) > 2 * mean(volume["midday"])
    assert mean(volume["midday"]) > 5 * mean(volume["overnight"])
    assert mean(ranges["open"]) > mean(ranges["midday"]) > mean(ranges["overnight"])


def test_history_trade_counts_match_rate() -> None:
    bars = make(trades_per_second=2.0).history()["QQQ"]
    mean_trades = sum(b.trades for b in bars) / len(bars)
    assert abs(mean_trades - 120) < 3


def test_history_performance() -> None:
    sim = make()
    t0 = time.perf_counter()
    sim.history()
    assert time.perf_counter() - t0 < 1.0


# -- extra symbols and config ------------------------------------------------------------


def test_extra_symbols() -> None:
    symbols = (*DEFAULT_SYMBOLS, "IWM", "BRK.B", "I:NDX")
    sim = make(symbols=symbols, history_days=1)
    hist = sim.history()
    assert set(hist) == set(symbols)
    assert all(len(hist[s]) == 1440 for s in symbols)
    assert 20 <= sim.last_price("IWM") <= 500
    assert 20 <= sim.last_price("BRK.B") <= 500
    assert all(b.volume == 0.0 for b in hist["I:NDX"])
    ticks = sim.advance(START + MINUTE)
    for sym in symbols:
        assert trades_of(ticks, sym)
        assert sim.last_price(sym) > 0
    assert quotes_of(ticks, "IWM")
    assert not quotes_of(ticks, "I:NDX")
    assert all(t.size == 0.0 for t in trades_of(ticks, "I:NDX"))
    # Still correlated with the market.
    iwm = [b.close for b in hist["IWM"]]
    spx = [b.close for b in hist["I:SPX"]]
    assert correlation(log_returns(iwm), log_returns(spx)) > 0.5


def test_extra_symbol_base_price_depends_on_seed() -> None:
    a = make(seed=1, symbols=("SPY", "XYZ"))
    b = make(seed=2, symbols=("SPY", "XYZ"))
    assert a.last_price("XYZ") != b.last_price("XYZ")


def test_config_accepts_list_of_symbols() -> None:
    cfg = SimulatorConfig(symbols=["SPY", "I:SPX"])  # type: ignore[arg-type]
    assert cfg.symbols == ("SPY", "I:SPX")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trades_per_second": 0}, "trades_per_second"),
        ({"trades_per_second": -1.0}, "trades_per_second"),
        ({"trades_per_second": math.nan}, "trades_per_second"),
        ({"trades_per_second": math.inf}, "trades_per_second"),
        ({"quotes_per_trade": -0.5}, "quotes_per_trade"),
        ({"history_days": -1}, "history_days"),
        ({"history_days": 1.5}, "history_days"),
        ({"symbols": ()}, "symbols must not be empty"),
        ({"symbols": "SPY"}, "string"),
        ({"symbols": ("SPY", "spy")}, "'spy'"),
        ({"symbols": ("SPY", "")}, "''"),
        ({"symbols": ("SPY", "I:")}, "'I:'"),
        ({"symbols": ("SPY", "X:SPX")}, "'X:SPX'"),
        ({"symbols": ("SPY", "BRK..B")}, "'BRK..B'"),
        ({"symbols": ("SPY", "A B")}, "'A B'"),
        ({"symbols": ("SPY", "SPY")}, "duplicate symbol 'SPY'"),
        ({"seed": "7"}, "seed"),
    ],
)
def test_config_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        SimulatorConfig(**kwargs)  # type: ignore[arg-type]


def test_start_ms_validation() -> None:
    with pytest.raises(ValueError, match="start_ms"):
        MarketSimulator(SimulatorConfig(), -5)


def test_start_constants_are_what_the_tests_assume() -> None:
    assert datetime.fromtimestamp(START / 1000, tz=UTC).weekday() == 3  # Thursday
    assert START % MINUTE != 0
    assert datetime.fromtimestamp(WEEKEND_START / 1000, tz=NY).weekday() == 5
