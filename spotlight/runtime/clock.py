"""Wall-clock time as a dependency, so tests and replays can substitute their own.

Exchange timestamps (bars, ticks) need wall time; timeouts and ages use Trio's monotonic
clock (``trio.current_time``), which tests drive with ``autojump_clock``. ``TrioWallClock``
ties wall time to Trio's clock so a test's virtual seconds move bars forward too.
"""

from __future__ import annotations

import time
from typing import Protocol

import trio

__all__ = ["SystemClock", "TrioWallClock", "WallClock"]


class WallClock(Protocol):
    def now_ms(self) -> int: ...

    def now_s(self) -> float:
        """Wall time in seconds with sub-millisecond precision (for precise sleeps)."""
        ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def now_s(self) -> float:
        return time.time()


class TrioWallClock:
    """Wall time ``start_ms`` at the first reading, then advancing with Trio's clock."""

    def __init__(self, start_ms: int) -> None:
        self._start_ms = start_ms
        self._t0: float | None = None

    def now_ms(self) -> int:
        return int(self.now_s() * 1000)

    def now_s(self) -> float:
        now = trio.current_time()
        if self._t0 is None:
            self._t0 = now
        return self._start_ms / 1000 + (now - self._t0)
