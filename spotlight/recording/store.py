"""Where recordings live: one directory per exchange (New York) date, one file per segment.

Layout under the data directory::

    recordings/2026-11-20/1763650800000-3f9a1c2b7d10.splog

A segment is what one server run recorded on one date: it starts with a ``segment`` record
holding the pipeline's state at that moment (so a replay can start there exactly) and is
named by its start time and the server's epoch id. Retention keeps at most ``keep_days``
dates and ``max_bytes`` in total, deleting the oldest segments first and never the one being
written.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from spotlight.domain.nytime import NY

__all__ = ["RecordingStore", "SegmentFile", "exchange_date"]

_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEGMENT = re.compile(r"^(\d+)-([0-9a-f]+)\.splog$")
SUFFIX = ".splog"


def exchange_date(ts_ms: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts_ms / 1000, NY).date()


@dataclass(frozen=True, slots=True)
class SegmentFile:
    date: dt.date
    start_ms: int
    epoch: str
    path: Path
    bytes: int


class RecordingStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def segment_path(self, date: dt.date, start_ms: int, epoch: str) -> Path:
        return self.root / date.isoformat() / f"{start_ms}-{epoch}{SUFFIX}"

    def segments(self, date: dt.date | None = None) -> list[SegmentFile]:
        """Segments (of one date, or all), oldest first. Unknown files are ignored."""
        if not self.root.is_dir():
            return []
        dirs = [self.root / date.isoformat()] if date else sorted(self.root.iterdir())
        out: list[SegmentFile] = []
        for d in dirs:
            if not d.is_dir() or not _DATE_DIR.match(d.name):
                continue
            day = dt.date.fromisoformat(d.name)
            for f in d.iterdir():
                m = _SEGMENT.match(f.name)
                if m is None:
                    continue
                try:
                    size = f.stat().st_size
                except OSError:  # deleted by retention meanwhile
                    continue
                out.append(SegmentFile(day, int(m.group(1)), m.group(2), f, size))
        out.sort(key=lambda s: (s.date, s.start_ms))
        return out

    def dates(self) -> dict[dt.date, int]:
        """{date: bytes recorded}, oldest first."""
        out: dict[dt.date, int] = {}
        for s in self.segments():
            out[s.date] = out.get(s.date, 0) + s.bytes
        return out

    def total_bytes(self) -> int:
        return sum(s.bytes for s in self.segments())

    def prune(
        self, *, keep_days: int, max_bytes: int, today: dt.date, protect: Path | None = None
    ) -> list[Path]:
        """Delete segments older than ``keep_days`` dates before ``today``, then the oldest
        until the total fits ``max_bytes``. ``protect`` (the open segment) is never deleted."""
        segments = self.segments()
        cutoff = today - dt.timedelta(days=keep_days)
        deleted: list[Path] = []
        total = sum(s.bytes for s in segments)
        for s in segments:
            if s.path == protect:
                continue
            if s.date < cutoff or total > max_bytes:
                with contextlib.suppress(FileNotFoundError):
                    s.path.unlink()
                total -= s.bytes
                deleted.append(s.path)
        for d in {p.parent for p in deleted}:
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty
        return deleted
