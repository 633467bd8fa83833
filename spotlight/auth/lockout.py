"""Growing lockout of client addresses after wrong PINs (pure; time from an injected clock).

Policy: an address gets ``free_attempts`` wrong PINs without any wait. The next failure locks
it for ``base_s``; every further failure locks it for ``factor`` times longer than the one
before, up to ``cap_s``. With the defaults (5, 30 s, x2, 1 h): five quick wrong PINs cost
nothing, the 6th locks for 30 s, the 7th for 60 s, then 120 s, ... 3600 s, so guessing a
6-digit PIN from one address takes years. A correct PIN forgets the address.

A failure recorded while the address is already locked (parallel guesses that passed
``retry_after`` together) still counts and restarts a longer lock: parallelism buys a guesser
nothing.

Memory: at most ``max_entries`` addresses are tracked; when full, the least recently failed
one is dropped (an OrderedDict in failure order). An address with no failure for
``forget_after_s`` starts over; such entries are dropped lazily by any call. A guesser who
controls more than ``max_entries`` addresses can push its own entries out; per-address
limits cannot stop such a guesser anyway.

Caller's contract: ask ``retry_after(addr)`` before checking a PIN and refuse (429 with
``Retry-After``) while it is positive; then call ``failure`` or ``success``. Key IPv6 clients
by their /64 prefix (``networks.client_key``): one host usually owns a whole /64.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Lockout"]


@dataclass(slots=True)
class _Entry:
    failures: int
    updated: float  # clock time of the last failure
    locked_until: float  # clock time; <= now means not locked


class Lockout:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        free_attempts: int = 5,
        base_s: float = 30.0,
        factor: float = 2.0,
        cap_s: float = 3600.0,
        max_entries: int = 10_000,
        forget_after_s: float = 86400.0,
    ) -> None:
        if free_attempts < 0:
            raise ValueError(f"Lockout free_attempts must be >= 0, not {free_attempts!r}")
        if not (0 < base_s <= cap_s and math.isfinite(cap_s)) or not factor >= 1:
            raise ValueError(
                "Lockout needs 0 < base_s <= cap_s (finite) and factor >= 1, got "
                f"base_s={base_s!r}, cap_s={cap_s!r}, factor={factor!r}"
            )
        if max_entries < 1:
            raise ValueError(f"Lockout max_entries must be >= 1, not {max_entries!r}")
        # Forgetting an address while it is still locked would unlock it early.
        if not forget_after_s >= cap_s:
            raise ValueError(
                f"Lockout forget_after_s ({forget_after_s!r}) must be >= cap_s ({cap_s!r}) so "
                "no address is forgotten while locked"
            )
        self._clock = clock
        self.free_attempts = free_attempts
        self.base_s = base_s
        self.factor = factor
        self.cap_s = cap_s
        self.max_entries = max_entries
        self.forget_after_s = forget_after_s
        # {address: entry}, least recently failed first.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def retry_after(self, addr: str) -> float:
        """Seconds until ``addr`` may try a PIN again; 0.0 when it may try now."""
        now = self._clock()
        self._forget_idle(now)
        entry = self._entries.get(addr)
        if entry is None:
            return 0.0
        return max(0.0, entry.locked_until - now)

    def failure(self, addr: str) -> float:
        """Record a wrong PIN from ``addr``; return the lock now in force (0.0 if none)."""
        now = self._clock()
        self._forget_idle(now)
        entry = self._entries.pop(addr, None)
        if entry is None:
            entry = _Entry(failures=0, updated=now, locked_until=now)
        entry.failures += 1
        entry.updated = now
        lock = self.lock_for(entry.failures)
        entry.locked_until = now + lock
        self._entries[addr] = entry  # re-inserted at the end: most recently failed
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return lock

    def success(self, addr: str) -> None:
        """Forget ``addr``: a correct PIN clears its record."""
        self._entries.pop(addr, None)

    def lock_for(self, failures: int) -> float:
        """Lock in seconds after the ``failures``-th consecutive wrong PIN (1-based)."""
        extra = failures - self.free_attempts - 1
        if extra < 0:
            return 0.0
        try:
            return min(self.cap_s, self.base_s * self.factor**extra)
        except OverflowError:
            return self.cap_s

    def stats(self) -> dict[str, int]:
        """``{"tracked": addresses remembered, "locked": addresses locked right now}``."""
        now = self._clock()
        self._forget_idle(now)
        locked = sum(1 for e in self._entries.values() if e.locked_until > now)
        return {"tracked": len(self._entries), "locked": locked}

    def _forget_idle(self, now: float) -> None:
        # Entries are in failure order, so the idle ones are at the front; and since
        # forget_after_s >= cap_s, an idle entry is never locked.
        entries = self._entries
        horizon = now - self.forget_after_s
        while entries:
            addr, entry = next(iter(entries.items()))
            if entry.updated > horizon:
                break
            del entries[addr]
