"""Client-side request budget: a token bucket (rate) plus a concurrency cap (in flight).

Massive's free plan allows 5 requests a minute and paid plans ask for "under ~100 requests a
second"; no rate-limit headers are documented, so we pace ourselves rather than discover the
limit through 429s. One budget belongs to one API key: share the instance between every client
and poller using that key.

Every HTTP attempt (retries included: upstream counts them) holds one ``slot()``: first a
concurrency slot, then a token, then the request. Taking the slot first means the token is
spent right before the request goes out, so the upstream sees at most ``burst`` requests in any
instant and ``per_minute`` on average. Both waits are FIFO (``trio.CapacityLimiter`` and
``trio.Lock`` are fair), so no caller starves. Sleeping uses ``trio.sleep`` and time comes from
``clock`` (Trio's clock by default), so tests run it on ``autojump_clock``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import trio

__all__ = ["RequestBudget"]

# Refill arithmetic is float: 12 s at 5/60 tokens per second can come out at 0.9999999999.
# Treat a token that is this close as whole rather than sleeping again for a femtosecond.
_EPSILON = 1e-9


class RequestBudget:
    """``per_minute`` requests on average, at most ``burst`` back to back, at most
    ``concurrency`` in flight. ``for_plan`` has the documented plan limits."""

    def __init__(
        self,
        per_minute: float,
        burst: int,
        concurrency: int,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        if not per_minute > 0:
            raise ValueError(f"per_minute must be > 0, not {per_minute!r}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1 (a request needs a whole token), not {burst!r}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, not {concurrency!r}")
        self.per_minute = float(per_minute)
        self.burst = burst
        self.concurrency = concurrency
        self._rate_per_s = per_minute / 60.0
        self._clock = clock
        self._limiter = trio.CapacityLimiter(concurrency)
        self._token_lock = trio.Lock()
        self._tokens = float(burst)  # starts full: the first `burst` requests go at once
        self._refilled_at: float | None = None  # set on first use: the clock may need Trio
        self._acquired = 0
        self._waiting = 0
        self._waited_s = 0.0

    @classmethod
    def for_plan(cls, plan: str) -> RequestBudget:
        """``"free"``: 5 a minute, burst 5, one at a time (the plan's hard limit).
        ``"paid"``: 100 a second, burst 100, 8 in flight (Massive's advice for unlimited plans;
        8 keeps a chain walk sequential per underlying while other feeds proceed)."""
        if plan == "free":
            return cls(per_minute=5, burst=5, concurrency=1)
        if plan == "paid":
            return cls(per_minute=6000, burst=100, concurrency=8)
        raise ValueError(f"unknown Massive plan {plan!r}: use 'free' or 'paid'")

    def _refill(self) -> float:
        now = self._clock()
        if self._refilled_at is not None:
            elapsed = max(0.0, now - self._refilled_at)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self._rate_per_s)
        self._refilled_at = now
        return now

    async def _take_token(self) -> None:
        async with self._token_lock:
            started = now = self._refill()
            while self._tokens < 1.0 - _EPSILON:
                self._waiting += 1
                try:
                    await trio.sleep((1.0 - self._tokens) / self._rate_per_s)
                finally:
                    self._waiting -= 1
                now = self._refill()
            self._waited_s += now - started
            self._tokens = max(0.0, self._tokens - 1.0)
            self._acquired += 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a concurrency slot and a token; hold the slot for the body (one request)."""
        async with self._limiter:
            await self._take_token()
            yield

    def stats(self) -> dict[str, float]:
        """A snapshot for metrics and diag; call it from within Trio (it reads the clock)."""
        self._refill()
        return {
            "per_minute": self.per_minute,
            "burst": float(self.burst),
            "concurrency": float(self.concurrency),
            "tokens": self._tokens,
            "in_flight": float(self._limiter.borrowed_tokens),
            "waiting": float(self._waiting + self._limiter.statistics().tasks_waiting),
            "acquired": float(self._acquired),
            "waited_s": self._waited_s,
        }
