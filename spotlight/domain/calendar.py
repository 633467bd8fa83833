"""The NYSE calendar: full-day holidays (observed dates), 13:00 early closes and the
regular session's bounds (pure).

Used by the server (0DTE time to expiry, which days a Massive replay can cover, the
simulator's option expiries) and by the shipped fake Massive (market status, upcoming
holidays). Names are the ones Massive's market-holidays endpoint uses.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from spotlight.domain.nytime import ny_ms

__all__ = [
    "early_closes",
    "holidays",
    "is_trading_day",
    "nth_weekday",
    "previous_trading_day",
    "session_close_ms",
    "session_open_ms",
    "trading_days_from",
]


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + month // 12, month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _easter(year: int) -> date:
    # Anonymous Gregorian algorithm (Meeus/Jones/Butcher).
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    day = (h + el - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _observed(d: date) -> date:
    if d.weekday() == 5:
        return d - timedelta(days=1)
    if d.weekday() == 6:
        return d + timedelta(days=1)
    return d


@lru_cache(maxsize=64)
def holidays(year: int) -> dict[date, str]:
    """NYSE full-day closures of ``year`` (observed dates), with Massive's names."""
    out: dict[date, str] = {}
    new_year = date(year, 1, 1)
    if new_year.weekday() == 6:
        out[new_year + timedelta(days=1)] = "New Years Day"
    elif new_year.weekday() < 5:  # on a Saturday it is not observed (NYSE rule 7.2)
        out[new_year] = "New Years Day"
    out[nth_weekday(year, 1, 0, 3)] = "Martin Luther King, Jr. Day"
    out[nth_weekday(year, 2, 0, 3)] = "Washington's Birthday"
    out[_easter(year) - timedelta(days=2)] = "Good Friday"
    out[_last_weekday(year, 5, 0)] = "Memorial Day"
    if year >= 2022:
        out[_observed(date(year, 6, 19))] = "Juneteenth"
    out[_observed(date(year, 7, 4))] = "Independence Day"
    out[nth_weekday(year, 9, 0, 1)] = "Labor Day"
    out[nth_weekday(year, 11, 3, 4)] = "Thanksgiving"
    out[_observed(date(year, 12, 25))] = "Christmas"
    return out


@lru_cache(maxsize=64)
def early_closes(year: int) -> dict[date, str]:
    """NYSE 13:00 early closes of ``year``."""
    closed = holidays(year)
    out: dict[date, str] = {}
    july3 = date(year, 7, 3)
    if july3.weekday() < 5 and july3 not in closed:
        out[july3] = "Independence Day"
    out[nth_weekday(year, 11, 3, 4) + timedelta(days=1)] = "Thanksgiving"
    dec24 = date(year, 12, 24)
    if dec24.weekday() < 5 and dec24 not in closed:
        out[dec24] = "Christmas"
    return out


def is_trading_day(d: date) -> bool:
    return d.weekday() < 5 and d not in holidays(d.year)


def session_open_ms(d: date) -> int:
    """Unix ms of the 09:30 New York open on ``d`` (whether or not ``d`` trades)."""
    return ny_ms(d, 9, 30)


def session_close_ms(d: date) -> int:
    """Unix ms of the session close on ``d``: 13:00 on early-close days, else 16:00."""
    return ny_ms(d, 13, 0) if d in early_closes(d.year) else ny_ms(d, 16, 0)


def trading_days_from(d: date, n: int) -> list[date]:
    """The first ``n`` trading days on or after ``d``."""
    out: list[date] = []
    while len(out) < n:
        if is_trading_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def previous_trading_day(d: date) -> date:
    """The last trading day strictly before ``d``."""
    d -= timedelta(days=1)
    while not is_trading_day(d):
        d -= timedelta(days=1)
    return d
