"""What a replay request asks for, validated: symbols, a time range, a speed.

Pure: no clock (``now_ms`` is an argument) and no I/O. Every rejection is a ``PlanError``
with a code and a message that says what is accepted, so the API can answer a clear 400.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spotlight.domain.nytime import NY
from spotlight.domain.ticks import is_index

__all__ = [
    "MAX_SPEED",
    "STARTS",
    "PlanError",
    "ReplayPlan",
    "parse_plan",
    "parse_speed",
    "session_bounds",
    "session_open_ms",
]

ORIGINS = ("recorded", "massive", "simulated")
MAX_SPEED = 1000.0  # as a number; "max" means as fast as the replay's clients can take it
# Where a date's replay starts: "open" is 09:30 New York, the regular session's open (an
# index has no values before it, so a replay from midnight sat at 94 % before its first
# candle, issue 15); "midnight" is the whole exchange day (pre-market prints of a stock).
STARTS = ("open", "midnight")
SESSION_OPEN = dt.time(9, 30)


class PlanError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    symbols: tuple[str, ...]
    date: dt.date | None  # the exchange date asked for, when the request named one
    from_ms: int
    to_ms: int
    speed: float | None  # None: as fast as possible
    origin: str | None = None  # "recorded", "massive" or "simulated"; None: the first with data
    start: str | None = None  # "open" or "midnight" for a date; None for a from/to range


def session_bounds(date: dt.date) -> tuple[int, int]:
    """The exchange (New York) calendar day as [start, end) in Unix ms."""
    start = dt.datetime.combine(date, dt.time(), NY)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), NY)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def session_open_ms(date: dt.date) -> int:
    """09:30 New York on ``date`` in Unix ms (the NYSE opens at 09:30 on every session,
    early-close days included)."""
    return int(dt.datetime.combine(date, SESSION_OPEN, NY).timestamp() * 1000)


def parse_speed(value: object) -> float | None:
    if value == "max":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlanError(
            "bad_speed", f'speed must be a number from 1 to {MAX_SPEED:g} or "max", not {value!r}'
        )
    if not 1 <= value <= MAX_SPEED:
        raise PlanError(
            "bad_speed", f'speed must be from 1 to {MAX_SPEED:g} (or "max"), not {value!r}'
        )
    return float(value)


def parse_plan(
    body: Mapping[str, Any],
    *,
    known_symbols: Sequence[str],
    now_ms: int,
    max_range_s: float,
) -> ReplayPlan:
    unknown = sorted(set(body) - {"symbols", "date", "start", "from", "to", "speed", "origin"})
    if unknown:
        raise PlanError(
            "bad_request",
            f"unknown field(s) {unknown}; expected symbols, date (and start) or from/to, "
            "speed, origin",
        )
    origin = body.get("origin")
    if origin is not None and origin not in ORIGINS:
        raise PlanError("bad_origin", f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
    symbols = _symbols(body.get("symbols"), known_symbols)
    speed = parse_speed(body.get("speed", 1))
    date: dt.date | None = None
    start_at: str | None = None
    if "date" in body:
        if "from" in body or "to" in body:
            raise PlanError("bad_range", "give either date or from/to, not both")
        date = _date(body["date"])
        start, end = session_bounds(date)
        if start >= now_ms:
            raise PlanError("bad_date", f"{date.isoformat()} has not started yet")
        start, start_at = _day_start(date, body.get("start"), symbols, now_ms, start)
        end = min(end, now_ms)
    elif "start" in body:
        raise PlanError("bad_start", "start (open or midnight) goes with a date, not from/to")
    elif "from" in body and "to" in body:
        start, end = _instant(body["from"], "from"), _instant(body["to"], "to")
        if end <= start:
            raise PlanError("bad_range", "to must be after from")
        if start >= now_ms:
            raise PlanError("bad_range", "from is in the future")
        end = min(end, now_ms)
    else:
        raise PlanError("bad_range", "give date (YYYY-MM-DD) or both from and to")
    if (end - start) / 1000 > max_range_s:
        raise PlanError(
            "bad_range",
            f"range is {(end - start) / 3_600_000:.1f} h; at most {max_range_s / 3600:g} h",
        )
    return ReplayPlan(symbols, date, start, end, speed, origin, start_at)


def _day_start(
    date: dt.date, asked: object, symbols: Sequence[str], now_ms: int, midnight_ms: int
) -> tuple[int, str]:
    """Where a date's replay starts, and which of STARTS that is. Default: the open when the
    replay includes an index, else midnight; a default open that is still to come (today
    before 09:30) falls back to midnight, an asked-for one is refused."""
    if asked is not None and asked not in STARTS:
        raise PlanError("bad_start", f"start must be one of {', '.join(STARTS)}, not {asked!r}")
    name = asked if isinstance(asked, str) else None
    if name is None:
        name = "open" if any(is_index(s) for s in symbols) else "midnight"
    if name == "midnight":
        return midnight_ms, name
    open_ms = session_open_ms(date)
    if open_ms < now_ms:
        return open_ms, name
    if asked is None:
        return midnight_ms, "midnight"
    raise PlanError(
        "bad_start",
        f"the {date.isoformat()} session opens at 09:30 New York, which has not come yet; "
        'replay it with "start": "midnight"',
    )


def _symbols(value: object, known: Sequence[str]) -> tuple[str, ...]:
    if value is None:
        return tuple(known)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) for s in items):
        raise PlanError("bad_symbols", 'symbols must be a list of strings like ["SPY", "I:SPX"]')
    wanted = [s.strip().upper() for s in items if s.strip()]
    if not wanted:
        raise PlanError("bad_symbols", "symbols is empty")
    bad = [s for s in wanted if s not in known]
    if bad:
        raise PlanError("unknown_symbol", f"unknown symbol(s) {bad}; known: {list(known)}")
    return tuple(dict.fromkeys(wanted))


def _date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise PlanError("bad_date", f"date must be a string YYYY-MM-DD, not {value!r}")
    try:
        if len(value) != 10:
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PlanError("bad_date", f"date must look like 2026-11-20, not {value!r}") from None


def _instant(value: object, name: str) -> int:
    """ISO 8601 with an offset (``2026-11-20T14:30:00Z``) or Unix milliseconds."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise PlanError("bad_range", f"{name} must be positive Unix milliseconds")
        return value
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                raise PlanError(
                    "bad_range", f"{name}={value!r} needs a UTC offset (e.g. Z or -05:00)"
                )
            return int(parsed.timestamp() * 1000)
    raise PlanError(
        "bad_range", f"{name} must be ISO 8601 with an offset or Unix ms, not {value!r}"
    )
