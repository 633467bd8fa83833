"""Trade-setup detection from levels, bars and regime (spec section 9).

Practitioner heuristics, not validated edges. Shared definitions:

* Rejection: the latest 1-min or 5-min bar trades through the level and closes back on the
  side it came from (short at a level above: high > level, close < level).
* Acceptance: the last two 5-min closes are beyond the level.
* Buffer b = max(2 points, 0.1 x the 1-sigma remaining-session move).

Each :class:`Setup` states entry, stop, targets and invalidation. Stops are always on the
losing side of the entry and targets on the winning side; a candidate whose targets would not
be beyond the entry gets the fallback target entry +/- max(b, 0.5 sigma). ``distance_points``
is spot - level (signed), ``distance_sigma`` the same in remaining-session sigmas (None when
sigma is not positive). ``level_score`` is the best score of a confluence zone holding the
level (None when no zone does).

Ids are ``<kind>@<level rounded>`` so repeated calls on moving data keep the same id: strikes
and the flip round to whole points, VWAP to 5 points because it drifts every bar.

Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from spotlight.analytics.clusters import Zone
from spotlight.analytics.regime import RegimeLabel
from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY

__all__ = ["Setup", "SetupInputs", "buffer_points", "detect_setups"]

Direction = Literal["long", "short"]
State = Literal["watching", "triggered", "invalidated"]

MIN_BUFFER = 2.0  # points: below this, ordinary SPX tick noise would hit the stop
BUFFER_SIGMA_FRACTION = 0.1
WALL_PROXIMITY = 0.0015  # 0.15% of spot (about 8-10 points at SPX 6000), spec section 9
VWAP_RECLAIM_MS = 30 * 60_000  # price must have held the other side of VWAP for 30 minutes
PIN_SIGMA = 0.5  # late-day pin: spot within 0.5 sigma of the pin strike
PIN_START_MIN = 14 * 60 + 30  # 14:30 New York time, minutes after midnight


@dataclass(frozen=True, slots=True)
class Setup:
    """One setup. ``targets`` are nearest first; ``freshness`` is the inputs' data note."""

    id: str
    kind: str
    direction: Direction
    state: State
    level_name: str
    level: float
    entry: float
    stop: float
    targets: tuple[float, ...]
    invalidation: str
    regime: str
    distance_points: float
    distance_sigma: float | None
    level_score: float | None
    rationale: str
    freshness: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "direction": self.direction,
            "state": self.state,
            "level_name": self.level_name,
            "level": self.level,
            "entry": self.entry,
            "stop": self.stop,
            "targets": list(self.targets),
            "invalidation": self.invalidation,
            "regime": self.regime,
            "distance_points": self.distance_points,
            "distance_sigma": self.distance_sigma,
            "level_score": self.level_score,
            "rationale": self.rationale,
            "freshness": self.freshness,
        }


@dataclass(frozen=True, slots=True)
class SetupInputs:
    """Everything :func:`detect_setups` reads. None means "not known", and any setup that
    needs the value is skipped. ``bars_1m``/``bars_5m`` are today's session bars, oldest
    first (the last may still be forming). ``sigma_remaining`` is the 1-sigma move for the
    rest of the session in points. ``now_ms`` is Unix ms; the 14:30 rule reads it in New York
    time. ``call_wall_moved_up``/``put_wall_moved_down`` disable the wall setups (spec: the
    wall must not have moved intraday). ``net_gex`` None skips the "net GEX turning
    positive" check of the flip breakout."""

    spot: float
    bars_1m: Sequence[Bar]
    bars_5m: Sequence[Bar]
    regime: RegimeLabel | None
    sigma_remaining: float
    now_ms: int
    call_wall: float | None = None
    put_wall: float | None = None
    flip: float | None = None
    ags: float | None = None
    max_net_strike: float | None = None
    vwap: float | None = None
    vwap_sigma: float | None = None
    or_high: float | None = None
    or_low: float | None = None
    or_mid: float | None = None
    or_complete: bool = False
    zones: Sequence[Zone] = ()
    call_wall_moved_up: bool = False
    put_wall_moved_down: bool = False
    net_gex: float | None = None
    freshness: str = ""


def buffer_points(sigma_remaining: float) -> float:
    """b = max(2, 0.1 x sigma remaining), in points."""
    return max(MIN_BUFFER, BUFFER_SIGMA_FRACTION * sigma_remaining)


@dataclass(frozen=True, slots=True)
class _Plan:
    kind: str
    direction: Direction
    state: State
    level_name: str
    level: float
    entry: float
    stop: float
    targets: tuple[float | None, ...]
    invalidation: str
    rationale: str
    id_step: float = 1.0


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


def _call_wall_fade(inp: SetupInputs, b: float) -> _Plan | None:
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
    return _Plan(
        "call_wall_fade", "short", state, "call_wall", wall, entry, wall + b,
        (inp.vwap, inp.ags if inp.ags is not None else inp.flip),
        f"a trade above {wall + b:.2f} (wall + b) or two 5-min closes above {wall:.2f}",
        "positive gamma: dealers sell into strength at the call wall",
    )  # fmt: skip


def _put_wall_bounce(inp: SetupInputs, b: float) -> _Plan | None:
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
    return _Plan(
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


def _flip_breakout(inp: SetupInputs, b: float) -> _Plan | None:
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
    return _Plan(
        "gamma_flip_breakout", "long", state, "flip", flip, entry, flip - b,
        (inp.ags, inp.call_wall),
        f"a trade below {flip - b:.2f} (flip - b)",
        "accepted above the gamma flip: dealers turn stabilizing; buy the retest from above",
    )  # fmt: skip


def _flip_breakdown(inp: SetupInputs, b: float) -> _Plan | None:
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
    return _Plan(
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


def _vwap_cross(inp: SetupInputs, b: float, sign: int) -> _Plan | None:
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
    return _Plan(
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


def _orb(inp: SetupInputs, b: float, sign: int) -> _Plan | None:
    hi, lo, mid = inp.or_high, inp.or_low, inp.or_mid
    if not inp.or_complete or hi is None or lo is None or mid is None or hi <= lo:
        return None
    edge = hi if sign > 0 else lo
    width = hi - lo
    outside = [x for x in inp.bars_5m if x.close > hi or x.close < lo]
    last5 = inp.bars_5m[-1].close if inp.bars_5m else inp.spot
    last1 = inp.bars_1m[-1].close if inp.bars_1m else inp.spot
    state: State
    entry = edge
    if sign * (last5 - edge) > 0:
        state, entry = "triggered", last5
    elif outside and sign * (outside[-1].close - edge) > 0 and lo <= last1 <= hi:
        state = "invalidated"
    elif abs(inp.spot - edge) <= b and lo <= inp.spot <= hi:
        state = "watching"
    else:
        return None
    return _Plan(
        "opening_range_breakout", "long" if sign > 0 else "short", state,
        "or_high" if sign > 0 else "or_low", edge, entry, mid,
        tuple(edge + sign * k * width for k in (1.0, 1.5, 2.0)),
        f"re-entry into the opening range ({lo:.2f}-{hi:.2f}); stop at OR mid {mid:.2f}, "
        f"the wider stop is the opposite side {lo if sign > 0 else hi:.2f}",
        "5-min close outside the opening range; works better in negative gamma or RV_hot",
    )  # fmt: skip


def _late_pins(inp: SetupInputs, b: float) -> list[_Plan]:
    local = datetime.fromtimestamp(inp.now_ms / 1000, NY)
    if local.hour * 60 + local.minute < PIN_START_MIN or _gamma(inp) != "POS":
        return []
    sigma = max(inp.sigma_remaining, b)
    plans: list[_Plan] = []
    seen: set[float] = set()
    for name, strike in (("ags", inp.ags), ("max_net_strike", inp.max_net_strike)):
        if strike is None or strike in seen or inp.spot == strike:
            continue
        seen.add(strike)
        if abs(inp.spot - strike) > PIN_SIGMA * inp.sigma_remaining:
            continue
        sign = 1 if inp.spot < strike else -1  # fade the move away: back toward the strike
        state: State = "triggered" if abs(inp.spot - strike) >= b else "watching"
        plans.append(_Plan(
            "late_day_pin", "long" if sign > 0 else "short", state, name, strike, inp.spot,
            inp.spot - sign * sigma, (strike,),
            f"a move of 1 sigma ({sigma:.2f} pt) beyond entry, or the close",
            "after 14:30 in positive gamma, price tends to pin to a large 0DTE strike",
        ))  # fmt: skip
    return plans


def _score(zones: Sequence[Zone], level: float) -> float | None:
    scores = [z.score for z in zones if z.lo <= level <= z.hi]
    return max(scores) if scores else None


def _finish(plan: _Plan, inp: SetupInputs, b: float) -> Setup:
    sign = 1 if plan.direction == "long" else -1
    targets = sorted(
        {t for t in plan.targets if t is not None and sign * (t - plan.entry) > 0},
        key=lambda t: sign * t,
    )
    if not targets:
        targets = [plan.entry + sign * max(b, 0.5 * inp.sigma_remaining)]
    step = plan.id_step
    rounded = round(plan.level / step) * step
    distance = inp.spot - plan.level
    sigma = inp.sigma_remaining
    return Setup(
        id=f"{plan.kind}@{rounded:g}",
        kind=plan.kind,
        direction=plan.direction,
        state=plan.state,
        level_name=plan.level_name,
        level=plan.level,
        entry=plan.entry,
        stop=plan.stop,
        targets=tuple(targets),
        invalidation=plan.invalidation,
        regime=inp.regime.label if inp.regime is not None else "UNKNOWN",
        distance_points=distance,
        distance_sigma=distance / sigma if sigma > 0 and math.isfinite(sigma) else None,
        level_score=_score(inp.zones, plan.level),
        rationale=plan.rationale,
        freshness=inp.freshness,
    )


def detect_setups(inputs: SetupInputs) -> list[Setup]:
    """All setups whose preconditions hold now, in a fixed order (pure, deterministic).

    A candidate whose stop would not be on the losing side of its entry (degenerate levels,
    e.g. a zero-width buffer) is dropped rather than published.
    """
    b = buffer_points(inputs.sigma_remaining)
    plans: list[_Plan | None] = [
        _call_wall_fade(inputs, b),
        _put_wall_bounce(inputs, b),
        _flip_breakout(inputs, b),
        _flip_breakdown(inputs, b),
        _vwap_cross(inputs, b, 1),
        _vwap_cross(inputs, b, -1),
        _orb(inputs, b, 1),
        _orb(inputs, b, -1),
        *_late_pins(inputs, b),
    ]
    out: list[Setup] = []
    for plan in plans:
        if plan is None:
            continue
        sign = 1 if plan.direction == "long" else -1
        if sign * (plan.entry - plan.stop) <= 0:
            continue
        out.append(_finish(plan, inputs, b))
    return out
