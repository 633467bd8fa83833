"""Capped, jittered exponential backoff (pure: no clock, no sleeping).

Full jitter keeps a crowd of restarting children (or reconnecting clients) from retrying in
lock-step; the cap bounds how long a recovered dependency waits to be noticed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    base_s: float = 0.5
    factor: float = 2.0
    cap_s: float = 30.0
    # Fraction of each delay that is randomized: 0 = deterministic, 1 = full jitter.
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.factor < 1 or self.cap_s < self.base_s:
            raise ValueError(f"Backoff needs 0 < base_s <= cap_s and factor >= 1, got {self!r}")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"Backoff jitter must be within [0, 1], not {self.jitter!r}")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``attempt`` (0-based); never above ``cap_s``."""
        if attempt < 0:
            raise ValueError(f"attempt must be >= 0, not {attempt!r}")
        # Exponent clamp: avoids float overflow for very large attempt counts.
        raw = min(self.cap_s, self.base_s * self.factor ** min(attempt, 64))
        if self.jitter == 0.0:
            return raw
        r = (rng or random).random()
        return raw * (1.0 - self.jitter) + raw * self.jitter * r
