"""Confluence zones: merge nearby levels into scored zones (spec section 8).

Algorithm (anchored greedy merge):

1. Sort levels by price (ties by family, name, weight, so the result never depends on the
   input order).
2. Open a zone at the first level; add the next level while ``level - zone_min <= width``;
   otherwise close the zone and open a new one. Anchoring on the zone minimum caps every
   zone at ``width`` and prevents single-linkage chains from drifting across the chart.
3. Per zone: lo/hi, center = weight-weighted mean price (plain mean if all weights are 0),
   score = sum(weights) * (1 + 0.5 * (distinct_families - 1)), and ``confluence`` when at
   least two families meet.

Stable ids: re-cluster whenever any input level changes, passing the previous run's zones.
A new zone takes the id of the previous zone whose center is nearest, if within ``width``;
each previous id is used at most once (closest pairs first). Any other zone gets a new id
``z<center to 2 decimals>`` (e.g. ``z6000.25``), suffixed ``-2``, ``-3``... if taken, so
ids are deterministic for the same inputs.

Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from spotlight.analytics.levels import Level

__all__ = ["MAX_WIDTH", "MIN_WIDTH", "Zone", "adaptive_width", "cluster_levels"]

# Adaptive width bounds in SPX points (spec section 8.5): a tenth of the 1-day implied move,
# but never so narrow that a few points of noise split a zone (2) nor so wide that unrelated
# levels merge on a volatile day (8). At VIX 16, SPX 6000 the move is ~60 points -> width 6.
MIN_WIDTH = 2.0
MAX_WIDTH = 8.0


@dataclass(frozen=True, slots=True)
class Zone:
    """One confluence zone. ``families`` is sorted and distinct; ``members`` is in price order."""

    id: str
    lo: float
    hi: float
    center: float
    score: float
    families: tuple[str, ...]
    members: tuple[Level, ...]
    confluence: bool

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "lo": self.lo,
            "hi": self.hi,
            "center": self.center,
            "score": self.score,
            "families": list(self.families),
            "confluence": self.confluence,
            "members": [
                {"price": m.price, "family": m.family, "name": m.name, "weight": m.weight}
                for m in self.members
            ],
        }


def adaptive_width(implied_move_1d_points: float) -> float:
    """clamp(0.1 * 1-day implied move, 2, 8) points; a non-finite move gives the minimum."""
    if not math.isfinite(implied_move_1d_points):
        return MIN_WIDTH
    return min(MAX_WIDTH, max(MIN_WIDTH, 0.1 * implied_move_1d_points))


def _sort_key(level: Level) -> tuple[float, str, str, float]:
    return (level.price, level.family, level.name, level.weight)


def _groups(levels: Sequence[Level], width: float) -> list[list[Level]]:
    groups: list[list[Level]] = []
    for level in sorted(levels, key=_sort_key):
        if groups and level.price - groups[-1][0].price <= width:
            groups[-1].append(level)
        else:
            groups.append([level])
    return groups


def _score(members: Sequence[Level]) -> tuple[float, float, tuple[str, ...]]:
    total = math.fsum(m.weight for m in members)
    if total > 0:
        center = math.fsum(m.price * m.weight for m in members) / total
    else:
        center = math.fsum(m.price for m in members) / len(members)
    families = tuple(sorted({m.family for m in members}))
    score = total * (1 + 0.5 * (len(families) - 1))
    return center, score, families


def _assign_ids(centers: Sequence[float], previous: Sequence[Zone], width: float) -> list[str]:
    ids: list[str | None] = [None] * len(centers)
    pairs = sorted(
        (abs(c - p.center), i, j)
        for i, c in enumerate(centers)
        for j, p in enumerate(previous)
        if abs(c - p.center) <= width
    )
    used_prev: set[int] = set()
    for _, i, j in pairs:
        if ids[i] is None and j not in used_prev:
            ids[i] = previous[j].id
            used_prev.add(j)
    taken = {i for i in ids if i is not None}
    out: list[str] = []
    for zone_id, center in zip(ids, centers, strict=True):
        if zone_id is None:
            base = f"z{center:.2f}"
            zone_id, n = base, 1
            while zone_id in taken:
                n += 1
                zone_id = f"{base}-{n}"
            taken.add(zone_id)
        out.append(zone_id)
    return out


def cluster_levels(
    levels: Sequence[Level], width: float, previous: Sequence[Zone] = ()
) -> list[Zone]:
    """Merge ``levels`` into zones no wider than ``width`` points, in ascending price order.

    ``previous`` is the last run's result, used only to keep ids stable (see module doc).
    """
    if not (math.isfinite(width) and width >= 0):
        raise ValueError(f"width must be a finite number of points >= 0, not {width!r}")
    bad = [level for level in levels if not math.isfinite(level.price)]
    if bad:
        raise ValueError(f"level prices must be finite; drop these first: {bad!r}")
    groups = _groups(levels, width)
    stats = [_score(g) for g in groups]
    ids = _assign_ids([center for center, _, _ in stats], previous, width)
    return [
        Zone(
            id=zone_id,
            lo=group[0].price,
            hi=group[-1].price,
            center=center,
            score=score,
            families=families,
            members=tuple(group),
            confluence=len(families) >= 2,
        )
        for zone_id, group, (center, score, families) in zip(ids, groups, stats, strict=True)
    ]
