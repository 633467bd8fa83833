"""What a replay plays: a time-ordered stream of items, read in chunks.

- ``SegmentState``: the pipeline's state where a recording segment starts (bars, last
  prices, status, latest GEX); a replay loads the first one it meets;
- ``TickBatch``: one batch of ticks, exactly as the live pipeline ingested it;
- ``AnalyticsStep``: one analytics computation with its recorded inputs.

Two producers:
- ``RecordedItems`` reads what the live server recorded (recording/), block by block, so a
  replay holds about one second of recording in memory whatever the length of the day;
- ``BarItems`` rebuilds a tape from 1-minute bars (Massive aggregates or the simulator's
  history) for days that were not recorded: four prints per minute at the bar's open, high
  and low (in the order the bar implies) and close, so every replayed bar equals its source
  bar; analytics steps (levels, regime, clusters, setups, coach) on the live cadence.

Both are plain iterators of chunks (lists of items): the replay actor pulls the next chunk
in a worker thread, since reading a recording touches the disk.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import Quote, SourceStatus, Tick, Trade, is_index
from spotlight.recording.codec import bar_from_row, job_from_json, tick_from_row
from spotlight.recording.journal import JournalReader
from spotlight.recording.store import RecordingStore, SegmentFile

__all__ = ["AnalyticsStep", "BarItems", "Item", "RecordedItems", "SegmentState", "TickBatch"]


@dataclass(frozen=True, slots=True)
class SegmentState:
    t_ms: int
    bars: dict[str, list[Bar]]
    last_trades: list[Trade]
    last_quotes: list[Quote]
    status: SourceStatus | None
    analytics: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TickBatch:
    t_ms: int
    ticks: list[Tick]


@dataclass(frozen=True, slots=True)
class AnalyticsStep:
    t_ms: int
    step: dict[str, Any]


Item = SegmentState | TickBatch | AnalyticsStep


def decode(record: Sequence[Any]) -> Item | None:
    """A journal record as an item; None for records a replay does not play (gaps)."""
    t, kind, data = record
    if kind == "ticks":
        return TickBatch(t, [tick_from_row(r) for r in data])
    if kind == "step":
        step = dict(data)
        if "job" in step:
            step["job"] = job_from_json(step["job"])
        return AnalyticsStep(t, step)
    if kind == "segment":
        return SegmentState(
            t,
            {s: [bar_from_row(s, r) for r in rows] for s, rows in data["bars"].items()},
            [t for r in data.get("lastTrades", ()) if isinstance(t := tick_from_row(r), Trade)],
            [q for r in data.get("lastQuotes", ()) if isinstance(q := tick_from_row(r), Quote)],
            _status(data.get("status")),
            dict(data.get("analytics") or {}),
        )
    return None


def _status(row: Any) -> SourceStatus | None:
    status = tick_from_row(row) if row else None
    return status if isinstance(status, SourceStatus) else None


class RecordedItems:
    """Items of the segments overlapping [from_ms, to_ms), in recording order."""

    def __init__(self, segments: Sequence[SegmentFile], to_ms: int) -> None:
        self.segments = list(segments)
        self.to_ms = to_ms
        self.torn: list[dict[str, Any]] = []  # segments whose tail was torn (diag)
        self.gaps = 0

    @classmethod
    def covering(cls, store: RecordingStore, from_ms: int, to_ms: int) -> RecordedItems:
        """Segments that can contribute to [from_ms, to_ms): a segment runs until the next
        one starts (or forever, for the newest)."""
        all_segments = store.segments()
        chosen: list[SegmentFile] = []
        for i, seg in enumerate(all_segments):
            nxt = all_segments[i + 1].start_ms if i + 1 < len(all_segments) else None
            if seg.start_ms < to_ms and (nxt is None or nxt > from_ms):
                chosen.append(seg)
        return cls(chosen, to_ms)

    def __iter__(self) -> Iterator[list[Item]]:
        for seg in self.segments:
            if seg.start_ms >= self.to_ms:
                return
            reader = JournalReader(seg.path)
            for block in reader:
                items: list[Item] = []
                for record in block:
                    try:
                        item = decode(record)
                    except (KeyError, TypeError, ValueError, IndexError):
                        item = None  # a record this version cannot read: skipped
                    if item is None:
                        self.gaps += record[1] == "gap"
                        continue
                    items.append(item)
                yield items
                if items and items[-1].t_ms >= self.to_ms:
                    return
            if reader.torn_at is not None:
                self.torn.append(
                    {"file": seg.path.name, "at": reader.torn_at, "reason": reader.reason}
                )


# Offsets (ms into the minute) of the four prints that rebuild a bar.
_PRINT_OFFSETS = (0, 15_000, 30_000, 59_000)


def bar_prints(bar: Bar) -> list[Trade]:
    """Trades that rebuild ``bar`` exactly: open, then low/high (whichever the close is
    farther from comes first), then close; the volume is split evenly (indices: 0)."""
    first, second = (bar.high, bar.low) if bar.close < bar.open else (bar.low, bar.high)
    prices = (bar.open, first, second, bar.close)
    size = 0.0 if is_index(bar.symbol) else bar.volume / 4
    return [
        Trade(bar.symbol, bar.start_ms + off, p, size)
        for off, p in zip(_PRINT_OFFSETS, prices, strict=True)
    ]


class BarItems:
    """Items rebuilt from 1-minute bars: history before ``from_ms`` as the segment state,
    then the bars in range as prints, with levels steps every ``levels_s``."""

    def __init__(
        self,
        bars: Mapping[str, Sequence[Bar]],
        from_ms: int,
        to_ms: int,
        status: Tick,
        levels_s: float,
    ) -> None:
        self.bars = bars
        self.from_ms = from_ms
        self.to_ms = to_ms
        self.status = status
        self.levels_ms = max(1000, int(levels_s * 1000))

    def has_data(self) -> bool:
        return any(self.from_ms <= b.start_ms < self.to_ms for s in self.bars.values() for b in s)

    def __iter__(self) -> Iterator[list[Item]]:
        start = self.from_ms
        history = {s: [b for b in bars if b.start_ms < start] for s, bars in self.bars.items()}
        yield [
            SegmentState(self.from_ms, history, [], [], None, {}),
            TickBatch(self.from_ms, [self.status]),
        ]
        by_minute: dict[int, list[Bar]] = {}
        for bars in self.bars.values():
            for b in bars:
                if self.from_ms <= b.start_ms < self.to_ms:
                    by_minute.setdefault(b.start_ms, []).append(b)
        next_step: int | None = None  # analytics steps start with the first bar
        for minute in sorted(by_minute):
            if next_step is None:
                next_step = minute - minute % self.levels_ms + self.levels_ms
            prints: dict[int, list[Tick]] = {}
            for bar in by_minute[minute]:
                for trade in bar_prints(bar):
                    prints.setdefault(trade.ts_ms, []).append(trade)
            chunk: list[Item] = []
            for ts in sorted(prints):
                while next_step <= ts:
                    chunk.append(AnalyticsStep(next_step, {"k": "levels", "now": next_step}))
                    next_step += self.levels_ms
                chunk.append(TickBatch(ts, prints[ts]))
            yield chunk
