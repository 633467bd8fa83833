"""Past 1-minute bars from Massive: the backfill at start and whole days for replays.

Both ask for 1-minute aggregates per symbol and turn them into domain bars; the backfill
keeps the newest ``BACKFILL_SESSIONS`` sessions of what it got and reports, per symbol, what
failed, was cut short by the page cap or came from a looping cursor (a partial backfill is
still a start: the feed says ``degraded`` with the reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from spotlight.domain.bars import Bar
from spotlight.domain.nytime import ny_date
from spotlight.market.massive.client import MassiveClient
from spotlight.market.massive.errors import MassiveError
from spotlight.market.massive.models import Aggregates

__all__ = ["BACKFILL_CALENDAR_DAYS", "BACKFILL_SESSIONS", "backfill_bars", "minute_bars"]

# Days of 1-minute bars asked for at start; the newest two sessions in them are kept (a range
# of 6 calendar days always contains the previous session, across weekends and holidays).
BACKFILL_CALENDAR_DAYS = 6
BACKFILL_SESSIONS = 2


async def backfill_bars(
    client: MassiveClient, symbols: Sequence[str], today: dt.date
) -> tuple[dict[str, list[Bar]], list[str]]:
    """Today's and the previous session's 1-minute bars per symbol, and one problem line per
    symbol that failed (those symbols are missing from the bars)."""
    start = today - dt.timedelta(days=BACKFILL_CALENDAR_DAYS)
    out: dict[str, list[Bar]] = {}
    problems: list[str] = []
    for symbol in symbols:
        try:
            aggs = await client.aggregates(
                symbol, 1, "minute", start.isoformat(), today.isoformat()
            )
        except MassiveError as exc:
            problems.append(f"{symbol}: {exc}")
            continue
        if aggs.partial:
            problems.append(
                f"{symbol}: partial, the aggregates walk stopped at the page cap "
                f"({len(aggs.bars)} bars kept)"
            )
        elif aggs.looped:
            # The bars are all there once (a loop only repeats pages): worth a note, not data
            # thrown away.
            problems.append(
                f"{symbol}: Massive's next_url repeated a cursor (a known upstream bug); "
                f"{len(aggs.bars)} bars kept, de-duplicated"
            )
        out[symbol] = _last_sessions(_bars(symbol, aggs), BACKFILL_SESSIONS)
    return out, problems


async def minute_bars(
    client: MassiveClient, symbols: Sequence[str], start: dt.date, end: dt.date
) -> dict[str, list[Bar]]:
    """1-minute aggregates of ``symbols`` from ``start`` to ``end`` (exchange dates,
    inclusive), for replays of days that were not recorded. Raises ``MassiveError``."""
    out: dict[str, list[Bar]] = {}
    for symbol in symbols:
        aggs = await client.aggregates(symbol, 1, "minute", start.isoformat(), end.isoformat())
        out[symbol] = _bars(symbol, aggs)
    return out


def _bars(symbol: str, aggs: Aggregates) -> list[Bar]:
    return [Bar(symbol, "1m", b.t_ms, b.o, b.h, b.l, b.c, b.v or 0.0, b.n or 0) for b in aggs.bars]


def _last_sessions(bars: list[Bar], sessions: int) -> list[Bar]:
    """The bars of the newest ``sessions`` New York trading dates present in ``bars``."""
    if not bars:
        return []
    dates = sorted({ny_date(b.start_ms) for b in bars})
    keep = set(dates[-sessions:])
    return [b for b in bars if ny_date(b.start_ms) in keep]
