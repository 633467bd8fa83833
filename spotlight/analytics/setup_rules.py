"""The setup rules, one function per kind (spec section 9): inputs -> a ``Plan`` or None.

Shared definitions (see ``setups.py``): a *rejection* is the latest 1- or 5-minute bar trading
through the level and closing back; *acceptance* is two 5-minute closes beyond it; b is the
buffer. Each rule states its own entry, stop, targets and invalidation. Pure module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from spotlight.analytics.clusters import Zone
from spotlight.analytics.setup_types import (
    OR_MINUTES,
    ORB_WINDOW_MS,
    PIN_SIGMA,
    PIN_WINDOW_MS,
    VWAP_RECLAIM_MS,
    WALL_PROXIMITY,
    Plan,
    SetupInputs,
    State,
)
from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY

__all__ = [
    "call_wall_fade",
    "flip_breakdown",
    "flip_breakout",
    "late_pins",
    "opening_range_breakout",
    "put_wall_bounce",
    "vwap_cross",
]


def _gamma(inp: SetupInputs) -> str:
    return inp.regime.gamma if inp.regime is not None else "UNKNOWN"


def _rejected_below(bars: Sequence[Bar], level: float) -> bool:
    """Latest bar traded above ``level`` and closed back below it."""
    return bool(bars) and bars[-1].high > level and bars[-1].close < level


def _rejected_above(bars: Sequence[Bar], level: float) -> bool:
    return bool(bars) and bars[-1].low < level and bars[-1].close > level


def _accepted(bars_5m: Sequence[Bar], level: float, above: bool) -> bool:
    if len(bars_5m) < 2:
        return False
    closes = (bars_5m[-2].close, bars_5m[-1].close)
    return all(c > level for c in closes) if above else all(c < level for c in closes)


def call_wall_fade(inp: SetupInputs, b: float) -> Plan | None:
    wall = inp.call_wall
    if wall is None or _gamma(inp) != "POS" or inp.call_wall_moved_up:
        return None
    if abs(wall - inp.spot) > WALL_PROXIMITY * inp.spot:
        return None
    state: State = "watching"
    entry = wall
    if _accepted(inp.bars_5m, wall, above=True) or inp.spot > wall + b:
        state = "invalidated"
    elif inp.spot < wall and (
        _rejected_below(inp.bars_1m, wall) or _rejected_below(inp.bars_5m, wall)
    ):
        state, entry = "triggered", inp.spot
    return Plan(
        "call_wall_fade", "short", state, "call_wall", wall, entry, wall + b,
        (inp.vwap, inp.ags if inp.ags is not None else inp.flip),
        f"a trade above {wall + b:.2f} (wall + b) or two 5-min closes above {wall:.2f}",
        "positive gamma: dealers sell into strength at the call wall",
    )  # fmt: skip


def put_wall_bounce(inp: SetupInputs, b: float) -> Plan | None:
    wall = inp.put_wall
    if wall is None or _gamma(inp) not in ("POS", "TRANSITION") or inp.put_wall_moved_down:
        return None
    if abs(inp.spot - wall) > WALL_PROXIMITY * inp.spot:
        return None
    state: State = "watching"
    entry = wall
    if _accepted(inp.bars_5m, wall, above=False) or inp.spot < wall - b:
        state = "invalidated"
    elif inp.spot > wall and (
        _rejected_above(inp.bars_1m, wall) or _rejected_above(inp.bars_5m, wall)
    ):
        state, entry = "triggered", inp.spot
    return Plan(
        "put_wall_bounce", "long", state, "put_wall", wall, entry, wall - b,
        (inp.vwap, inp.ags),
        f"a trade below {wall - b:.2f} (wall - b) or two 5-min closes below {wall:.2f}",
        "dealers buy weakness at the put wall in positive or transition gamma",
    )  # fmt: skip


def _crossed(bars_5m: Sequence[Bar], level: float, above: bool) -> bool:
    """Two 5-min closes beyond ``level`` after an earlier close on the other side."""
    if not _accepted(bars_5m, level, above):
        return False
    before = bars_5m[:-2]
    return any((c.close <= level) if above else (c.close >= level) for c in before)


def flip_breakout(inp: SetupInputs, b: float) -> Plan | None:
    flip = inp.flip
    if flip is None or not _crossed(inp.bars_5m, flip, above=True):
        return None
    if inp.net_gex is not None and inp.net_gex < 0:
        return None
    state: State = "watching"
    entry = flip
    last = inp.bars_1m[-1] if inp.bars_1m else None
    if inp.spot < flip - b:
        state = "invalidated"
    elif last is not None and last.low <= flip + b and last.close > flip and inp.spot > flip:
        state, entry = "triggered", inp.spot
    return Plan(
        "gamma_flip_breakout", "long", state, "flip", flip, entry, flip - b,
        (inp.ags, inp.call_wall),
        f"a trade below {flip - b:.2f} (flip - b)",
        "accepted above the gamma flip: dealers turn stabilizing; buy the retest from above",
    )  # fmt: skip


def flip_breakdown(inp: SetupInputs, b: float) -> Plan | None:
    flip = inp.flip
    if flip is None or not _crossed(inp.bars_5m, flip, above=False):
        return None
    state: State = "watching"
    entry = flip
    last = inp.bars_1m[-1] if inp.bars_1m else None
    if inp.spot > flip + b:
        state = "invalidated"
    elif last is not None and last.high >= flip - b and last.close < flip and inp.spot < flip:
        state, entry = "triggered", inp.spot
    trail = None if inp.vwap is None or inp.vwap_sigma is None else inp.vwap - inp.vwap_sigma
    return Plan(
        "gamma_flip_breakdown", "short", state, "flip", flip, entry, flip + b,
        (inp.put_wall, entry - inp.sigma_remaining),
        f"a trade above {flip + b:.2f} (flip + b)",
        "accepted below the gamma flip (negative gamma: momentum, expect a 1-sigma range)"
        + ("" if trail is None else f"; trail with VWAP -1 sigma {trail:.2f}"),
    )  # fmt: skip


def _runs(bars: Sequence[Bar], vwap: float) -> list[tuple[int, int, int]]:
    """Runs of 1-min closes on one side of VWAP as (side +1/-1, first index, last index).
    A close exactly at VWAP stays in the current run."""
    runs: list[tuple[int, int, int]] = []
    for i, bar in enumerate(bars):
        side = 1 if bar.close > vwap else -1 if bar.close < vwap else 0
        if runs and (side == 0 or side == runs[-1][0]):
            runs[-1] = (runs[-1][0], runs[-1][1], i)
        elif side != 0:
            runs.append((side, i, i))
    return runs


def vwap_cross(inp: SetupInputs, b: float, sign: int) -> Plan | None:
    """VWAP reclaim (sign +1, long) or reject (sign -1, short)."""
    vwap, bars = inp.vwap, inp.bars_1m
    if vwap is None:
        return None
    runs = _runs(bars, vwap)
    held = [
        k for k in range(1, len(runs))
        if runs[k][0] == sign and runs[k - 1][0] == -sign
        and bars[runs[k - 1][2]].start_ms - bars[runs[k - 1][1]].start_ms + 60_000
        >= VWAP_RECLAIM_MS
    ]  # fmt: skip
    # Only the latest cross counts, and only while price is still on its side or dipped once.
    if not held or held[-1] < len(runs) - 2:
        return None
    start = runs[held[-1]][1]
    after = bars[start + 1 :]
    last_close = bars[-1].close
    stop = vwap - sign * b
    state: State = "watching"
    entry = vwap
    retests = [
        x for x in after if sign * (x.close - vwap) > 0 and (
            x.low <= vwap + b if sign > 0 else x.high >= vwap - b)
    ]  # fmt: skip
    if min(sign * (last_close - stop), sign * (inp.spot - stop)) < 0:
        state = "invalidated"
    elif held[-1] == len(runs) - 1 and retests:
        x = retests[-1]
        extreme = x.low if sign > 0 else x.high
        stop = min(extreme, stop) if sign > 0 else max(extreme, stop)
        state, entry = "triggered", x.close
    sigma = inp.vwap_sigma
    band = None if sigma is None else vwap + sign * sigma
    kind = "vwap_reclaim" if sign > 0 else "vwap_reject"
    return Plan(
        kind, "long" if sign > 0 else "short", state, "vwap", vwap, entry, stop,
        (band, _next_zone(inp.zones, band if band is not None else entry, sign)),
        f"a 1-min close {'below' if sign > 0 else 'above'} {stop:.2f}",
        f"price held {'below' if sign > 0 else 'above'} VWAP for 30+ min, then "
        f"{'reclaimed' if sign > 0 else 'lost'} it; best in positive gamma",
        id_step=5.0,
    )  # fmt: skip


def _next_zone(zones: Sequence[Zone], beyond: float, sign: int) -> float | None:
    centers = [z.center for z in zones if sign * (z.center - beyond) > 0]
    if not centers:
        return None
    return min(centers) if sign > 0 else max(centers)


def _or_end_ms(inp: SetupInputs) -> int:
    if inp.or_end_ms is not None:
        return inp.or_end_ms
    day = datetime.fromtimestamp(inp.now_ms / 1000, NY).date()
    return int(datetime.combine(day, time(9, 30), NY).timestamp() * 1000) + OR_MINUTES * 60_000


def opening_range_breakout(inp: SetupInputs, b: float, sign: int) -> Plan | None:
    """A 5-minute close outside the opening range, within ``ORB_WINDOW_MS`` of its end.

    Watching while price sits within b of the edge inside the range (only during the window);
    triggered while the latest 5-minute close is beyond the edge after a break in the window
    (entry: the breaking bar's close); invalidated by re-entry into the range.
    """
    hi, lo, mid = inp.or_high, inp.or_low, inp.or_mid
    if not inp.or_complete or hi is None or lo is None or mid is None or hi <= lo:
        return None
    edge = hi if sign > 0 else lo
    width = hi - lo
    deadline = _or_end_ms(inp) + ORB_WINDOW_MS
    breaks = [
        x for x in inp.bars_5m
        if sign * (x.close - edge) > 0 and x.start_ms + 5 * 60_000 <= deadline
    ]  # fmt: skip
    outside = [x for x in inp.bars_5m if x.close > hi or x.close < lo]
    last5 = inp.bars_5m[-1].close if inp.bars_5m else inp.spot
    last1 = inp.bars_1m[-1].close if inp.bars_1m else inp.spot
    state: State
    entry = edge
    if breaks and sign * (last5 - edge) > 0:
        state, entry = "triggered", breaks[0].close
    elif breaks and sign * (outside[-1].close - edge) > 0 and lo <= last1 <= hi:
        state = "invalidated"
    elif (
        not breaks and inp.now_ms < deadline and abs(inp.spot - edge) <= b and lo <= inp.spot <= hi
    ):
        state = "watching"
    else:
        return None
    return Plan(
        "opening_range_breakout", "long" if sign > 0 else "short", state,
        "or_high" if sign > 0 else "or_low", edge, entry, mid,
        tuple(edge + sign * k * width for k in (1.0, 1.5, 2.0)),
        f"re-entry into the opening range ({lo:.2f}-{hi:.2f}); stop at OR mid {mid:.2f}, "
        f"the wider stop is the opposite side {lo if sign > 0 else hi:.2f}",
        "5-min close outside the opening range within 90 minutes of its end; works better "
        "in negative gamma or RV_hot",
    )  # fmt: skip


def late_pins(inp: SetupInputs, b: float) -> list[Plan]:
    """In the session's last ``PIN_WINDOW_MS`` (from its own close), positive gamma: a pin
    toward the AGS or the max net strike when spot is within 0.5 sigma of it."""
    close = inp.session_close_ms
    if close is None or close - inp.now_ms > PIN_WINDOW_MS or _gamma(inp) != "POS":
        return []
    sigma = max(inp.sigma_remaining, b)
    plans: list[Plan] = []
    seen: set[float] = set()
    for name, strike in (("ags", inp.ags), ("max_net_strike", inp.max_net_strike)):
        if strike is None or strike in seen or inp.spot == strike:
            continue
        seen.add(strike)
        if abs(inp.spot - strike) > PIN_SIGMA * inp.sigma_remaining:
            continue
        sign = 1 if inp.spot < strike else -1  # fade the move away: back toward the strike
        state: State = "triggered" if abs(inp.spot - strike) >= b else "watching"
        plans.append(Plan(
            "late_day_pin", "long" if sign > 0 else "short", state, name, strike, inp.spot,
            inp.spot - sign * sigma, (strike,),
            f"a move of 1 sigma ({sigma:.2f} pt) beyond entry, or the close",
            "in the last 90 minutes in positive gamma, price tends to pin to a large 0DTE "
            "strike",
        ))  # fmt: skip
    return plans
