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

__all__ = ["MAX_SPEED", "PlanError", "ReplayPlan", "parse_plan", "parse_speed", "session_bounds"]

ORIGINS = ("recorded", "massive", "simulated")
MAX_SPEED = 1000.0  # as a number; "max" means as fast as the replay's clients can take it


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


def session_bounds(date: dt.date) -> tuple[int, int]:
    """The exchange (New York) calendar day as [start, end) in Unix ms."""
    start = dt.datetime.combine(date, dt.time(), NY)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), NY)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


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
    unknown = sorted(set(body) - {"symbols", "date", "from", "to", "speed", "origin"})
    if unknown:
        raise PlanError(
            "bad_request",
            f"unknown field(s) {unknown}; expected symbols, date or from/to, speed, origin",
        )
    origin = body.get("origin")
    if origin is not None and origin not in ORIGINS:
        raise PlanError("bad_origin", f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}")
    symbols = _symbols(body.get("symbols"), known_symbols)
    speed = parse_speed(body.get("speed", 1))
    date: dt.date | None = None
    if "date" in body:
        if "from" in body or "to" in body:
            raise PlanError("bad_range", "give either date or from/to, not both")
        date = _date(body["date"])
        start, end = session_bounds(date)
        if start >= now_ms:
            raise PlanError("bad_date", f"{date.isoformat()} has not started yet")
        end = min(end, now_ms)
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
    return ReplayPlan(symbols, date, start, end, speed, origin)


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
