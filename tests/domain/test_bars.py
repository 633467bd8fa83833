"""Worked examples for the candle rules, exchange-time alignment and history paging."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from spotlight.domain.bars import (
    TIMEFRAMES,
    Bar,
    UnknownTimeframe,
    bucket_start,
    merge,
    parse_timeframe,
    rollup,
)
from spotlight.domain.nytime import NY
from spotlight.domain.symbol_bars import BarChange, SymbolBars
from spotlight.domain.ticks import Trade

MIN = 60_000
HOUR = 60 * MIN


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Unix ms of a UTC wall time."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp() * 1000)


def ny(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Unix ms of a New York wall time (first occurrence when ambiguous)."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=NY).timestamp() * 1000)


def trade(ts_ms: int, price: float, size: float = 100.0, symbol: str = "AAPL") -> Trade:
    return Trade(symbol, ts_ms, price, size)


def minute_bar(start_ms: int, o: float, h: float, lo: float, c: float, v: float = 10.0) -> Bar:
    return Bar("AAPL", "1m", start_ms, o, h, lo, c, v, 1)


def closes(changes: list[BarChange]) -> list[Bar]:
    return [bar for kind, bar in changes if kind == "close"]


def updates(changes: list[BarChange]) -> list[Bar]:
    return [bar for kind, bar in changes if kind == "update"]


# --- timeframes -----------------------------------------------------------------------


def test_parse_timeframe_accepts_every_timeframe() -> None:
    for tf in TIMEFRAMES:
        assert parse_timeframe(tf) == tf


@pytest.mark.parametrize("bad", ["", "2m", "1M", "1H", "1w", " 1m", "60"])
def test_parse_timeframe_rejects_and_lists_valid(bad: str) -> None:
    with pytest.raises(UnknownTimeframe) as info:
        parse_timeframe(bad)
    message = str(info.value)
    assert repr(bad) in message
    for tf in TIMEFRAMES:
        assert tf in message
    assert isinstance(info.value, ValueError)


def test_unknown_timeframe_everywhere() -> None:
    book = SymbolBars("AAPL", 10)
    with pytest.raises(UnknownTimeframe):
        bucket_start(0, "2h")
    with pytest.raises(UnknownTimeframe):
        rollup([], "1w")
    with pytest.raises(UnknownTimeframe):
        book.latest("1w")
    with pytest.raises(UnknownTimeframe):
        book.history("1w", 5)


# --- bucket alignment -----------------------------------------------------------------


def test_bucket_start_intraday_alignment() -> None:
    ts = ny(2025, 6, 16, 10, 47, 31) + 250
    assert bucket_start(ts, "1m") == ny(2025, 6, 16, 10, 47)
    assert bucket_start(ts, "5m") == ny(2025, 6, 16, 10, 45)
    assert bucket_start(ts, "15m") == ny(2025, 6, 16, 10, 45)
    assert bucket_start(ts, "30m") == ny(2025, 6, 16, 10, 30)
    assert bucket_start(ts, "1h") == ny(2025, 6, 16, 10, 0)
    assert bucket_start(ts, "1d") == ny(2025, 6, 16)
    # Exact boundaries belong to the bucket they start.
    assert bucket_start(ny(2025, 6, 16, 11), "1h") == ny(2025, 6, 16, 11)
    assert bucket_start(ny(2025, 6, 16, 11) - 1, "1h") == ny(2025, 6, 16, 10)


def test_bucket_start_daily_is_new_york_midnight() -> None:
    # Summer (EDT, UTC-4) and winter (EST, UTC-5) midnights, as Unix ms.
    assert bucket_start(utc(2025, 6, 16, 14, 0), "1d") == utc(2025, 6, 16, 4, 0)
    assert bucket_start(utc(2025, 1, 15, 14, 0), "1d") == utc(2025, 1, 15, 5, 0)
    assert bucket_start(utc(2025, 1, 15, 5, 0), "1d") == utc(2025, 1, 15, 5, 0)
    assert bucket_start(utc(2025, 1, 15, 5, 0) - 1, "1d") == utc(2025, 1, 14, 5, 0)


def test_bucket_start_daily_near_utc_midnight() -> None:
    # 02:00 UTC on the 15th is 22:00 on the 14th in New York: the NY date wins.
    assert bucket_start(utc(2025, 6, 15, 2, 0), "1d") == utc(2025, 6, 14, 4, 0)
    # 23:59 UTC on the 14th is 19:59 on the 14th in New York: same session day.
    assert bucket_start(utc(2025, 6, 14, 23, 59), "1d") == utc(2025, 6, 14, 4, 0)
    # New Year's Eve: 03:00 UTC on Jan 1 is still Dec 31 in New York.
    assert bucket_start(utc(2025, 1, 1, 3, 0), "1d") == utc(2024, 12, 31, 5, 0)
    # The hourly bucket is still the UTC hour (NY offsets are whole hours).
    assert bucket_start(utc(2025, 6, 15, 2, 30), "1h") == utc(2025, 6, 15, 2, 0)


def test_bucket_start_spring_forward_day_is_23_hours() -> None:
    # 2025-03-09: 02:00 EST jumps to 03:00 EDT.
    day = utc(2025, 3, 9, 5, 0)  # midnight EST
    next_day = utc(2025, 3, 10, 4, 0)  # midnight EDT
    assert next_day - day == 23 * HOUR
    assert bucket_start(day, "1d") == day
    assert bucket_start(next_day - 1, "1d") == day
    assert bucket_start(next_day, "1d") == next_day
    # Just before and after the jump: 01:59 EST and 03:00 EDT are one minute apart.
    before = ny(2025, 3, 9, 1, 59)
    after = ny(2025, 3, 9, 3, 0)
    assert after - before == MIN
    assert bucket_start(before, "1h") == ny(2025, 3, 9, 1, 0)
    assert bucket_start(after, "1h") == ny(2025, 3, 9, 3, 0)
    assert bucket_start(after + 20 * MIN, "30m") == ny(2025, 3, 9, 3, 0)
    assert bucket_start(before, "1d") == bucket_start(after, "1d") == day


def test_bucket_start_fall_back_day_is_25_hours() -> None:
    # 2025-11-02: 02:00 EDT falls back to 01:00 EST, so 01:xx happens twice.
    day = utc(2025, 11, 2, 4, 0)  # midnight EDT
    next_day = utc(2025, 11, 3, 5, 0)  # midnight EST
    assert next_day - day == 25 * HOUR
    assert bucket_start(day, "1d") == day
    assert bucket_start(next_day - 1, "1d") == day
    assert bucket_start(next_day, "1d") == next_day
    first_130 = utc(2025, 11, 2, 5, 30)  # 01:30 EDT
    second_130 = utc(2025, 11, 2, 6, 30)  # 01:30 EST
    # Two distinct hourly bars that both read "01:00" on a New York clock.
    assert bucket_start(first_130, "1h") == utc(2025, 11, 2, 5, 0)
    assert bucket_start(second_130, "1h") == utc(2025, 11, 2, 6, 0)
    assert bucket_start(second_130 + 14 * MIN, "15m") == utc(2025, 11, 2, 6, 30)
    assert bucket_start(first_130, "1d") == bucket_start(second_130, "1d") == day


def test_bucket_start_matches_wall_clock_floor_over_a_year() -> None:
    # Every 37 minutes through 2025 (both DST changes): compare with zoneinfo directly.
    t = utc(2025, 1, 1, 0, 0)
    end = utc(2026, 1, 1, 0, 0)
    while t < end:
        local = datetime.fromtimestamp(t / 1000, NY)
        midnight = datetime(local.year, local.month, local.day, tzinfo=NY)
        assert bucket_start(t, "1d") == int(midnight.timestamp() * 1000)
        floored = local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)
        assert bucket_start(t, "15m") == int(floored.timestamp() * 1000)
        t += 37 * MIN + 1234


# --- Bar, merge, rollup ---------------------------------------------------------------


def test_bar_to_json() -> None:
    bar = Bar("AAPL", "5m", 1_000, 1.0, 2.0, 0.5, 1.5, 300.0, 3)
    assert bar.to_json() == {
        "s": "AAPL",
        "tf": "5m",
        "t": 1_000,
        "o": 1.0,
        "h": 2.0,
        "l": 0.5,
        "c": 1.5,
        "v": 300.0,
        "n": 3,
    }


def test_merge_keeps_identity_and_open_of_the_first() -> None:
    a = Bar("AAPL", "5m", 0, 10.0, 11.0, 9.0, 10.5, 100.0, 2)
    b = Bar("AAPL", "1m", MIN, 10.4, 12.0, 9.5, 11.5, 50.0, 3)
    assert merge(a, b) == Bar("AAPL", "5m", 0, 10.0, 12.0, 9.0, 11.5, 150.0, 5)


def test_rollup_aggregates_and_skips_empty_buckets() -> None:
    t0 = ny(2025, 6, 16, 9, 30)
    bars = [
        minute_bar(t0, 10, 11, 9, 10.5),
        minute_bar(t0 + 1 * MIN, 10.5, 12, 10, 11),
        minute_bar(t0 + 4 * MIN, 11, 11.5, 8, 9),
        # 9:35-9:44 empty; 9:45 bucket
        minute_bar(t0 + 15 * MIN, 9, 9.5, 8.5, 9.2),
    ]
    assert rollup(bars, "1m") == bars
    assert rollup(bars, "5m") == [
        Bar("AAPL", "5m", t0, 10, 12, 8, 9, 30.0, 3),
        Bar("AAPL", "5m", t0 + 15 * MIN, 9, 9.5, 8.5, 9.2, 10.0, 1),
    ]
    assert rollup(bars, "1h") == [Bar("AAPL", "1h", ny(2025, 6, 16, 9), 10, 12, 8, 9.2, 40.0, 4)]
    assert rollup([], "15m") == []


# --- candle rules ---------------------------------------------------------------------


def test_first_tick_opens_every_timeframe_with_updates_only() -> None:
    book = SymbolBars("AAPL", 100)
    assert book.latest("1m") is None
    t = ny(2025, 6, 16, 10, 47, 5)
    changes = book.apply(trade(t, 100.0, 50.0))
    assert [kind for kind, _ in changes] == ["update"] * len(TIMEFRAMES)
    assert [bar.timeframe for bar in updates(changes)] == list(TIMEFRAMES)
    for tf, bar in zip(TIMEFRAMES, updates(changes), strict=True):
        assert bar == Bar("AAPL", tf, bucket_start(t, tf), 100, 100, 100, 100, 50.0, 1)
        assert book.latest(tf) == bar
    assert book.minute_count == 1


def test_tick_in_same_minute_updates_the_bar() -> None:
    book = SymbolBars("AAPL", 100)
    t = ny(2025, 6, 16, 10, 47)
    book.apply(trade(t + 1_000, 100.0, 10))
    book.apply(trade(t + 2_000, 101.0, 20))
    changes = book.apply(trade(t + 59_999, 99.5, 5))
    assert closes(changes) == []
    expected = Bar("AAPL", "1m", t, 100.0, 101.0, 99.5, 99.5, 35.0, 3)
    assert updates(changes)[0] == expected
    assert book.latest("1m") == expected
    assert book.latest("5m") == Bar(
        "AAPL", "5m", ny(2025, 6, 16, 10, 45), 100, 101, 99.5, 99.5, 35, 3
    )
    assert book.minute_count == 1


def test_tick_in_later_minute_closes_and_opens() -> None:
    book = SymbolBars("AAPL", 100)
    t = ny(2025, 6, 16, 10, 47)
    book.apply(trade(t + 1_000, 100.0, 10))
    book.apply(trade(t + 2_000, 102.0, 10))
    changes = book.apply(trade(t + MIN, 101.0, 7))
    # 10:47 -> 10:48 stays inside every higher bucket, so only the minute closes.
    assert changes[0] == ("close", Bar("AAPL", "1m", t, 100, 102, 100, 102, 20, 2))
    assert closes(changes) == [changes[0][1]]
    assert updates(changes)[0] == Bar("AAPL", "1m", t + MIN, 101, 101, 101, 101, 7, 1)
    assert book.latest("15m") == Bar(
        "AAPL", "15m", ny(2025, 6, 16, 10, 45), 100, 102, 100, 101, 27, 3
    )
    assert book.minute_count == 2


def test_closes_cascade_in_timeframe_order_then_updates() -> None:
    book = SymbolBars("AAPL", 100)
    book.apply(trade(ny(2025, 6, 16, 10, 59, 30), 100.0))
    changes = book.apply(trade(ny(2025, 6, 16, 11, 0, 1), 101.0))
    kinds = [kind for kind, _ in changes]
    assert kinds == ["close"] * 5 + ["update"] * 6
    assert [bar.timeframe for bar in closes(changes)] == ["1m", "5m", "15m", "30m", "1h"]
    assert [bar.start_ms for bar in closes(changes)] == [
        ny(2025, 6, 16, 10, 59),
        ny(2025, 6, 16, 10, 55),
        ny(2025, 6, 16, 10, 45),
        ny(2025, 6, 16, 10, 30),
        ny(2025, 6, 16, 10, 0),
    ]
    assert [bar.timeframe for bar in updates(changes)] == list(TIMEFRAMES)
    assert all(
        bar.start_ms == bucket_start(ny(2025, 6, 16, 11), bar.timeframe) for bar in updates(changes)
    )


def test_skipped_minutes_are_not_invented() -> None:
    book = SymbolBars("AAPL", 100)
    t = ny(2025, 6, 16, 10, 0)
    book.apply(trade(t + 10_000, 100.0))
    changes = book.apply(trade(t + 7 * MIN + 10_000, 105.0))
    assert [bar.start_ms for bar in closes(changes) if bar.timeframe == "1m"] == [t]
    assert [bar.timeframe for bar in closes(changes)] == ["1m", "5m"]
    assert book.minute_count == 2
    assert [bar.start_ms for bar in book.history("1m", 100)] == [t, t + 7 * MIN]
    assert [bar.start_ms for bar in book.history("5m", 100)] == [t, t + 5 * MIN]


def test_stale_tick_is_ignored_and_counted() -> None:
    book = SymbolBars("AAPL", 100)
    t = ny(2025, 6, 16, 10, 0)
    book.apply(trade(t + 10_000, 100.0))
    book.apply(trade(t + MIN + 10_000, 101.0))
    before = {tf: book.latest(tf) for tf in TIMEFRAMES}
    assert book.apply(trade(t + 59_999, 500.0)) == []
    assert book.apply(trade(t - HOUR, 1.0)) == []
    assert book.stale_ticks == 2
    assert {tf: book.latest(tf) for tf in TIMEFRAMES} == before
    # Out of order inside the current minute is fine: it is not stale.
    book.apply(trade(t + MIN + 5_000, 99.0))
    assert book.stale_ticks == 2
    latest = book.latest("1m")
    assert latest is not None
    assert (latest.low, latest.close, latest.trades) == (99.0, 99.0, 2)


def test_daily_bar_updates_in_place_and_closes_at_new_york_midnight() -> None:
    book = SymbolBars("AAPL", 3_000)
    day = ny(2025, 6, 16)
    book.apply(trade(ny(2025, 6, 16, 9, 30), 100.0, 10))
    book.apply(trade(ny(2025, 6, 16, 12, 0), 110.0, 10))
    changes = book.apply(trade(ny(2025, 6, 16, 23, 59, 59), 90.0, 10))
    assert "1d" not in [bar.timeframe for bar in closes(changes)]
    daily = Bar("AAPL", "1d", day, 100, 110, 90, 90, 30, 3)
    assert updates(changes)[-1] == daily
    assert book.latest("1d") == daily
    # Midnight in New York is 04:00 UTC in June: the date change closes the daily bar.
    changes = book.apply(trade(utc(2025, 6, 17, 4, 0), 95.0, 1))
    assert [bar.timeframe for bar in closes(changes)] == list(TIMEFRAMES)
    assert closes(changes)[-1] == daily
    assert book.latest("1d") == Bar("AAPL", "1d", utc(2025, 6, 17, 4, 0), 95, 95, 95, 95, 1, 1)
    assert book.history("1d", 10) == [daily, book.latest("1d")]


def test_daily_bar_spans_utc_midnight() -> None:
    book = SymbolBars("AAPL", 3_000)
    book.apply(trade(utc(2025, 6, 16, 23, 50), 100.0))  # 19:50 NY
    changes = book.apply(trade(utc(2025, 6, 17, 0, 10), 101.0))  # 20:10 NY, same NY day
    assert "1d" not in [bar.timeframe for bar in closes(changes)]
    assert book.latest("1d") == Bar("AAPL", "1d", utc(2025, 6, 16, 4), 100, 101, 100, 101, 200, 2)


def test_index_bars_have_zero_volume() -> None:
    book = SymbolBars("I:SPX", 100)
    t = ny(2025, 6, 16, 10, 0)
    for i, price in enumerate([5000.0, 5003.5, 4998.25, 5001.0]):
        book.apply(Trade("I:SPX", t + i * 30_000, price, 0.0))
    for tf in TIMEFRAMES:
        bar = book.latest(tf)
        assert bar is not None
        assert bar.volume == 0.0
    assert book.history("1m", 10) == [
        Bar("I:SPX", "1m", t, 5000.0, 5003.5, 5000.0, 5003.5, 0.0, 2),
        Bar("I:SPX", "1m", t + MIN, 4998.25, 5001.0, 4998.25, 5001.0, 0.0, 2),
    ]


def test_trade_for_another_symbol_is_rejected() -> None:
    with pytest.raises(ValueError, match="MSFT"):
        SymbolBars("AAPL", 10).apply(trade(0, 1.0, symbol="MSFT"))


# --- history, buffer, load_history ------------------------------------------------------


def fill(book: SymbolBars, start: int, minutes: int) -> None:
    """One trade per minute, price = minute index."""
    for i in range(minutes):
        book.apply(trade(start + i * MIN + 1, float(i), 1.0))


def test_history_paging_with_limit_and_before() -> None:
    book = SymbolBars("AAPL", 1_000)
    t0 = ny(2025, 6, 16, 9, 30)
    fill(book, t0, 60)  # 9:30..10:29, minute 59 in progress
    assert book.history("1m", 0) == []
    page = book.history("1m", 3)
    assert [bar.start_ms for bar in page] == [t0 + 57 * MIN, t0 + 58 * MIN, t0 + 59 * MIN]
    assert page[-1] == book.latest("1m")  # the in-progress bar is included
    older = book.history("1m", 3, before_ms=page[0].start_ms)
    assert [bar.start_ms for bar in older] == [t0 + 54 * MIN, t0 + 55 * MIN, t0 + 56 * MIN]
    # 5m: 12 buckets, 9:30..10:25.
    five = book.history("5m", 5)
    assert [bar.start_ms for bar in five] == [t0 + k * 5 * MIN for k in range(7, 12)]
    assert five[-1] == book.latest("5m")
    assert five[0] == Bar("AAPL", "5m", t0 + 35 * MIN, 35, 39, 35, 39, 5.0, 5)
    older5 = book.history("5m", 5, before_ms=five[0].start_ms)
    assert [bar.start_ms for bar in older5] == [t0 + k * 5 * MIN for k in range(2, 7)]
    # An unaligned before_ms keeps the bucket that starts before it, in full.
    mid = book.history("5m", 1, before_ms=t0 + 7 * MIN)
    assert mid == [Bar("AAPL", "5m", t0 + 5 * MIN, 5, 9, 5, 9, 5.0, 5)]
    # Asking past the start of the buffer returns what exists; before the buffer, nothing.
    assert len(book.history("5m", 1_000)) == 12
    assert book.history("5m", 10, before_ms=t0) == []
    # 1h buckets: 9:00 (9:30..9:59) and 10:00 (10:00..10:29).
    assert book.history("1h", 10) == rollup(book.history("1m", 1_000), "1h")
    assert [bar.trades for bar in book.history("1h", 10)] == [30, 30]


def test_history_is_rollup_of_buffer_for_every_timeframe() -> None:
    book = SymbolBars("AAPL", 10_000)
    fill(book, ny(2025, 11, 1, 20, 0), 3 * 24 * 60)  # across the 2025-11-02 fall back
    minutes = book.history("1m", 10_000)
    assert len(minutes) == 3 * 24 * 60
    for tf in TIMEFRAMES:
        full = rollup(minutes, tf)
        assert book.history(tf, 10_000) == full
        assert book.history(tf, 3) == full[-3:]
    days = book.history("1d", 10)
    assert [bar.start_ms for bar in days] == [
        ny(2025, 11, 1),
        ny(2025, 11, 2),
        ny(2025, 11, 3),
        ny(2025, 11, 4),
    ]
    assert [bar.trades for bar in days] == [4 * 60, 25 * 60, 24 * 60, 19 * 60]


def test_buffer_is_bounded_including_the_in_progress_minute() -> None:
    book = SymbolBars("AAPL", 5)
    t0 = ny(2025, 6, 16, 10, 0)
    fill(book, t0, 12)
    assert book.minute_count == 5
    assert [bar.start_ms for bar in book.history("1m", 100)] == [t0 + i * MIN for i in range(7, 12)]
    # The live 1h bar still covers all 12 minutes; history's in-progress bar is that bar.
    live = book.latest("1h")
    assert live is not None
    assert live.trades == 12
    assert live.open == 0.0
    assert book.history("1h", 5) == [live]


def test_buffer_of_one_minute() -> None:
    book = SymbolBars("AAPL", 1)
    fill(book, ny(2025, 6, 16, 10, 0), 3)
    assert book.minute_count == 1
    assert book.history("1m", 5) == [book.latest("1m")]
    with pytest.raises(ValueError):
        SymbolBars("AAPL", 0)


def test_load_history_seeds_state() -> None:
    t0 = ny(2025, 6, 16, 10, 0)
    past = [minute_bar(t0 + i * MIN, 10 + i, 11 + i, 9 + i, 10.5 + i) for i in range(7)]
    book = SymbolBars("AAPL", 100)
    book.load_history(past)
    assert book.minute_count == 7
    assert book.history("1m", 100) == past
    assert book.latest("1m") == past[-1]
    assert book.latest("5m") == rollup(past[5:], "5m")[0]
    assert book.history("5m", 10) == rollup(past, "5m")
    # A tick in the last loaded minute updates it.
    changes = book.apply(trade(t0 + 6 * MIN + 30_000, 100.0, 1))
    assert closes(changes) == []
    assert book.latest("1m") == Bar("AAPL", "1m", t0 + 6 * MIN, 16, 100, 15, 100, 11, 2)
    # A tick older than the last loaded minute is stale.
    assert book.apply(trade(t0 + 5 * MIN, 1.0)) == []
    assert book.stale_ticks == 1
    # A tick in a later bucket closes the loaded bars.
    changes = book.apply(trade(t0 + 10 * MIN, 50.0, 1))
    assert [bar.timeframe for bar in closes(changes)] == ["1m", "5m"]
    assert closes(changes)[1] == rollup(book.history("1m", 100)[5:7], "5m")[0]
    assert book.history("5m", 10) == rollup(book.history("1m", 100), "5m")


def test_load_history_keeps_newest_but_aggregates_whole_bucket() -> None:
    t0 = ny(2025, 6, 16, 10, 0)
    past = [minute_bar(t0 + i * MIN, i, i + 1, i - 1, i + 0.5) for i in range(20)]
    book = SymbolBars("AAPL", 4)
    book.load_history(iter(past))
    assert book.history("1m", 100) == past[-4:]
    assert book.latest("1h") == rollup(past, "1h")[0]
    assert book.latest("15m") == rollup(past[15:], "15m")[0]


def test_load_history_validates() -> None:
    t0 = ny(2025, 6, 16, 10, 0)
    with pytest.raises(ValueError, match="strictly increasing"):
        SymbolBars("AAPL", 10).load_history(
            [minute_bar(t0 + MIN, 1, 1, 1, 1), minute_bar(t0, 1, 1, 1, 1)]
        )
    with pytest.raises(ValueError, match="minute"):
        SymbolBars("AAPL", 10).load_history([minute_bar(t0 + 1, 1, 1, 1, 1)])
    with pytest.raises(ValueError, match="MSFT"):
        SymbolBars("AAPL", 10).load_history([Bar("MSFT", "1m", t0, 1, 1, 1, 1, 1, 1)])
    with pytest.raises(ValueError, match="5m"):
        SymbolBars("AAPL", 10).load_history([Bar("AAPL", "5m", t0, 1, 1, 1, 1, 1, 1)])
    book = SymbolBars("AAPL", 10)
    book.load_history([])
    assert book.minute_count == 0
    book.apply(trade(t0, 1.0))
    with pytest.raises(RuntimeError):
        book.load_history([minute_bar(t0 - MIN, 1, 1, 1, 1)])
