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

Ids are ``<kind>:<direction>:<level name>@<level rounded>``: unique within one update (no two
rules share kind, direction and level name), and stable while the level drifts, since
strikes and the flip round to whole points and VWAP to 5 points. Without the direction and
the level name, a long and a short opening-range breakout of a narrow range, or two pins at
nearby strikes, shared an id and the coach (which keys setups by id) lost one of them.

The rules live in ``setup_rules.py``, the data types in ``setup_types.py``. Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from spotlight.analytics import setup_rules as rules
from spotlight.analytics.clusters import Zone
from spotlight.analytics.setup_types import Plan, Setup, SetupInputs, buffer_points

__all__ = ["Setup", "SetupInputs", "buffer_points", "detect_setups"]


def _score(zones: Sequence[Zone], level: float) -> float | None:
    scores = [z.score for z in zones if z.lo <= level <= z.hi]
    return max(scores) if scores else None


def _finish(plan: Plan, inp: SetupInputs, b: float) -> Setup:
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
        id=f"{plan.kind}:{plan.direction}:{plan.level_name}@{rounded:g}",
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

    None outside a regular session (``session_close_ms`` None or passed): after the bell,
    at night and on closed days nothing is live, so nothing is "watching" either. A
    candidate whose stop would not be on the losing side of its entry (degenerate levels,
    e.g. a zero-width buffer) is dropped rather than published.
    """
    close = inputs.session_close_ms
    if close is None or inputs.now_ms >= close:
        return []
    b = buffer_points(inputs.sigma_remaining)
    plans: list[Plan | None] = [
        rules.call_wall_fade(inputs, b),
        rules.put_wall_bounce(inputs, b),
        rules.flip_breakout(inputs, b),
        rules.flip_breakdown(inputs, b),
        rules.vwap_cross(inputs, b, 1),
        rules.vwap_cross(inputs, b, -1),
        rules.opening_range_breakout(inputs, b, 1),
        rules.opening_range_breakout(inputs, b, -1),
        *rules.late_pins(inputs, b),
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
