"""The setups' data: what a rule reads (``SetupInputs``), what it proposes (``Plan``) and what is
published (``Setup``), with the shared constants (spec section 9). Pure module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spotlight.analytics.clusters import Zone
from spotlight.analytics.regime import RegimeLabel
from spotlight.domain.bars import Bar

__all__ = [
    "MIN_BUFFER",
    "ORB_WINDOW_MS",
    "PIN_WINDOW_MS",
    "Direction",
    "Plan",
    "Setup",
    "SetupInputs",
    "State",
    "buffer_points",
]

Direction = Literal["long", "short"]
State = Literal["watching", "triggered", "invalidated"]

MIN_BUFFER = 2.0  # points: below this, ordinary SPX tick noise would hit the stop
BUFFER_SIGMA_FRACTION = 0.1
WALL_PROXIMITY = 0.0015  # 0.15% of spot (about 8-10 points at SPX 6000), spec section 9
VWAP_RECLAIM_MS = 30 * 60_000  # price must have held the other side of VWAP for 30 minutes
PIN_SIGMA = 0.5  # late-day pin: spot within 0.5 sigma of the pin strike
# The late-day pin watches the session's last 90 minutes: from 14:30 ET on a 16:00 close,
# from 11:30 on a 13:00 early close (counted from the session's own end, not the clock).
PIN_WINDOW_MS = 90 * 60_000
# An opening-range breakout is an early-session trade (S14): a first 5-minute close outside the
# range counts only if that bar closed within 90 minutes of the range's end (by 11:30 ET for
# the 30-minute range). Later breaks are ordinary range expansion, not the ORB setup.
ORB_WINDOW_MS = 90 * 60_000
OR_MINUTES = 30  # the opening range the levels channel publishes (09:30-10:00 ET)


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
    rest of the session in points. ``now_ms`` is Unix ms. ``session_close_ms`` is the close
    of the regular session under way (13:00 ET on early closes), None when no session is
    open: then nothing is live and no setup is detected; the late-day pin counts its window
    back from it. ``call_wall_moved_up``/``put_wall_moved_down`` disable the wall setups (spec: the
    wall must not have moved intraday). ``net_gex`` None skips the "net GEX turning
    positive" check of the flip breakout. ``max_net_strike`` is the largest net-GEX strike
    of the bucket the gamma levels come from (a late-day pin candidate next to the AGS)."""

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
    or_end_ms: int | None = None  # first instant after the opening range (default 10:00 ET)
    zones: Sequence[Zone] = ()
    call_wall_moved_up: bool = False
    put_wall_moved_down: bool = False
    net_gex: float | None = None
    freshness: str = ""
    session_close_ms: int | None = None


def buffer_points(sigma_remaining: float) -> float:
    """b = max(2, 0.1 x sigma remaining), in points."""
    return max(MIN_BUFFER, BUFFER_SIGMA_FRACTION * sigma_remaining)


@dataclass(frozen=True, slots=True)
class Plan:
    """A rule's proposal, before targets are ordered and the id is given."""

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
