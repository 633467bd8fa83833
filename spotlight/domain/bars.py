"""OHLCV candles built from trades, and rollups from 1-minute bars to larger timeframes.

Candle rules (these are documented to users):

* Buckets are aligned to exchange time, America/New_York. An hourly bar starts on the
  hour in New York, a 5-minute bar on a multiple of 5 minutes, and so on.
* A daily bar covers one New York calendar day (the session day). Its start time is New
  York local midnight of that date, so DST-change days are 23 or 25 hours long. The daily
  bar updates in place through the day and closes when the New York date changes.
* A trade inside the current bucket updates that bar: high, low and close move, volume
  grows by the trade size and the trade count grows by one.
* A trade in a later bucket closes the current bar and opens the next one from that
  trade. Buckets with no trades are skipped: empty bars are never invented.
* A trade older than the current 1-minute bucket arrives too late to change a bar that
  has already been published; it is ignored and counted as stale.
* Index symbols (``I:SPX``) have no volume: their bars always have volume 0.
* Every timeframe above 1 minute is computed from the 1-minute bars, never from a separate
  feed: a 15-minute bar is exactly the aggregation of the 1-minute bars in its 15 minutes.
  History at any timeframe therefore only reaches as far back as the 1-minute buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from spotlight.domain.nytime import NY

__all__ = [
    "HIGHER_TIMEFRAMES",
    "MINUTE_MS",
    "TIMEFRAMES",
    "Bar",
    "UnknownTimeframe",
    "bucket_start",
    "merge",
    "parse_timeframe",
    "retag",
    "rollup",
]

TIMEFRAMES: tuple[str, ...] = ("1m", "5m", "15m", "30m", "1h", "1d")

MINUTE_MS = 60_000
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1)

# Fixed-width timeframes. New York's UTC offset is always a whole number of hours (-5 or
# -4), and every width here divides an hour, so flooring the UTC timestamp gives the same
# instant as flooring New York wall time: (t + off) - (t + off) % w == t - t % w + off when
# off % w == 0. DST switches also happen on an hour boundary, so no bucket of 1h or less
# straddles a switch. That keeps the per-tick path to one modulo.
_WIDTH_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
}
HIGHER_TIMEFRAMES: tuple[str, ...] = TIMEFRAMES[1:]


class UnknownTimeframe(ValueError):
    """A timeframe string that is not one of :data:`TIMEFRAMES`."""

    def __init__(self, text: object) -> None:
        super().__init__(f"unknown timeframe {text!r}; valid timeframes: {', '.join(TIMEFRAMES)}")
        self.text = text


def parse_timeframe(text: str) -> str:
    """Return ``text`` if it is a valid timeframe, else raise :class:`UnknownTimeframe`.

    Matching is exact (case-sensitive): "1M" could be read as a month, so it is rejected
    rather than guessed at.
    """
    if text not in TIMEFRAMES:
        raise UnknownTimeframe(text)
    return text


@lru_cache(maxsize=1024)
def _ny_midnight(utc_day: int) -> int:
    """Unix ms of New York local midnight on the calendar date numbered ``utc_day``.

    Midnight always exists and is unambiguous in New York (DST switches at 02:00).
    Cached because the daily bucket is computed on the tick path and the answer only
    changes once a day; 1024 entries covers years of replay at a few KB.
    """
    d = _EPOCH + timedelta(days=utc_day)
    offset = datetime(d.year, d.month, d.day, tzinfo=NY).utcoffset()
    assert offset is not None  # a ZoneInfo-aware datetime always has an offset
    return utc_day * _DAY_MS - (offset.days * 86_400 + offset.seconds) * 1000


def _day_start(ts_ms: int) -> int:
    # New York midnight falls at 04:00 or 05:00 UTC, i.e. inside the UTC day with the same
    # date. So the New York date of ts is either its UTC date or the day before.
    day = ts_ms // _DAY_MS
    start = _ny_midnight(day)
    return start if ts_ms >= start else _ny_midnight(day - 1)


def bucket_start(ts_ms: int, timeframe: str) -> int:
    """Start (Unix ms) of the ``timeframe`` bucket holding ``ts_ms``, in New York time."""
    width = _WIDTH_MS.get(timeframe)
    if width is not None:
        return ts_ms - ts_ms % width
    if timeframe == "1d":
        return _day_start(ts_ms)
    raise UnknownTimeframe(timeframe)


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV candle. ``start_ms`` is the bucket start; ``trades`` counts folded ticks."""

    symbol: str
    timeframe: str
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int

    def to_json(self) -> dict[str, object]:
        return {
            "s": self.symbol,
            "tf": self.timeframe,
            "t": self.start_ms,
            "o": self.open,
            "h": self.high,
            "l": self.low,
            "c": self.close,
            "v": self.volume,
            "n": self.trades,
        }


def merge(a: Bar, b: Bar) -> Bar:
    """Fold the later bar ``b`` into ``a``; identity, bucket and open come from ``a``."""
    return Bar(
        a.symbol,
        a.timeframe,
        a.start_ms,
        a.open,
        a.high if a.high >= b.high else b.high,
        a.low if a.low <= b.low else b.low,
        b.close,
        a.volume + b.volume,
        a.trades + b.trades,
    )


def retag(bar: Bar, timeframe: str, start_ms: int) -> Bar:
    return Bar(
        bar.symbol,
        timeframe,
        start_ms,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.trades,
    )


def rollup(minute_bars: Sequence[Bar], timeframe: str) -> list[Bar]:
    """Aggregate 1-minute bars (sorted by ``start_ms``) into ``timeframe`` bars.

    Only buckets that contain at least one minute bar produce a bar.
    """
    parse_timeframe(timeframe)
    if timeframe == "1m":
        return list(minute_bars)
    out: list[Bar] = []
    for bar in minute_bars:
        start = bucket_start(bar.start_ms, timeframe)
        if out and out[-1].start_ms == start:
            out[-1] = merge(out[-1], bar)
        else:
            out.append(retag(bar, timeframe, start))
    return out
