"""New York time: the exchange's clock, in one place (pure).

Every bucket, session and expiry in Spotlight is aligned to America/New_York; this module
holds the one timezone constant and the conversions between Unix milliseconds (how every
tick and bar carries time) and New York dates and wall-clock times.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["NY", "ny_date", "ny_datetime", "ny_midnight_ms", "ny_ms"]

NY: Final = ZoneInfo("America/New_York")


def ny_datetime(ms: int) -> datetime:
    """The aware New York datetime of Unix ms ``ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=NY)


def ny_date(ms: int) -> date:
    """The New York calendar date (the session day) of Unix ms ``ms``."""
    return datetime.fromtimestamp(ms / 1000, tz=NY).date()


def ny_ms(d: date, hour: int = 0, minute: int = 0) -> int:
    """Unix ms of New York wall time ``hour:minute`` on ``d``."""
    return int(datetime(d.year, d.month, d.day, hour, minute, tzinfo=NY).timestamp() * 1000)


@lru_cache(maxsize=4096)
def ny_midnight_ms(d: date) -> int:
    """Unix ms of New York midnight starting ``d`` (cached: asked for on per-bar paths)."""
    return ny_ms(d)
