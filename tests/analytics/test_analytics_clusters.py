"""Confluence clustering (spec section 8): properties and stable ids."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlight.analytics.clusters import Zone, adaptive_width, cluster_levels
from spotlight.analytics.levels import Level

FAMILIES = ("gamma", "prior_day", "vwap", "pivot", "round")

levels_st = st.lists(
    st.builds(
        Level,
        price=st.floats(5900, 6100, allow_nan=False).map(lambda p: round(p, 2)),
        family=st.sampled_from(FAMILIES),
        name=st.sampled_from(("a", "b", "c")),
        weight=st.sampled_from((0.5, 1.0, 2.0, 3.0)),
    ),
    max_size=30,
)
width_st = st.floats(0, 10, allow_nan=False)


@given(levels_st, width_st, st.randoms(use_true_random=False))
def test_order_does_not_matter(levels: list[Level], width: float, rnd: random.Random) -> None:
    shuffled = list(levels)
    rnd.shuffle(shuffled)
    assert cluster_levels(shuffled, width) == cluster_levels(levels, width)


@given(levels_st, width_st)
def test_partition_width_score_confluence(levels: list[Level], width: float) -> None:
    zones = cluster_levels(levels, width)
    members = [m for z in zones for m in z.members]
    assert sorted(members, key=repr) == sorted(levels, key=repr)  # each level exactly once
    assert len({z.id for z in zones}) == len(zones)
    for z in zones:
        assert z.hi - z.lo <= width
        assert z.lo == min(m.price for m in z.members)
        assert z.hi == max(m.price for m in z.members)
        assert z.lo - 1e-9 <= z.center <= z.hi + 1e-9
        fams = {m.family for m in z.members}
        assert z.families == tuple(sorted(fams))
        total = sum(m.weight for m in z.members)
        assert z.score == pytest.approx(total * (1 + 0.5 * (len(fams) - 1)))
        assert z.confluence == (len(fams) >= 2)
    for a, b in itertools.pairwise(zones):
        assert b.lo - a.lo > width  # a new zone opens only beyond the anchor's reach


def test_anchored_merge_does_not_chain() -> None:
    levels = [Level(p, "round", str(p), 1.0) for p in (6000.0, 6003.0, 6006.0, 6009.0)]
    zones = cluster_levels(levels, 5.0)
    assert [(z.lo, z.hi) for z in zones] == [(6000.0, 6003.0), (6006.0, 6009.0)]


def test_worked_zone() -> None:
    levels = [
        Level(6000.0, "gamma", "call_wall", 3.0),
        Level(6002.0, "prior_day", "PDH", 2.0),
        Level(6004.0, "pivot", "R1", 1.0),
        Level(6020.0, "round", "round25:6025", 0.5),
    ]
    first, second = cluster_levels(levels, 5.0)
    assert first.center == pytest.approx((6000 * 3 + 6002 * 2 + 6004 * 1) / 6)
    assert first.score == pytest.approx(6 * (1 + 0.5 * 2))
    assert first.confluence
    assert first.families == ("gamma", "pivot", "prior_day")
    assert first.id == f"z{first.center:.2f}"
    assert not second.confluence
    assert second.score == 0.5
    assert second.to_json()["members"] == [
        {"price": 6020.0, "family": "round", "name": "round25:6025", "weight": 0.5}
    ]


def test_ids_are_stable_across_small_moves() -> None:
    base = [Level(6000.0, "gamma", "flip", 3.0), Level(6002.0, "vwap", "VWAP", 2.0)]
    far = Level(6050.0, "round", "r", 1.0)
    before = cluster_levels([*base, far], 5.0)
    moved = [Level(6001.0, "gamma", "flip", 3.0), Level(6003.5, "vwap", "VWAP", 2.0)]
    after = cluster_levels([*moved, far, Level(6100.0, "round", "r2", 1.0)], 5.0, before)
    assert after[0].id == before[0].id
    assert after[1].id == before[1].id
    assert after[2].id == "z6100.00"  # new zone, new id
    # Each previous id is reused at most once: the nearer zone wins it.
    split = cluster_levels(
        [Level(5999.0, "a", "x", 1.0), Level(6003.0, "b", "y", 1.0)], 3.0, before
    )
    assert [z.id for z in split].count(before[0].id) == 1
    assert len({z.id for z in split}) == 2


def test_generated_id_collision_gets_a_suffix() -> None:
    prev = [Zone("z6000.00", 5990.0, 5990.0, 5990.0, 1.0, ("a",), (), False)]
    zones = cluster_levels([Level(5991.0, "a", "x", 1.0), Level(6000.0, "b", "y", 1.0)], 0.5, prev)
    assert [z.id for z in zones] == ["z5991.00", "z6000.00"]
    zones = cluster_levels([Level(5990.5, "a", "x", 1.0), Level(6000.0, "b", "y", 1.0)], 0.5, prev)
    assert [z.id for z in zones] == ["z6000.00", "z6000.00-2"]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="width"):
        cluster_levels([], -1.0)
    with pytest.raises(ValueError, match="finite"):
        cluster_levels([Level(math.nan, "a", "x", 1.0)], 1.0)
    assert cluster_levels([], 5.0) == []


@pytest.mark.parametrize(
    ("move", "width"), [(60.0, 6.0), (10.0, 2.0), (200.0, 8.0), (math.nan, 2.0), (-5.0, 2.0)]
)
def test_adaptive_width(move: float, width: float) -> None:
    assert adaptive_width(move) == pytest.approx(width)
