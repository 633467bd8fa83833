"""The recorder actor: appends the live pipeline's inputs to the journal, off the hot path.

``append`` is synchronous and cheap (the pipeline and the analytics call it at the exact
point an input takes effect, so the recorded order is the order that produced the events);
it keeps references to the immutable inputs. Every ``flush_s`` the actor encodes and writes
what accumulated as one block in a worker thread (compression and ``fsync`` release the
GIL). Record kinds (``docs/replay.md``):

- ``segment``: first record of every file: header (source, symbols, epoch) and the
  pipeline's state at that instant (1-minute bars, last trade/quote, status, latest GEX);
- ``ticks``: one batch exactly as the pipeline ingested it;
- ``step``: one analytics computation with its inputs (time, spots, chain job);
- ``gap``: records were dropped (the disk could not keep up): replay crosses a gap.

A new segment starts at every server start and whenever the exchange date changes. Pending
records are bounded (``max_pending``); beyond it they are dropped and counted, never queued
without limit. Disk errors are counted and logged; they never stop the server.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY
from spotlight.domain.ticks import Tick
from spotlight.recording.codec import bar_row, job_json, tick_row
from spotlight.recording.journal import JournalWriter, encode_block
from spotlight.recording.store import RecordingStore, exchange_date
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["Recorder", "RecorderConfig", "SegmentCapture", "encode_record"]

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True, slots=True)
class RecorderConfig:
    keep_days: int = 7
    max_bytes: int = 2 << 30
    flush_s: float = 1.0
    fsync: bool = True
    max_pending: int = 200_000  # records waiting for the next flush


@dataclass(frozen=True, slots=True)
class SegmentCapture:
    """The pipeline's state at the start of a segment (captured synchronously)."""

    header: dict[str, Any]
    bars: dict[str, list[Bar]]
    last_trades: list[Tick]
    last_quotes: list[Tick]
    status: Tick | None
    analytics: dict[str, Any]


def encode_record(t_ms: int, kind: str, data: Any) -> list[Any]:
    if kind == "ticks":
        return [t_ms, kind, [tick_row(x) for x in data]]
    if kind == "step" and "job" in data:
        return [t_ms, kind, {**data, "job": job_json(data["job"])}]
    if kind == "segment":
        s: SegmentCapture = data
        return [
            t_ms,
            kind,
            {
                **s.header,
                "bars": {sym: [bar_row(b) for b in bars] for sym, bars in s.bars.items()},
                "lastTrades": [tick_row(x) for x in s.last_trades],
                "lastQuotes": [tick_row(x) for x in s.last_quotes],
                "status": tick_row(s.status) if s.status is not None else None,
                "analytics": s.analytics,
            },
        ]
    return [t_ms, kind, data]


class Recorder:
    def __init__(
        self,
        store: RecordingStore,
        clock: WallClock,
        epoch_id: str,
        capture: Callable[[], SegmentCapture],
        config: RecorderConfig | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.epoch_id = epoch_id
        self.capture = capture
        self.config = config or RecorderConfig()
        self._pending: list[tuple[int, str, Any]] = []
        # Set by the owner once nothing can hand over records any more (the market's actors
        # have stopped): the last flush waits for it, so a batch the pipeline ingests while
        # everything is being cancelled is still recorded.
        self.inputs_done: trio.Event | None = None
        self._date_end_ms = 0  # records at or after this start a new segment
        self._writer: JournalWriter | None = None
        self.records = 0
        self.dropped = 0
        self._dropped_unreported = 0
        self.bytes_written = 0
        self.blocks = 0
        self.errors = 0
        self.last_error: str | None = None
        self.segments_started = 0
        self.pruned = 0

    # -- called synchronously by the pipeline and the analytics -----------------------------
    def append(self, kind: str, data: Any) -> None:
        now = self.clock.now_ms()
        if now >= self._date_end_ms:
            self._start_segment(now)
        if len(self._pending) >= self.config.max_pending:
            self.dropped += 1
            self._dropped_unreported += 1
            return
        if self._dropped_unreported:
            self._pending.append((now, "gap", {"dropped": self._dropped_unreported}))
            self._dropped_unreported = 0
        self._pending.append((now, kind, data))
        self.records += 1

    def _start_segment(self, now: int) -> None:
        date = exchange_date(now)
        nxt = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), NY)
        self._date_end_ms = int(nxt.timestamp() * 1000)
        self._pending.append((now, "segment", self.capture()))
        self.segments_started += 1

    # -- the actor ------------------------------------------------------------------------
    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = self.stats
        await self._prune_now()
        task_status.started()
        next_prune = trio.current_time() + PRUNE_EVERY_S
        try:
            while True:
                await trio.sleep(self.config.flush_s)
                await self._flush()
                if trio.current_time() >= next_prune:
                    next_prune = trio.current_time() + PRUNE_EVERY_S
                    await self._prune_now()
        finally:
            # Whatever accumulated since the last flush is written on the way out (bounded),
            # once the inputs have stopped.
            with trio.move_on_after(5) as scope:
                scope.shield = True
                if self.inputs_done is not None:
                    await self.inputs_done.wait()
                await self._flush()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    async def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        await trio.to_thread.run_sync(self._write, pending)

    def _write(self, pending: list[tuple[int, str, Any]]) -> None:
        """Encode and write; a ``segment`` record closes the file and opens the next one."""
        chunk: list[list[Any]] = []
        try:
            for t, kind, data in pending:
                if kind == "segment":
                    self._write_block(chunk)
                    chunk = []
                    self._open_segment(t)
                chunk.append(encode_record(t, kind, data))
            self._write_block(chunk)
        except (OSError, ValueError, TypeError) as exc:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("recording: write failed (%s); records of this flush are lost", exc)
            if self._writer is not None:  # the file may end torn: start a fresh one
                self._writer.close()
                self._writer = None

    def _open_segment(self, t: int) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.store.segment_path(exchange_date(t), t, self.epoch_id)
        self._writer = JournalWriter(path, fsync=self.config.fsync)

    def _write_block(self, chunk: list[list[Any]]) -> None:
        if not chunk:
            return
        if self._writer is None:
            # A failed write dropped the file: the next block needs a segment record first,
            # or a replay could not start from it; start one at the next append.
            self._date_end_ms = 0
            return
        block = encode_block(chunk)
        self._writer.write(block)
        self.bytes_written += len(block)
        self.blocks += 1

    async def _prune_now(self) -> None:
        await trio.to_thread.run_sync(self._prune, exchange_date(self.clock.now_ms()))

    def _prune(self, today: dt.date) -> None:
        try:
            deleted = self.store.prune(
                keep_days=self.config.keep_days,
                max_bytes=self.config.max_bytes,
                today=today,
                protect=self._writer.path if self._writer is not None else None,
            )
        except OSError as exc:
            self.errors += 1
            self.last_error = f"prune: {exc}"
            return
        self.pruned += len(deleted)

    @property
    def path(self) -> Path | None:
        return self._writer.path if self._writer is not None else None

    def stats(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "pending": len(self._pending),
            "dropped": self.dropped,
            "bytesWritten": self.bytes_written,
            "blocks": self.blocks,
            "segments": self.segments_started,
            "pruned": self.pruned,
            "errors": self.errors,
            "lastError": self.last_error,
            "file": str(self.path) if self.path else None,
        }
