"""Exchange-session time for option expiries (pure: no I/O, no clock of its own).

Why trading time: 0DTE gamma scales with 1/sqrt(T), so the T convention dominates 0DTE GEX
(spx-analytics.md section 1). We count only regular-session minutes (09:30-16:00 ET, or to the
early close) between ``now`` and settlement and divide by a trading-time year of 252 * 390
minutes; nights, weekends and holidays add no time because the index cannot move then.

Overnight: the index does not trade between sessions, but the next open still gaps. A
contract that lives across a close-to-open gap carries that variance, so each gap counts as
``OVERNIGHT_MINUTES`` of session-equivalent time (pro rata while a gap is under way). That is
what makes an AM-settled monthly on the afternoon before its expiry carry the overnight to
the opening print instead of only the minutes left in the session.

All datetimes must be timezone-aware; they are converted to America/New_York here, so callers
may pass UTC. Settlement: PM-settled contracts (SPXW, SPY) settle at the session close of the
expiry day; AM-settled ``O:SPX`` monthlies settle on the 09:30 opening print. A contract is
*live* (it carries gamma that dealers hedge) while a session is left before its settlement:
an AM-settled monthly stops being live at the close of the session before its expiry day.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import date, datetime, time, timedelta
from typing import Final

from spotlight.domain import calendar as nyse
from spotlight.domain.nytime import NY

OPEN: Final = time(9, 30)
CLOSE: Final = time(16, 0)
# A trading-time year: 252 sessions of 390 minutes. Massive's own basis is undocumented, so
# comparing with vendor greeks needs this stated (it is in the GEX channel's metadata).
MINUTES_PER_YEAR: Final = 252 * 390
# About a quarter hour: without a floor, gamma of an ATM 0DTE contract diverges as the bell
# nears and a single strike swamps the profile (the spec recommends 10-15 min).
DEFAULT_FLOOR_MINUTES: Final = 15.0
# One close-to-open gap in session-equivalent minutes. The S&P 500's overnight (close to next
# open) return carries about a quarter of its daily variance, so a gap is worth
# 390 * 0.25 / 0.75 = 130 session minutes. A weekend or holiday gap counts once, like a
# weeknight: variance does not accrue with calendar time while the market is shut.
OVERNIGHT_MINUTES: Final = 130.0
# Carry (discounting, the forward) accrues on calendar time: ACT/365.
_CALENDAR_YEAR_MINUTES: Final = 365.0 * 24 * 60


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

    def is_live(self, now: datetime, expiry: date, am_settled: bool) -> bool:
        """Whether any regular-session time is left before settlement (see module docstring):
        False for an AM-settled monthly from the close before its expiry day onwards."""
        return self.minutes_to_expiry(now, expiry, am_settled) > 0.0

    def session_minutes_left(self, now: datetime) -> float:
        """Regular-session minutes left today (0 outside a session, or on a closed day)."""
        day = _ny(now).date()
        return self.minutes_to_expiry(now, day, am_settled=False)

    def session_length(self, day: date) -> float:
        """Minutes of the regular session on ``day`` (210 on a 13:00 close; 0 when closed)."""
        if not self.is_trading_day(day):
            return 0.0
        close = datetime.combine(day, self.session_close(day), NY)
        return (close - datetime.combine(day, OPEN, NY)).total_seconds() / 60.0

    def session_bounds(self, day: date) -> tuple[datetime, datetime] | None:
        """The regular session of ``day`` (09:30 to the close, ET), None when closed."""
        if not self.is_trading_day(day):
            return None
        return datetime.combine(day, OPEN, NY), datetime.combine(day, self.session_close(day), NY)

    def previous_trading_day(self, day: date) -> date:
        """The last trading day strictly before ``day``."""
        prev = day - timedelta(days=1)
        for _ in range(14):  # no exchange closes for two weeks; a bound, not a loop forever
            if self.is_trading_day(prev):
                break
            prev -= timedelta(days=1)
        return prev

    def _previous_close(self, day: date) -> datetime:
        prev = self.previous_trading_day(day)
        return datetime.combine(prev, self.session_close(prev), NY)

    def variance_minutes(self, now: datetime, expiry: date, am_settled: bool) -> float:
        """Session minutes to settlement plus ``OVERNIGHT_MINUTES`` per close-to-open gap
        still ahead (the gap under way counts for the share of it not yet elapsed)."""
        start = _ny(now)
        settle = self.settlement(expiry, am_settled)
        if start >= settle:
            return 0.0
        total = self.minutes_to_expiry(now, expiry, am_settled)
        day = start.date()
        while day <= expiry:
            if self.is_trading_day(day):
                opens = datetime.combine(day, OPEN, NY)
                if start < opens <= settle:
                    closed = self._previous_close(day)
                    gap = (opens - closed).total_seconds()
                    left = (opens - max(start, closed)).total_seconds()
                    total += OVERNIGHT_MINUTES * (left / gap if gap > 0 else 1.0)
            day += timedelta(days=1)
        return total

    def carry_years(self, now: datetime, expiry: date, am_settled: bool) -> float:
        """Calendar years (ACT/365) to settlement, for discounting and the forward."""
        seconds = (self.settlement(expiry, am_settled) - _ny(now)).total_seconds()
        return max(seconds / 60.0, 0.0) / _CALENDAR_YEAR_MINUTES

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
        """T for Black-Scholes: max(variance minutes, floor) / (252 * 390): session minutes
        plus the overnight gaps ahead (``variance_minutes``).

        The floor also applies to settled contracts; callers drop those with ``is_live``.
        """
        minutes = self.variance_minutes(now, expiry, am_settled)
        return max(minutes, floor_minutes) / MINUTES_PER_YEAR


_calendars: dict[int, SessionCalendar] = {}  # {year: NYSE calendar of that year and the next}


def nyse_calendar(year: int) -> SessionCalendar:
    """Holidays and 13:00 early closes of ``year`` and ``year + 1`` (NYSE rules, so 0DTE
    time to expiry is right on the day after Thanksgiving and on Christmas Eve)."""
    cal = _calendars.get(year)
    if cal is None:
        years = (year, year + 1)
        cal = _calendars[year] = SessionCalendar(
            early_closes={d: time(13, 0) for y in years for d in nyse.early_closes(y)},
            holidays={d for y in years for d in nyse.holidays(y)},
        )
    return cal
