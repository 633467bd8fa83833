"""Replay time: where a replay is, when its next item is due, and the speed it really reaches.

Two times, kept apart on purpose (issue 15: at 100x a recorded day played at ~20x while the
position ran on at 100x, 11.7 minutes ahead of the chart):

- the **schedule** (``clock``) advances at ``speed`` times real time from an anchor; an item
  is due when the schedule reaches its time. The anchor moves on every change (speed, pause,
  resume), so a change never jumps it;
- the **position** is the time of the newest item actually played: what the chart shows, so
  what the API and the progress bar report.

When the replay cannot keep up (a slow analytics step, a heavy tape at 1000x), items are late
and are played at once until the replay has caught up; the schedule may lead the position by
at most ``MAX_LEAD_S`` of real time, beyond which it slips, so a long stall is never followed
by a flood of catch-up events. ``reached`` is the speed the replay actually advanced at over
the last ``SPEED_WINDOW_S``: the schedule while the replay waits for its next item (it has
played everything before it), the item in hand while it is busy or behind.

``speed`` None is "as fast as possible": no waiting, no schedule, the position is the last
item played. Pure: the real clock (seconds) is passed in.
"""

from __future__ import annotations

from collections import deque

__all__ = ["MAX_LEAD_S", "SKIPPABLE_STEPS", "SPEED_WINDOW_S", "Pacer", "StaleSteps"]

# How far (real seconds) the schedule may run ahead of the newest item played before it slips.
# One second: a recorded GEX step (0.2-0.6 s in the worker) is absorbed and caught up after,
# so the speed holds; a longer stall makes the schedule wait for the data instead of bursting
# minutes of replay time at the clients afterwards.
MAX_LEAD_S = 1.0
# Window over which ``reached`` measures the speed (real seconds): long enough to average over
# a slow step and its catch-up, short enough to show a speed change within a few polls.
SPEED_WINDOW_S = 5.0
_SAMPLE_EVERY_S = 0.25  # at most this often a (real, schedule) sample for ``reached``

# Analytics steps a replay that is behind may skip when the next one of the same kind is
# already due (a stale GEX or levels step): at 100x a recorded GEX step (0.2-0.6 s in the
# worker) costs more real time than the 0.15 s between two of them, and computing every one
# held a recorded day to ~20x. Skipped, the tape keeps its speed and those channels update as
# often as they can be computed. Basis samples (cheap, and counted: every fifth publishes) and
# the coach's greeting are never skipped. Nothing is skipped while the replay keeps up, nor at
# "max" speed (nothing is ever late there), so a replay that keeps up reproduces the live
# payloads exactly.
SKIPPABLE_STEPS = frozenset({"gex", "levels"})


class Pacer:
    def __init__(self, start_ms: int, speed: float | None, now_s: float) -> None:
        self.speed = speed
        self.paused = False
        self._anchor_real = now_s
        self._anchor_replay = float(start_ms)
        self._played_ms = float(start_ms)  # the newest item played
        self._next_ms = float(start_ms)  # the item the replay waits for or is playing
        self._samples: deque[tuple[float, float]] = deque()  # (real s, schedule ms), oldest first
        self._sample(now_s)

    # -- the two times ----------------------------------------------------------------------
    def clock(self, now_s: float) -> float:
        """The schedule: replay time at which items are due now."""
        if self.speed is None:
            return self._played_ms
        if self.paused:
            return max(self._played_ms, self._anchor_replay)
        return max(
            self._played_ms, self._anchor_replay + (now_s - self._anchor_real) * 1000 * self.speed
        )

    def position(self) -> float:
        """Where the replay is: the time of the newest item played."""
        return self._played_ms

    def delay(self, t_ms: int, now_s: float) -> float | None:
        """Seconds until the item at ``t_ms`` is due; None while paused."""
        self._next_ms = max(self._next_ms, float(t_ms))
        if self.paused:
            return None
        if self.speed is None:
            return 0.0
        return max(0.0, (t_ms - self.clock(now_s)) / 1000 / self.speed)

    def late_ms(self, t_ms: int, now_s: float) -> float:
        """How much replay time the schedule is past the item at ``t_ms`` (0: on time)."""
        if self.speed is None or self.paused:
            return 0.0
        return max(0.0, self.clock(now_s) - t_ms)

    def played(self, t_ms: int, now_s: float) -> None:
        self._played_ms = max(self._played_ms, float(t_ms))
        if self.speed is not None and not self.paused:
            lead_cap = MAX_LEAD_S * 1000 * self.speed
            if self.clock(now_s) - self._played_ms > lead_cap:
                self._anchor_replay = self._played_ms + lead_cap  # slip: wait for the data
                self._anchor_real = now_s
        self._sample(now_s)

    # -- the speed reached ------------------------------------------------------------------
    def _reached_ms(self, now_s: float) -> float:
        """Replay time the replay has really reached: the schedule while it waits for its next
        item, that item while it is playing it (or late for it). Never decreases: a slip pulls
        the schedule back no further than the item just played."""
        return min(self.clock(now_s), self._next_ms)

    def _sample(self, now_s: float) -> None:
        samples = self._samples
        if samples and now_s - samples[-1][0] < _SAMPLE_EVERY_S:
            return
        samples.append((now_s, self._reached_ms(now_s)))
        while len(samples) > 2 and now_s - samples[1][0] >= SPEED_WINDOW_S:
            samples.popleft()

    def reached(self, now_s: float) -> float | None:
        """The speed the replay advanced at over the last few seconds (replay s per real s);
        None while paused, at "max" (no schedule) or before a second has been measured."""
        if self.speed is None or self.paused or not self._samples:
            return None
        self._sample(now_s)
        then_s, then_ms = self._samples[0]
        span = now_s - then_s
        if span < 1.0:
            return None
        return (self._reached_ms(now_s) - then_ms) / 1000 / span

    def _restart_window(self, now_s: float) -> None:
        self._samples.clear()
        self._sample(now_s)

    # -- changes ----------------------------------------------------------------------------
    def start_now(self, now_s: float) -> None:
        """The replay's data is loaded: its schedule starts here, so the time spent loading
        (a recording read, Massive aggregates fetched) is not taken for lateness (which would
        burst the first items and skip the first analytics steps as stale)."""
        if not self.paused:
            self._anchor_replay = self._played_ms
            self._anchor_real = now_s
        self._restart_window(now_s)

    def skip_to(self, t_ms: int, now_s: float) -> None:
        """Jump forward to ``t_ms`` (a stretch with nothing to play is not waited out)."""
        self._anchor_replay = max(self.clock(now_s), float(t_ms))
        self._anchor_real = now_s
        self._played_ms = max(self._played_ms, float(t_ms))
        self._next_ms = max(self._next_ms, float(t_ms))
        self._restart_window(now_s)  # a jump is not speed

    def _rebase(self, now_s: float) -> None:
        self._anchor_replay = self.clock(now_s)
        self._anchor_real = now_s

    def set_speed(self, speed: float | None, now_s: float) -> None:
        self._rebase(now_s)
        self.speed = speed
        self._restart_window(now_s)

    def pause(self, now_s: float) -> None:
        self._rebase(now_s)
        self.paused = True

    def resume(self, now_s: float) -> None:
        self._anchor_real = now_s
        self.paused = False
        self._restart_window(now_s)


class StaleSteps:
    """Which analytics steps to skip: one of a skippable kind whose successor is already due,
    i.e. the schedule is past it by at least the gap since the previous step of that kind
    (steps come on a cadence, so the next one is that far behind it)."""

    def __init__(self) -> None:
        self.skipped: dict[str, int] = {}  # {step kind: stale steps not computed}
        self._last_ms: dict[str, int] = {}  # {step kind: time of the last one met}

    def stale(self, kind: object, t_ms: int, late_ms: float) -> bool:
        if not isinstance(kind, str) or kind not in SKIPPABLE_STEPS:
            return False
        previous = self._last_ms.get(kind)
        self._last_ms[kind] = t_ms
        if previous is None or t_ms <= previous or late_ms < t_ms - previous:
            return False
        self.skipped[kind] = self.skipped.get(kind, 0) + 1
        return True
