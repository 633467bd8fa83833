"""Replay time: where a replay is, and how long to wait before its next item.

Replay time advances at ``speed`` times real time from an anchor, and the anchor moves on
every change (speed, pause, resume), so a change never jumps the position. ``speed`` None
is "as fast as possible": no waiting, the position is the last item played. Pure: the real
clock is passed in.
"""

from __future__ import annotations

__all__ = ["Pacer"]


class Pacer:
    def __init__(self, start_ms: int, speed: float | None, now_s: float) -> None:
        self.speed = speed
        self.paused = False
        self._anchor_real = now_s
        self._anchor_replay = float(start_ms)
        self._played_ms = float(start_ms)  # the newest item played

    def position(self, now_s: float) -> float:
        if self.speed is None:
            return self._played_ms
        if self.paused:
            return max(self._played_ms, self._anchor_replay)
        return max(
            self._played_ms, self._anchor_replay + (now_s - self._anchor_real) * 1000 * self.speed
        )

    def delay(self, t_ms: int, now_s: float) -> float | None:
        """Seconds until the item at ``t_ms`` is due; None while paused."""
        if self.paused:
            return None
        if self.speed is None:
            return 0.0
        return max(0.0, (t_ms - self.position(now_s)) / 1000 / self.speed)

    def played(self, t_ms: int) -> None:
        self._played_ms = max(self._played_ms, float(t_ms))

    def skip_to(self, t_ms: int, now_s: float) -> None:
        """Jump forward to ``t_ms`` (a stretch with nothing to play is not waited out)."""
        self._anchor_replay = max(self.position(now_s), float(t_ms))
        self._anchor_real = now_s
        self._played_ms = max(self._played_ms, float(t_ms))

    def _rebase(self, now_s: float) -> None:
        self._anchor_replay = self.position(now_s)
        self._anchor_real = now_s

    def set_speed(self, speed: float | None, now_s: float) -> None:
        self._rebase(now_s)
        self.speed = speed

    def pause(self, now_s: float) -> None:
        self._rebase(now_s)
        self.paused = True

    def resume(self, now_s: float) -> None:
        self._anchor_real = now_s
        self.paused = False
