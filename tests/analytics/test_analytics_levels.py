"""Intraday levels (spec section 7): worked numbers for every formula."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from spotlight.analytics.levels import (
    Level,
    all_levels,
    camarilla,
    fibonacci,
    floor_pivots,
    opening_range,
    prior_day_levels,
    round_numbers,
    session_vwap,
)
from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY

DAY = (2026, 3, 10)


def minute(hh: int, mm: int, o: float, h: float, lo: float, c: float, v: float = 0.0) -> Bar:
    start = int(datetime(*DAY, hh, mm, tzinfo=NY).timestamp() * 1000)
    return Bar("I:SPX", "1m", start, o, h, lo, c, v, 1)


PREV = Bar("I:SPX", "1d", 0, 5990.0, 6020.0, 5980.0, 6010.0, 0.0, 1000)


def test_prior_day_levels() -> None:
    assert prior_day_levels(PREV) == [
        Level(6020.0, "prior_day", "PDH", 2.0),
        Level(5980.0, "prior_day", "PDL", 2.0),
        Level(6010.0, "prior_day", "PDC", 2.0),
    ]


def test_floor_pivots_worked_numbers() -> None:
    h, lo, c = 6020.0, 5980.0, 6010.0
    p = (6020 + 5980 + 6010) / 3  # 6003.333...
    got = floor_pivots(h, lo, c)
    assert got["P"] == pytest.approx(p)
    assert got["R1"] == pytest.approx(2 * p - 5980)
    assert got["S1"] == pytest.approx(2 * p - 6020)
    assert got["R2"] == pytest.approx(p + 40)
    assert got["S2"] == pytest.approx(p - 40)
    assert got["R3"] == pytest.approx(6020 + 2 * (p - 5980))
    assert got["S3"] == pytest.approx(5980 - 2 * (6020 - p))
    # The other libraries' form is the same number.
    assert got["R3"] == pytest.approx(got["R1"] + (h - lo))
    assert got["S3"] == pytest.approx(got["S1"] - (h - lo))
    assert got["R1"] == pytest.approx(6026.6666667)


def test_camarilla_uses_the_1_1_over_k_form() -> None:
    got = camarilla(6020.0, 5980.0, 6010.0)
    r = 40.0
    for i, k in enumerate((12, 6, 4, 2), start=1):
        assert got[f"H{i}"] == pytest.approx(6010 + r * 1.1 / k)
        assert got[f"L{i}"] == pytest.approx(6010 - r * 1.1 / k)
    assert got["H4"] == pytest.approx(6032.0)  # 6010 + 40 * 0.55
    assert got["L3"] == pytest.approx(5999.0)  # 6010 - 40 * 0.275
    assert len(got) == 8


def test_fibonacci_up_and_down() -> None:
    up = fibonacci(5900.0, 6000.0)
    assert up["ret_0.236"] == pytest.approx(6000 - 23.6)
    assert up["ret_0.5"] == pytest.approx(5950.0)
    assert up["ret_0.618"] == pytest.approx(5938.2)
    assert up["ret_0.786"] == pytest.approx(5921.4)
    assert up["ext_1.272"] == pytest.approx(5900 + 127.2)
    assert up["ext_1.618"] == pytest.approx(6061.8)
    assert up["ext_2"] == pytest.approx(6100.0)
    assert up["ext_2.618"] == pytest.approx(6161.8)
    down = fibonacci(5900.0, 6000.0, up=False)
    assert down["ret_0.382"] == pytest.approx(5938.2)
    assert down["ext_1.618"] == pytest.approx(6000 - 161.8)
    assert len(up) == len(down) == 9
    with pytest.raises(ValueError, match="swing_high"):
        fibonacci(6000.0, 5900.0)


def test_pivots_refuse_high_below_low() -> None:
    with pytest.raises(ValueError, match="high must be >= low"):
        floor_pivots(5900.0, 6000.0, 5950.0)


def test_opening_range_builds_then_fixes() -> None:
    bars = [
        minute(9, 29, 6000, 6050, 5950, 6000),  # premarket: ignored
        minute(9, 30, 6000, 6008, 5998, 6005),
        minute(9, 31, 6005, 6012, 6003, 6010),
        minute(9, 44, 6010, 6011, 5995, 5996),
    ]
    partial = opening_range(bars, minutes=15)
    assert partial is not None
    assert (partial.high, partial.low, partial.mid) == (6012.0, 5995.0, 6003.5)
    assert not partial.complete
    at_close = opening_range(bars, minutes=15, now_ms=partial.end_ms)
    assert at_close is not None
    assert at_close.complete

    later = [*bars, minute(9, 45, 5996, 6030, 5990, 6025)]  # after the window: excluded
    done = opening_range(later, minutes=15)
    assert done is not None
    assert done.complete
    assert (done.high, done.low) == (6012.0, 5995.0)
    width = 17.0
    assert done.width == width
    assert done.extensions == {
        "ORH+1x": 6012 + width,
        "ORH+1.5x": 6012 + 1.5 * width,
        "ORH+2x": 6012 + 2 * width,
        "ORL-1x": 5995 - width,
        "ORL-1.5x": 5995 - 1.5 * width,
        "ORL-2x": 5995 - 2 * width,
    }


def test_opening_range_is_none_before_the_open() -> None:
    assert opening_range([]) is None
    assert opening_range([minute(9, 15, 6000, 6001, 5999, 6000)]) is None


def test_session_vwap_worked_numbers() -> None:
    bars = [
        minute(9, 0, 500, 600, 400, 500, 1000),  # premarket: ignored
        minute(9, 30, 600, 603, 597, 600, 100),  # tp 600
        minute(9, 31, 601, 606, 600, 603, 300),  # tp 603
    ]
    vw = session_vwap(bars)
    assert vw is not None
    vwap = (600 * 100 + 603 * 300) / 400  # 602.25
    sigma = math.sqrt((100 * 600**2 + 300 * 603**2) / 400 - vwap**2)  # the spec's form
    assert vw.vwap == pytest.approx(vwap)
    assert vw.sigma == pytest.approx(sigma)
    assert vw.sigma == pytest.approx(math.sqrt(0.75 * 0.25) * 3)  # two-point mix
    assert vw.volume == 400
    assert vw.bars == 2
    for k in (1, 2, 3):
        assert vw.bands[k] == pytest.approx((vwap - k * sigma, vwap + k * sigma))
    spx = vw.scaled(10.02)
    assert spx.vwap == pytest.approx(vwap * 10.02)
    assert spx.bands[2][1] == pytest.approx((vwap + 2 * sigma) * 10.02)


def test_session_vwap_none_without_volume() -> None:
    assert session_vwap([]) is None
    assert session_vwap([minute(9, 30, 6000, 6001, 5999, 6000, 0.0)]) is None


def test_round_numbers() -> None:
    got = round_numbers(6010.0, 60.0)
    assert [lv.price for lv in got] == [5950.0, 5975.0, 6000.0, 6025.0, 6050.0]
    assert [lv.name for lv in got] == [
        "round50:5950",
        "round25:5975",
        "round100:6000",
        "round25:6025",
        "round50:6050",
    ]
    assert [lv.weight for lv in got] == [1.0, 0.5, 1.0, 0.5, 1.0]
    assert {lv.family for lv in got} == {"round"}


def test_all_levels_weights() -> None:
    bars = [minute(9, 30, 6000, 6008, 5998, 6005, 10), minute(9, 45, 6005, 6009, 6004, 6006, 10)]
    orng = opening_range(bars, minutes=15)
    vw = session_vwap(bars)
    levels = all_levels(
        prev_day=PREV,
        opening=orng,
        vwap=vw,
        gamma_levels={
            "flip": 5990.0,
            "call_wall": 6050.0,
            "put_wall": 5950.0,
            "ags": 6000.0,
            "max_pain": 6005.0,
            "bad": math.nan,
        },
        spot=6005.0,
        round_span=50.0,
    )
    by = {(lv.family, lv.name): lv.weight for lv in levels}
    for name in ("flip", "call_wall", "put_wall"):
        assert by["gamma", name] == 3.0
    assert by["gamma", "ags"] == 2.0
    assert by["gamma", "max_pain"] == 1.0
    assert ("gamma", "bad") not in by
    for name in ("PDH", "PDL", "PDC"):
        assert by["prior_day", name] == 2.0
    assert by["opening_range", "ORH"] == by["opening_range", "ORL"] == 2.0
    assert by["vwap", "VWAP"] == 2.0
    for name in ("VWAP+1s", "VWAP-1s", "VWAP+2s", "VWAP-2s"):
        assert by["vwap", name] == 1.0
    assert sum(1 for f, _ in by if f == "pivot") == 7
    assert sum(1 for f, _ in by if f == "camarilla") == 8
    assert sum(1 for f, _ in by if f == "fib") == 9  # prior-day swing by default
    assert by["round", "round100:6000"] == 1.0
    assert all_levels() == []


def test_session_swing_direction_and_minimum() -> None:
    from spotlight.analytics.channels import session_swing
    from spotlight.domain.bars import Bar

    t0 = 1_766_154_600_000

    def bar(i: int, lo: float, hi: float) -> Bar:
        return Bar("I:SPX", "1m", t0 + i * 60_000, lo, hi, lo, hi, 0.0, 1)

    rising = [bar(i, 6000 + i, 6001 + i) for i in range(12)]
    assert session_swing(rising) == (6000, 6012, True)
    falling = [bar(i, 6020 - i, 6021 - i) for i in range(12)]
    assert session_swing(falling) == (6009, 6021, False)
    assert session_swing(rising[:5]) is None
