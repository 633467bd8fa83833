"""Days that were not recorded are rebuilt from 1-minute bars: every bar comes back exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import SourceStatus
from spotlight.engine.pipeline import Pipeline
from spotlight.hub.epoch import Epoch
from spotlight.hub.history import History
from spotlight.hub.hub import Hub
from spotlight.replay.items import AnalyticsStep, BarItems, SegmentState, TickBatch, bar_prints

T0 = 1_795_000_020_000 - 1_795_000_020_000 % 60_000


@st.composite
def bar_lists(draw: st.DrawFn) -> list[Bar]:
    bars = []
    t = T0
    for _ in range(draw(st.integers(1, 12))):
        t += 60_000 * draw(st.integers(1, 3))  # gaps: minutes with no bar are not invented
        o, c = draw(st.floats(100, 200)), draw(st.floats(100, 200))
        h = max(o, c) + draw(st.floats(0, 5))
        lo = min(o, c) - draw(st.floats(0, 5))
        v = float(draw(st.integers(0, 10**6)))
        bars.append(Bar("SPY", "1m", t, o, h, lo, c, v, 4))
    return bars


@given(bar_lists())
def test_prints_rebuild_every_bar_exactly(bars: list[Bar]) -> None:
    pipeline = Pipeline("t", Hub(Epoch.new(0), History(100_000, 1e9), lambda: 0.0), ["SPY"], 10_000)
    for bar in bars:
        pipeline.ingest(bar_prints(bar))
    assert pipeline.bars["SPY"].history("1m", 1000) == bars


def test_bar_items_carry_history_status_and_analytics_cadence() -> None:
    history = [Bar("SPY", "1m", T0 - 60_000 * i, 1, 2, 0.5, 1.5, 4, 4) for i in (2, 1)]
    in_range = [Bar("SPY", "1m", T0 + 60_000 * i, 1, 2, 0.5, 1.5, 4, 4) for i in range(3)]
    status = SourceStatus("simulated", "replay", "rebuilt", (), T0)
    items = [
        i
        for chunk in BarItems({"SPY": history + in_range}, T0, T0 + 180_000, status, 30)
        for i in chunk
    ]
    first = items[0]
    assert isinstance(first, SegmentState) and [b.start_ms for b in first.bars["SPY"]] == [
        b.start_ms for b in history
    ]
    assert isinstance(items[1], TickBatch) and items[1].ticks == [status]
    times = [i.t_ms for i in items[1:]]
    assert times == sorted(times)
    steps = [i.t_ms for i in items if isinstance(i, AnalyticsStep)]
    assert steps == [T0 + 30_000 * k for k in range(1, 6)]
    assert sum(len(i.ticks) for i in items[2:] if isinstance(i, TickBatch)) == 12
    assert not BarItems({"SPY": history}, T0, T0 + 180_000, status, 30).has_data()
