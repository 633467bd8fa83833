"""The recorder actor and the store: segments per date and per run, retention, bounds,
and disk errors that are counted instead of taking the server down."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import trio

from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY
from spotlight.domain.ticks import Trade
from spotlight.recording.journal import read_journal
from spotlight.recording.recorder import Recorder, RecorderConfig, SegmentCapture
from spotlight.recording.store import RecordingStore
from spotlight.runtime.clock import TrioWallClock
from spotlight.runtime.tree import ActorNode

# 23:59:58 New York: the third second of the run is on the next exchange date.
BEFORE_MIDNIGHT = int(dt.datetime(2026, 11, 19, 23, 59, 58, tzinfo=NY).timestamp() * 1000)


def capture() -> SegmentCapture:
    bar = Bar("SPY", "1m", 60_000, 1.0, 2.0, 0.5, 1.5, 10.0, 3)
    return SegmentCapture({"version": 1, "symbols": ["SPY"]}, {"SPY": [bar]}, [], [], None, {})


async def test_segments_start_with_state_and_split_at_the_exchange_date(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    store = RecordingStore(tmp_path)
    clock = TrioWallClock(BEFORE_MIDNIGHT)
    rec = Recorder(store, clock, "abc123", capture, RecorderConfig(fsync=False))
    async with trio.open_nursery() as nursery:
        await nursery.start(rec.run, ActorNode("recorder", "recorder"))
        for i in range(4):
            rec.append("ticks", [Trade("SPY", clock.now_ms(), 600.0 + i, 1.0)])
            await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    segments = store.segments()
    assert [s.date.isoformat() for s in segments] == ["2026-11-19", "2026-11-20"]
    for seg in segments:
        records, reader = read_journal(seg.path)
        assert reader.torn_at is None
        assert records[0][1] == "segment" and records[0][2]["bars"]["SPY"][0][0] == 60_000
        assert all(r[1] == "ticks" for r in records[1:])
    prices = [r[2][0][3] for s in segments for r in read_journal(s.path)[0][1:]]
    assert prices == [600.0, 601.0, 602.0, 603.0]  # nothing lost, nothing twice, in order
    assert rec.stats()["errors"] == 0 and rec.records == 4


async def test_pending_records_are_bounded_and_the_gap_is_recorded(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    store = RecordingStore(tmp_path)
    clock = TrioWallClock(BEFORE_MIDNIGHT - 3_600_000)
    rec = Recorder(store, clock, "abc123", capture, RecorderConfig(fsync=False, max_pending=5))
    for i in range(10):  # the actor is not running: nothing is flushed
        rec.append("ticks", [Trade("SPY", clock.now_ms(), 600.0 + i, 1.0)])
    assert rec.dropped == 6  # the segment record took one of the five slots
    async with trio.open_nursery() as nursery:
        await nursery.start(rec.run, ActorNode("recorder", "recorder"))
        await trio.sleep(1.5)  # the first flush makes room
        rec.append("ticks", [Trade("SPY", clock.now_ms(), 700.0, 1.0)])
        await trio.sleep(1.5)
        nursery.cancel_scope.cancel()
    (seg,) = store.segments()
    kinds = [r[1] for r in read_journal(seg.path)[0]]
    assert kinds == ["segment", "ticks", "ticks", "ticks", "ticks", "gap", "ticks"]


async def test_disk_errors_are_counted_not_fatal(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    rec = Recorder(
        RecordingStore(blocker), TrioWallClock(BEFORE_MIDNIGHT), "e", capture, RecorderConfig()
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(rec.run, ActorNode("recorder", "recorder"))
        rec.append("ticks", [Trade("SPY", 1, 1.0, 1.0)])
        await trio.sleep(1.5)
        nursery.cancel_scope.cancel()
    assert rec.errors >= 1 and rec.stats()["lastError"]


def test_retention_by_days_and_bytes(tmp_path: Path) -> None:
    store = RecordingStore(tmp_path)
    for day in range(1, 6):
        path = store.segment_path(dt.date(2026, 11, day), day * 1000, "e")
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 100)
    today = dt.date(2026, 11, 5)
    current = store.segment_path(today, 5000, "e")
    deleted = store.prune(keep_days=3, max_bytes=10_000, today=today, protect=current)
    assert [p.parent.name for p in deleted] == ["2026-11-01"]
    assert not (tmp_path / "2026-11-01").exists()  # the emptied date directory goes too
    store.prune(keep_days=3, max_bytes=250, today=today, protect=current)
    assert [s.date.day for s in store.segments()] == [4, 5]
    store.prune(keep_days=3, max_bytes=0, today=today, protect=current)
    assert [s.path for s in store.segments()] == [current]  # the open segment is never deleted
    assert store.dates() == {today: 100}
