"""Properties of candles and rollups (spotlight.domain.bars).

(c) The 1-minute bars equal a plain group-by-minute of the non-stale ticks; stale ticks are
    counted exactly.
(d) Every higher-timeframe bar equals the direct aggregation of its 1-minute bars: the
    in-progress bar after every tick, every closed bar, and history() at any page.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from hypo import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from spotlight.domain.bars import (
    TIMEFRAMES,
    Bar,
    bucket_start,
    rollup,
)
from spotlight.domain.nytime import NY
from spotlight.domain.symbol_bars import BarChange, SymbolBars
from spotlight.domain.ticks import Trade

SYMBOL = "AAPL"
MIN = 60_000
HOUR = 60 * MIN
BIG = 1_000_000


def ny_ms(y: int, mo: int, d: int, h: int) -> int:
    return int(datetime(y, mo, d, h, tzinfo=NY).timestamp() * 1000)


# Evenings before both 2025 DST changes (so multi-hour jumps cross them), plus an
# ordinary summer morning.
ANCHORS = [ny_ms(2025, 3, 8, 20), ny_ms(2025, 11, 1, 20), ny_ms(2025, 6, 16, 9)]


# --- reference ------------------------------------------------------------------------


def reference_minutes(trades: list[Trade]) -> tuple[list[Bar], int]:
    """Group the non-stale ticks by minute. A tick is stale when its minute is earlier
    than the minute of some tick before it."""
    kept: list[Trade] = []
    stale = 0
    newest_minute: int | None = None
    for t in trades:
        minute = t.ts_ms // MIN * MIN
        if newest_minute is not None and minute < newest_minute:
            stale += 1
            continue
        newest_minute = minute
        kept.append(t)
    groups: dict[int, list[Trade]] = defaultdict(list)
    for t in kept:
        groups[t.ts_ms // MIN * MIN].append(t)
    bars = [
        Bar(
            SYMBOL,
            "1m",
            minute,
            ticks[0].price,
            max(t.price for t in ticks),
            min(t.price for t in ticks),
            ticks[-1].price,
            sum(t.size for t in ticks),
            len(ticks),
        )
        for minute, ticks in sorted(groups.items())
    ]
    return bars, stale


def reference_rollup(minutes: list[Bar], tf: str) -> list[Bar]:
    """Direct aggregation by bucket, written independently of bars.rollup."""
    groups: dict[int, list[Bar]] = defaultdict(list)
    for bar in minutes:
        groups[bucket_start(bar.start_ms, tf)].append(bar)
    out = []
    for start, group in sorted(groups.items()):
        volume = 0.0
        for bar in group:
            volume += bar.volume
        out.append(
            Bar(
                SYMBOL,
                tf,
                start,
                group[0].open,
                max(b.high for b in group),
                min(b.low for b in group),
                group[-1].close,
                volume,
                sum(b.trades for b in group),
            )
        )
    return out


# --- strategies -----------------------------------------------------------------------

small_step = st.integers(0, 20_000)  # same or next minute
minute_jump = st.integers(0, 7 * MIN)  # skips some minutes
hour_jump = st.integers(0, 3 * HOUR)  # crosses higher buckets
day_jump = st.integers(20 * HOUR, 30 * HOUR)  # crosses New York midnight
backwards = st.integers(-3 * MIN, -1)  # out of order: sometimes stale, sometimes not

prices = st.integers(1, 40_000).map(lambda cents: cents / 100)
sizes = st.sampled_from([0.0, 1.0, 100.0, 250.0])


@st.composite
def trade_streams(draw: st.DrawFn, *, days: bool) -> list[Trade]:
    start = draw(st.sampled_from(ANCHORS)) + draw(st.integers(0, 2 * HOUR))
    steps = [small_step, small_step, minute_jump, backwards]
    if days:
        steps += [hour_jump, day_jump]
    deltas = draw(st.lists(st.one_of(*steps), min_size=1, max_size=60))
    trades = []
    ts = start
    for delta in deltas:
        ts += delta
        trades.append(Trade(SYMBOL, ts, draw(prices), draw(sizes)))
    return trades


def check_change_order(changes: list[BarChange]) -> None:
    kinds = [kind for kind, _ in changes]
    n_close = kinds.count("close")
    assert kinds == ["close"] * n_close + ["update"] * len(TIMEFRAMES)
    close_tfs = [bar.timeframe for _, bar in changes[:n_close]]
    assert close_tfs == [tf for tf in TIMEFRAMES if tf in close_tfs]
    assert [bar.timeframe for _, bar in changes[n_close:]] == list(TIMEFRAMES)


# --- (c) candle rules -------------------------------------------------------------------


@settings(max_examples=examples(200), deadline=None)
@given(trades=trade_streams(days=False), max_minutes=st.sampled_from([1, 3, BIG]))
def test_minute_bars_match_group_by_minute(trades: list[Trade], max_minutes: int) -> None:
    expected, expected_stale = reference_minutes(trades)
    book = SymbolBars(SYMBOL, max_minutes)
    closed: list[Bar] = []
    stale_seen = 0
    for t in trades:
        changes = book.apply(t)
        if not changes:
            stale_seen += 1
            continue
        check_change_order(changes)
        closed += [bar for kind, bar in changes if kind == "close" and bar.timeframe == "1m"]
    assert book.stale_ticks == expected_stale == stale_seen
    latest = book.latest("1m")
    assert latest is not None
    assert [*closed, latest] == expected
    assert book.history("1m", BIG) == expected[-max_minutes:]
    assert book.minute_count == min(len(expected), max_minutes)


# --- (d) rollups ----------------------------------------------------------------------


@settings(max_examples=examples(150), deadline=None)
@given(trades=trade_streams(days=True), data=st.data())
def test_every_rollup_is_the_aggregation_of_its_minutes(
    trades: list[Trade], data: st.DataObject
) -> None:
    book = SymbolBars(SYMBOL, BIG)
    closed: dict[str, list[Bar]] = {tf: [] for tf in TIMEFRAMES}
    for i, t in enumerate(trades):
        changes = book.apply(t)
        for kind, bar in changes:
            if kind == "close":
                closed[bar.timeframe].append(bar)
        minutes, _ = reference_minutes(trades[: i + 1])
        for tf in TIMEFRAMES:
            live = book.latest(tf)
            assert live is not None
            bucket = bucket_start(minutes[-1].start_ms, tf)
            in_bucket = [m for m in minutes if bucket_start(m.start_ms, tf) == bucket]
            assert [live] == rollup(in_bucket, tf) == reference_rollup(in_bucket, tf)
            if changes:
                assert (("update", live)) in changes

    minutes, _ = reference_minutes(trades)
    for tf in TIMEFRAMES:
        full = reference_rollup(minutes, tf)
        assert rollup(minutes, tf) == full
        assert [*closed[tf], book.latest(tf)] == full
        assert book.history(tf, BIG) == full
        # Any page: the newest `limit` bars starting before `before`.
        limit = data.draw(st.integers(0, len(full) + 1), label=f"limit {tf}")
        before = data.draw(
            st.one_of(
                st.none(),
                st.sampled_from([bar.start_ms for bar in full]),
                st.integers(minutes[0].start_ms - HOUR, minutes[-1].start_ms + HOUR),
            ),
            label=f"before {tf}",
        )
        eligible = [bar for bar in full if before is None or bar.start_ms < before]
        expected_page = eligible[max(0, len(eligible) - limit) :] if limit else []
        assert book.history(tf, limit, before) == expected_page


@settings(max_examples=examples(100), deadline=None)
@given(
    trades=trade_streams(days=True), split=st.integers(0, 60), max_minutes=st.sampled_from([2, BIG])
)
def test_load_history_then_live_equals_live_only(
    trades: list[Trade], split: int, max_minutes: int
) -> None:
    """Seeding with the 1m bars of a prefix, then applying the rest, gives the same bars
    as applying every tick live (the seeded last minute is still open to updates)."""
    live_book = SymbolBars(SYMBOL, max_minutes)
    for t in trades:
        live_book.apply(t)
    prefix, rest = trades[:split], trades[split:]
    seeded, _ = reference_minutes(prefix)
    book = SymbolBars(SYMBOL, max_minutes)
    book.load_history(seeded)
    for t in rest:
        book.apply(t)
    for tf in TIMEFRAMES:
        assert book.latest(tf) == live_book.latest(tf)
        assert book.history(tf, BIG) == live_book.history(tf, BIG)
    _, stale_rest = reference_minutes(trades)
    _, stale_prefix = reference_minutes(prefix)
    assert book.stale_ticks == stale_rest - stale_prefix
