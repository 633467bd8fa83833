"""Exchange-session time for option expiries (pure: no I/O, no clock of its own).

Why trading time: 0DTE gamma scales with 1/sqrt(T), so the T convention dominates 0DTE GEX
(spx-analytics.md section 1). We count only regular-session minutes (09:30-16:00 ET, or to the
early close) between ``now`` and settlement and divide by a trading-time year of 252 * 390
minutes; nights, weekends and holidays add no time because the index cannot move then.

All datetimes must be timezone-aware; they are converted to America/New_York here, so callers
may pass UTC. Settlement: PM-settled contracts (SPXW, SPY) settle at the session close of the
expiry day; AM-settled ``O:SPX`` monthlies settle on the 09:30 opening print.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import date, datetime, time, timedelta
from typing import Final

from spotlight.domain.nytime import NY

OPEN: Final = time(9, 30)
CLOSE: Final = time(16, 0)
# A trading-time year: 252 sessions of 390 minutes. Massive's own basis is undocumented, so
# comparing with vendor greeks needs this stated (it is in the GEX channel's metadata).
MINUTES_PER_YEAR: Final = 252 * 390
# About a quarter hour: without a floor, gamma of an ATM 0DTE contract diverges as the bell
# nears and a single strike swamps the profile (the spec recommends 10-15 min).
DEFAULT_FLOOR_MINUTES: Final = 15.0


def _ny(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError(f"now must be timezone-aware, not naive {now!r}; pass UTC or ET")
    return now.astimezone(NY)


class SessionCalendar:
    """Regular-session hours for US index options.

    ``early_closes`` is {date: close time in ET}, e.g. {date(2026, 11, 27): time(13, 0)};
    ``holidays`` are full closures. Weekends are always closed. Both are copied, so the
    calendar is immutable once built.
    """

    __slots__ = ("_early_closes", "_holidays")

    def __init__(
        self,
        early_closes: Mapping[date, time] | None = None,
        holidays: Set[date] | None = None,
    ) -> None:
        self._early_closes: dict[date, time] = dict(early_closes or {})
        self._holidays: frozenset[date] = frozenset(holidays or ())

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def session_close(self, day: date) -> time:
        return self._early_closes.get(day, CLOSE)

    def settlement(self, expiry: date, am_settled: bool) -> datetime:
        """When the contract stops carrying gamma: 09:30 ET (AM) or the session close (PM)."""
        at = OPEN if am_settled else self.session_close(expiry)
        return datetime.combine(expiry, at, NY)

    def is_expired(self, now: datetime, expiry: date, am_settled: bool) -> bool:
        return _ny(now) >= self.settlement(expiry, am_settled)

    def minutes_to_expiry(self, now: datetime, expiry: date, am_settled: bool) -> float:
        """Regular-session minutes from ``now`` to settlement; 0.0 once settled."""
        start = _ny(now)
        settle = self.settlement(expiry, am_settled)
        total = 0.0
        day = start.date()
        # One step per calendar day: at most ~90 for the 60-DTE bucket, and callers cache
        # per expiry, so this is not on a per-contract path.
        while day <= expiry:
            if self.is_trading_day(day):
                lo = max(datetime.combine(day, OPEN, NY), start)
                hi = min(datetime.combine(day, self.session_close(day), NY), settle)
                if hi > lo:
                    # Same tzinfo on both sides: wall-clock difference, and no DST switch
                    # happens inside a session, so this is exact.
                    total += (hi - lo).total_seconds() / 60.0
            day += timedelta(days=1)
        return total

    def year_fraction(
        self,
        now: datetime,
        expiry: date,
        am_settled: bool,
        floor_minutes: float = DEFAULT_FLOOR_MINUTES,
    ) -> float:
        """T for Black-Scholes: max(trading minutes, floor) / (252 * 390).

        The floor also applies to settled contracts; callers drop those with ``is_expired``.
        """
        minutes = self.minutes_to_expiry(now, expiry, am_settled)
        return max(minutes, floor_minutes) / MINUTES_PER_YEAR
