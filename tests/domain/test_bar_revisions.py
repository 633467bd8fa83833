"""Late revisions of closed 1-minute bars (Massive re-publishes bars for late prints)."""

from __future__ import annotations

from hypo import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from spotlight.domain.bars import TIMEFRAMES, Bar, bucket_start, rollup
from spotlight.domain.symbol_bars import SymbolBars
from spotlight.domain.ticks import Trade

T0 = 1_766_154_600_000  # 2025-12-19 09:30 ET, a 5-minute and 30-minute boundary
M = 60_000


def minute(i: int, c: float, v: float = 100.0) -> Bar:
    return Bar("SPY", "1m", T0 + i * M, c - 0.1, c + 0.2, c - 0.3, c, v, 3)


def loaded(n: int) -> SymbolBars:
    sb = SymbolBars("SPY", 1000)
    sb.load_history([minute(i, 600 + i) for i in range(n)])
    return sb


def test_revision_replaces_a_closed_minute_and_corrects_its_rollups() -> None:
    sb = loaded(8)  # 09:30..09:37; 09:37 is in progress
    fixed = minute(2, 601.5, v=999.0)
    changes = sb.revise(fixed)
    assert changes[0] == ("close", fixed)
    closes = {b.timeframe: b for kind, b in changes if kind == "close"}
    updates = {b.timeframe: b for kind, b in changes if kind == "update"}
    # 09:32 sits in the closed 09:30-09:35 five-minute bucket: corrected as a close.
    assert closes["5m"].start_ms == T0 and closes["5m"].volume == 4 * 100.0 + 999.0
    # ...and in the current 15m/30m/1h/1d buckets: corrected in-progress bars.
    assert set(updates) == {"15m", "30m", "1h", "1d"}
    minutes = sb.history("1m", 1000)
    assert minutes[2] == fixed
    for tf in TIMEFRAMES[1:]:
        assert sb.history(tf, 1000) == rollup(minutes, tf)
        assert sb.latest(tf) == rollup(minutes, tf)[-1]


def test_identical_in_progress_or_unknown_revisions_change_nothing() -> None:
    sb = loaded(5)
    assert sb.revise(minute(1, 601)) == []  # identical
    assert sb.revise(minute(4, 123)) == []  # in progress here: kept for its close (below)
    assert sb.revise(minute(9, 123)) == []  # the future: kept too, nothing changes now
    assert SymbolBars("SPY", 10).revise(minute(0, 1)) == []  # nothing yet


def test_a_missing_minute_is_inserted_in_order() -> None:
    sb = SymbolBars("SPY", 1000)
    sb.load_history([minute(0, 600), minute(2, 602), minute(3, 603)])
    sb.revise(minute(1, 601))
    assert [b.start_ms for b in sb.history("1m", 10)] == [T0 + i * M for i in range(4)]


def test_live_ticks_continue_on_top_of_a_revision() -> None:
    sb = loaded(3)
    sb.revise(minute(0, 590.0, v=50.0))
    sb.apply(Trade("SPY", T0 + 2 * M + 5_000, 610.0, 10.0))
    minutes = sb.history("1m", 10)
    assert sb.latest("5m") == rollup(minutes, "5m")[-1]
    assert sb.latest("5m") is not None and sb.latest("5m").low == 589.7  # type: ignore[union-attr]


@settings(max_examples=examples(100), deadline=None)
@given(
    n=st.integers(3, 120),
    revisions=st.lists(
        st.tuples(st.integers(0, 130), st.floats(500, 700), st.floats(0, 1e4)), max_size=20
    ),
)
def test_rollups_equal_aggregation_after_any_revisions(
    n: int, revisions: list[tuple[int, float, float]]
) -> None:
    sb = loaded(n)
    for i, c, v in revisions:
        for kind, bar in sb.revise(minute(i, c, v)):
            if kind == "close" and bar.timeframe != "1m":
                start = bar.start_ms
                members = [
                    b
                    for b in sb.history("1m", 10_000)
                    if bucket_start(b.start_ms, bar.timeframe) == start
                ]
                assert bar == rollup(members, bar.timeframe)[0]
    minutes = sb.history("1m", 10_000)
    assert [b.start_ms for b in minutes] == sorted({b.start_ms for b in minutes})
    for tf in TIMEFRAMES[1:]:
        assert sb.history(tf, 10_000) == rollup(minutes, tf)


def test_a_revision_that_arrives_before_our_minute_closes_is_what_closes() -> None:
    # The source saw 09:34 close (and sent its bar) before our next tick arrived.
    sb = loaded(5)  # 09:34 is in progress here
    theirs = minute(4, 604.5, v=777.0)
    assert sb.revise(theirs) == []
    sb.apply(Trade("SPY", T0 + 4 * M + 50_000, 604.9, 1.0))  # a late tick in 09:34 still folds
    changes = sb.apply(Trade("SPY", T0 + 5 * M + 1_000, 605.0, 1.0))  # 09:35 opens
    assert changes[0] == ("close", theirs)
    assert sb.history("1m", 10)[-2] == theirs
    closes = {b.timeframe: b for kind, b in changes if kind == "close"}
    assert closes["5m"] == rollup(sb.history("1m", 10)[:-1], "5m")[-1]
