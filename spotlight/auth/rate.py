"""A token bucket (pure; time from an injected clock): at most ``rate`` a second on average,
``burst`` at once.

Used for the global rate of PIN checks: the per-address lockout bounds each guesser, but
someone with many addresses (IPv6 /64s are plentiful) could still make the server hash PINs
all day. Past the rate a login is refused with 429 ``busy`` before any hashing, and it does
not count against the address.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not (rate > 0 and burst >= 1):
            raise ValueError(f"TokenBucket needs rate > 0 and burst >= 1, not {rate!r}, {burst!r}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._at = clock()
        self.taken = 0
        self.refused = 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self) -> bool:
        """One token if there is one (True), else False (nothing is queued)."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            self.taken += 1
            return True
        self.refused += 1
        return False

    def wait_s(self) -> float:
        """How long until a token is available (0 when one is)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
