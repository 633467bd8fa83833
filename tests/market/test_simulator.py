"""Tests for the deterministic market simulator."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from time import process_time
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
    trading = DEFAULT_SYMBOLS if start == START else ("SPY", "QQQ")
    for sym in trading:
        assert abs(len(trades_of(ticks, sym)) - expected_trades) < 0.1 * expected_trades
    if start == WEEKEND_START:
        assert trades_of(ticks, "I:SPX") == []  # the index keeps market hours
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


def test_stocks_move_at_any_hour_the_index_in_sessions() -> None:
    for start in (START, WEEKEND_START):
        ticks = make(start).advance(start + 10 * MINUTE)
        assert len({t.price for t in trades_of(ticks, "SPY")}) > 10
    assert len({t.price for t in trades_of(make().advance(START + 10 * MINUTE), "I:SPX")}) > 10
    # "always" keeps every symbol printing around the clock (demos at night, tests).
    weekend = make(WEEKEND_START, hours="always").advance(WEEKEND_START + 10 * MINUTE)
    assert len({t.price for t in trades_of(weekend, "I:SPX")}) > 10


# -- history -----------------------------------------------------------------------------


def _session(ms: int) -> bool:
    local = datetime.fromtimestamp(ms / 1000, tz=NY)
    return local.weekday() < 5 and 570 <= local.hour * 60 + local.minute < 960


def test_history_covers_every_traded_minute_before_start() -> None:
    sim = make(history_days=2)
    hist = sim.history()
    assert set(hist) == set(DEFAULT_SYMBOLS)
    start_minute = START // MINUTE * MINUTE
    # Two sessions before Thursday: from Tuesday 00:00 New York to the minute in progress at
    # start (its prints so far), every minute of it.
    tuesday = int(datetime(2025, 10, 7, tzinfo=NY).timestamp() * 1000)
    every = list(range(tuesday, start_minute + MINUTE, MINUTE))
    assert len(every) == 2 * 1440 + 10 * 60 + 37 + 1
    for sym in ("SPY", "QQQ"):
        assert [b.start_ms for b in hist[sym]] == every
    # The index only in regular sessions (no 2025 holiday falls in these days).
    assert [b.start_ms for b in hist["I:SPX"]] == [t for t in every if _session(t)]
    for sym, bars in hist.items():
        assert all(b.symbol == sym and b.timeframe == "1m" for b in bars)
        assert all(isinstance(b, Bar) for b in bars)


def test_history_default_is_five_sessions() -> None:
    hist = make().history()
    # Thursday 2025-10-09: five sessions back is Thursday 2025-10-02, 00:00 New York.
    thursday = int(datetime(2025, 10, 2, tzinfo=NY).timestamp() * 1000)
    assert all(hist[s][0].start_ms == thursday for s in ("SPY", "QQQ"))
    assert all(
        len(hist[s]) == (START // MINUTE * MINUTE - thursday) // MINUTE + 1 for s in ("SPY", "QQQ")
    )
    days = {datetime.fromtimestamp(b.start_ms / 1000, tz=NY).date() for b in hist["I:SPX"]}
    assert len(days) == 6  # five whole sessions and today's so far


def test_history_zero_days_is_empty() -> None:
    assert make(history_days=0).history() == {sym: [] for sym in DEFAULT_SYMBOLS}


# The sessions a history of one session holds, by the weekday and hour it starts: the
# previous NYSE session is always there whole (a trader's prior day), however many closed
# days lie between, and the start day's own session as far as it went.
MONDAY_AFTER_CLOSE = datetime(2026, 12, 7, 17, 0, tzinfo=NY)
ONE_SESSION = [
    # (start, previous session, its minutes, the start day's index minutes)
    (MONDAY_AFTER_CLOSE, date(2026, 12, 4), 390, 390),
    (datetime(2026, 12, 7, 8, 0, tzinfo=NY), date(2026, 12, 4), 390, 0),  # before the open
    (datetime(2026, 12, 5, 12, 0, tzinfo=NY), date(2026, 12, 4), 390, 0),  # a Saturday
    (datetime(2026, 11, 27, 15, 0, tzinfo=NY), date(2026, 11, 25), 390, 210),  # early close
    (datetime(2026, 11, 30, 10, 0, tzinfo=NY), date(2026, 11, 27), 210, 30),  # after it
    (datetime(2026, 1, 20, 12, 0, tzinfo=NY), date(2026, 1, 16), 390, 150),  # after MLK day
    (datetime(2026, 3, 9, 16, 30, tzinfo=NY), date(2026, 3, 6), 390, 390),  # after DST starts
    (datetime(2026, 11, 2, 16, 30, tzinfo=NY), date(2026, 10, 30), 390, 390),  # after DST ends
]


@pytest.mark.parametrize(("start", "previous", "prev_minutes", "today_minutes"), ONE_SESSION)
def test_one_session_of_history_reaches_the_previous_session_on_any_day(
    start: datetime, previous: date, prev_minutes: int, today_minutes: int
) -> None:
    hist = make(int(start.timestamp() * 1000), history_days=1).history()
    by_day: dict[date, list[datetime]] = {}
    for b in hist["I:SPX"]:
        t = datetime.fromtimestamp(b.start_ms / 1000, tz=NY)
        by_day.setdefault(t.date(), []).append(t)
    assert set(by_day) == {previous} | ({start.date()} if today_minutes else set())
    prev = by_day[previous]
    assert len(prev) == prev_minutes and prev[0].time() == time(9, 30)
    assert len(by_day.get(start.date(), [])) == today_minutes
    # Stocks print around the clock: every minute from the previous session's midnight.
    first = datetime.combine(previous, time(0), NY)
    assert hist["SPY"][0].start_ms == int(first.timestamp() * 1000)


def test_history_is_continuous_and_well_formed() -> None:
    sim = make()
    for sym, bars in sim.history().items():
        for prev, bar in itertools.pairwise(bars):
            if bar.start_ms == prev.start_ms + MINUTE:
                assert bar.open == prev.close  # charts are continuous within a session
            else:
                assert sym == "I:SPX"  # the index gaps from one session to the next
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
    # Compare minute by minute where all three trade: the index's sessions (each session's
    # returns only, not across the overnight gap).
    at = {s: {b.start_ms: b.close for b in hist[s]} for s in DEFAULT_SYMBOLS}
    minutes = [t for t in sorted(at["I:SPX"]) if t - MINUTE in at["I:SPX"]]
    spx = [at["I:SPX"][t] for t in minutes]
    spy = [at["SPY"][t] for t in minutes]
    for x, y in zip(spx, spy, strict=True):
        assert 9.9 < x / y < 10.2
    r_spx, r_spy, r_qqq = (
        [math.log(at[s][t] / at[s][t - MINUTE]) for t in minutes] for s in ("I:SPX", "SPY", "QQQ")
    )
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
    # CPU time, not wall time: the bound holds on a busy machine too. Five sessions before a
    # Thursday are seven and a half days of minutes (~0.4 s of CPU here).
    sim = make()
    t0 = process_time()
    sim.history()
    assert process_time() - t0 < 1.5


# -- extra symbols and config ------------------------------------------------------------


def test_extra_symbols() -> None:
    symbols = (*DEFAULT_SYMBOLS, "IWM", "BRK.B", "I:NDX")
    sim = make(symbols=symbols, history_days=1)
    hist = sim.history()
    assert set(hist) == set(symbols)
    # From Wednesday 00:00 (one session back) to the minute in progress at start.
    assert all(len(hist[s]) == 1440 + 10 * 60 + 37 + 1 for s in ("SPY", "QQQ", "IWM", "BRK.B"))
    assert all(_session(b.start_ms) for b in hist["I:NDX"])  # an index: sessions only
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
    iwm = {b.start_ms: b.close for b in hist["IWM"]}
    minutes = [b.start_ms for b in hist["I:SPX"]]
    spx = [b.close for b in hist["I:SPX"]]
    assert correlation(log_returns([iwm[t] for t in minutes]), log_returns(spx)) > 0.5


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


# -- the past is a function of the seed and the date (issue 14) -------------------------------


def fold(ticks: list[Trade | Quote], symbol: str) -> dict[int, tuple[float, ...]]:
    """Candles from prints, the pipeline's way: {minute: (o, h, l, c, v, n)}."""
    out: dict[int, list[float]] = {}
    for t in trades_of(ticks, symbol):
        m = t.ts_ms - t.ts_ms % MINUTE
        bar = out.get(m)
        if bar is None:
            out[m] = [t.price, t.price, t.price, t.price, t.size, 1.0]
        else:
            bar[1], bar[2], bar[3] = max(bar[1], t.price), min(bar[2], t.price), t.price
            bar[4] += t.size
            bar[5] += 1.0
    return {m: tuple(v) for m, v in out.items()}


def test_a_restart_does_not_rewrite_the_past() -> None:
    early, later = make(history_days=1), make(START + 3 * 3_600_000, history_days=1)
    first, second = early.history(), later.history()
    for sym in DEFAULT_SYMBOLS:
        before = {b.start_ms: b for b in first[sym] if b.start_ms + MINUTE <= START}
        again = {b.start_ms: b for b in second[sym] if b.start_ms in before}
        assert again and again == {t: before[t] for t in again}  # minute for minute


def test_live_prints_build_exactly_the_bars_a_later_history_returns() -> None:
    sim = make(history_days=0)
    ticks = sim.advance(START + 6 * MINUTE)
    restarted = make(START + 6 * MINUTE, history_days=1).history()
    first_full = START - START % MINUTE + MINUTE
    for sym in DEFAULT_SYMBOLS:
        live = {m: v for m, v in fold(ticks, sym).items() if first_full <= m < START + 5 * MINUTE}
        hist = {
            b.start_ms: (b.open, b.high, b.low, b.close, b.volume, b.trades)
            for b in restarted[sym]
            if b.start_ms in live
        }
        assert len(live) == 5 and hist == live


def test_the_start_minute_is_split_between_history_and_live() -> None:
    sim = make(history_days=1)
    partial = sim.history()["SPY"][-1]
    assert partial.start_ms == START - START % MINUTE
    live = fold(sim.advance(START + MINUTE), "SPY")[partial.start_ms]
    whole = make(START + 2 * MINUTE, history_days=1).history()["SPY"]
    [full] = [b for b in whole if b.start_ms == partial.start_ms]
    assert full.trades == partial.trades + live[5]
    assert full.volume == partial.volume + live[4]
    assert (full.open, full.close) == (partial.open, live[3])


# -- market hours -------------------------------------------------------------------------------

THANKSGIVING_2025 = datetime(2025, 11, 27, 12, 0, tzinfo=NY)  # NYSE closed
BLACK_FRIDAY_2025 = datetime(2025, 11, 28, 9, 0, tzinfo=NY)  # NYSE closes at 13:00


def test_the_index_keeps_nyse_hours_holidays_and_early_closes() -> None:
    def at(when: datetime) -> int:
        return int(when.timestamp() * 1000)

    # The day after Thanksgiving, from 09:00 to 17:00: index bars 09:30-12:59 only.
    friday = make(at(BLACK_FRIDAY_2025) + 8 * 3_600_000, history_days=1).history()["I:SPX"]
    local = [datetime.fromtimestamp(b.start_ms / 1000, tz=NY) for b in friday]
    on_friday = [t for t in local if t.date() == BLACK_FRIDAY_2025.date()]
    assert on_friday[0].time() == time(9, 30) and on_friday[-1].time() == time(12, 59)
    assert len(on_friday) == 210
    # Thanksgiving itself: no index bars at all (SPY still prints, quietly).
    thursday = make(at(THANKSGIVING_2025), history_days=1).history()
    assert not [
        b for b in thursday["I:SPX"] if b.start_ms >= at(THANKSGIVING_2025) - 12 * 3_600_000
    ]
    # From Wednesday 00:00 (the previous session's day) to Thursday 12:00, minute-aligned.
    assert len(thursday["SPY"]) == 1440 + 720
    # No live index prints outside the session; stocks keep printing.
    evening = at(BLACK_FRIDAY_2025) + 5 * 3_600_000  # 14:00
    ticks = make(evening).advance(evening + 10 * MINUTE)
    assert trades_of(ticks, "I:SPX") == [] and trades_of(ticks, "SPY")


def test_the_last_index_value_is_the_last_session_close() -> None:
    sim = make(WEEKEND_START, history_days=2)  # Saturday 03:00
    bars = sim.history()["I:SPX"]
    last = datetime.fromtimestamp(bars[-1].start_ms / 1000, tz=NY)
    assert (last.weekday(), last.time()) == (4, time(15, 59))  # Friday's final minute
    assert sim.last_price("I:SPX") == bars[-1].close


def test_market_hours_never_change_the_minutes_that_trade() -> None:
    exchange, always = make(history_days=1), make(history_days=1, hours="always")
    a = {b.start_ms: b for b in always.history()["I:SPX"]}
    e = exchange.history()["I:SPX"]
    assert e and all(a[b.start_ms] == b for b in e)
    assert len(a) == 1440 + 10 * 60 + 37 + 1 > len(e)  # from Wednesday 00:00 to the start
    assert exchange.history()["SPY"] == always.history()["SPY"]


def test_burst_stamping_never_moves_a_tick_into_a_later_minute() -> None:
    from spotlight.market.simulated_source import _stamp

    late = Trade("SPY", 60_000 * 10 + 59_950, 600.0, 100.0)
    next_burst, same_minute = _stamp(late, 60_000 * 11 + 50), _stamp(late, 60_000 * 10 + 59_990)
    assert isinstance(next_burst, Trade) and isinstance(same_minute, Trade)
    assert next_burst.ts_ms == 60_000 * 10 + 59_999  # capped at the end of its own minute
    assert same_minute.ts_ms == 60_000 * 10 + 59_990


def test_next_tick_ms_is_when_advance_next_returns_something() -> None:
    sim = make()
    due = sim.next_tick_ms()
    assert START <= due < START + 5_000
    assert sim.advance(int(due) - 1) == []
    first = sim.advance(int(due))
    assert first and first[0].ts_ms == int(due)
    # An index alone on a Saturday: nothing prints soon.
    alone = make(WEEKEND_START, symbols=("I:SPX",))
    assert alone.next_tick_ms() == math.inf
