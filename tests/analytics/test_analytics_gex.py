"""GEX per strike, profile, flip and key strikes against spx-analytics.md sections 2-4."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from hypo import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from spotlight.analytics.gex import (
    OptionPosition,
    StrikeGex,
    gamma_flip,
    gamma_profile,
    gex_by_strike,
    key_levels,
    spot_grid,
)
from spotlight.analytics.gex_report import gex_report
from spotlight.analytics.greeks import bs_gamma
from spotlight.analytics.session import OVERNIGHT_MINUTES, SessionCalendar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot
from spotlight.market.massive.models import parse_option_snapshot

MON = date(2026, 11, 23)
CAL = SessionCalendar()
AT_13 = datetime.combine(MON, time(13, 0), NY)  # 3 h (180 trading minutes) to the 16:00 bell


def pos(
    strike: float,
    kind: str = "call",
    expiry: date = MON,
    oi: float = 1000.0,
    iv: float | None = 0.15,
    am: bool = False,
    vendor_gamma: float | None = None,
) -> OptionPosition:
    return OptionPosition(strike, kind, expiry, am, oi, iv, vendor_gamma=vendor_gamma)


def snapshot(ticker: str, kind: str = "call", expiry: str = "2026-11-23") -> OptionSnapshot:
    return parse_option_snapshot(
        {
            "details": {
                "ticker": ticker,
                "contract_type": kind,
                "expiration_date": expiry,
                "strike_price": 6000,
                "shares_per_contract": 100,
            },
            "open_interest": 1500,
            "implied_volatility": 0.14,
            "greeks": {"gamma": 0.011},
        }
    )


def test_worked_example_atm_0dte_call() -> None:
    call = pos(6000, oi=15_000, iv=0.14)
    t = CAL.year_fraction(AT_13, MON, False)
    assert bs_gamma(6000, 6000, 0.14, t) == pytest.approx(0.0111, rel=0.01)
    [row] = gex_by_strike([call], 6000, AT_13, CAL, "0dte")
    assert row == StrikeGex(6000, row.call_gex, 0.0, row.call_gex, row.vanna, row.charm)
    assert row.call_gex == pytest.approx(6.0e9, rel=0.03)


def test_calls_positive_puts_negative() -> None:
    rows = gex_by_strike([pos(6000), pos(6000, "put"), pos(5950, "put")], 6000, AT_13, CAL, "0dte")
    assert [r.strike for r in rows] == [5950, 6000]
    assert rows[0].call_gex == 0.0 and rows[0].put_gex < 0
    assert rows[1].call_gex > 0 > rows[1].put_gex
    assert rows[1].net_gex == pytest.approx(0.0, abs=1e-6)  # same strike, OI and IV


def test_dropped_contracts() -> None:
    rows = gex_by_strike(
        [
            pos(6000, oi=0),
            pos(6005, iv=None),
            pos(6010, iv=0.0),
            pos(6015, expiry=MON - timedelta(1)),
        ],
        6000,
        AT_13,
        CAL,
        "all",
    )
    assert rows == []


def test_buckets() -> None:
    today, week, far, too_far = (
        pos(6000),
        pos(6005, expiry=MON + timedelta(7)),
        pos(6010, expiry=MON + timedelta(60)),
        pos(6015, expiry=MON + timedelta(61)),
    )
    book = [today, week, far, too_far]
    assert [r.strike for r in gex_by_strike(book, 6000, AT_13, CAL, "0dte")] == [6000]
    assert [r.strike for r in gex_by_strike(book, 6000, AT_13, CAL, "all")] == [6000, 6005, 6010]
    assert [r.strike for r in gex_by_strike(book, 6000, AT_13, CAL, "all", max_dte=7)] == [
        6000,
        6005,
    ]
    with pytest.raises(ValueError, match="bucket"):
        gex_by_strike(book, 6000, AT_13, CAL, "week")  # type: ignore[arg-type]


def test_am_settled_spx_never_counts_as_0dte_and_leaves_at_the_prior_close() -> None:
    spx = OptionPosition.from_snapshot(snapshot("O:SPX261123C06000000"))
    spxw = OptionPosition.from_snapshot(snapshot("O:SPXW261123C06000000"))
    assert spx.am_settled and not spxw.am_settled
    at_9 = datetime.combine(MON, time(9, 0), NY)
    # Before the open on expiry day the monthly only awaits its opening print: not 0DTE
    # gamma (at the 15-minute floor it piled the walls onto one strike), in no bucket.
    assert gex_by_strike([spx], 6000, at_9, CAL, "0dte") == []
    assert gex_by_strike([spx], 6000, at_9, CAL, "all") == []
    assert len(gex_by_strike([spxw], 6000, at_9, CAL, "0dte")) == 1
    # The Friday before at 15:00 it is live, with T running through the weekend gap to
    # Monday's open: 60 minutes + one overnight, not 60 minutes.
    fri_15 = datetime.combine(MON - timedelta(3), time(15, 0), NY)
    [row] = gex_by_strike([spx], 6000, fri_15, CAL, "all")
    t = (60 + OVERNIGHT_MINUTES) / (252 * 390)
    vol = 0.14 * math.sqrt(CAL.carry_years(fri_15, MON, True) / t)  # vendor IV, converted
    assert row.call_gex == pytest.approx(bs_gamma(6000, 6000, vol, t) * 1500 * 100 * 6000**2 / 100)
    assert gex_by_strike([spx], 6000, fri_15, CAL, "0dte") == []


def test_from_snapshot_fields() -> None:
    p = OptionPosition.from_snapshot(snapshot("O:SPY261123P00600000", kind="put"))
    assert (p.kind, p.expiry, p.am_settled, p.open_interest, p.vendor_iv, p.vendor_gamma) == (
        "put",
        MON,
        False,
        1500,
        0.14,
        0.011,
    )
    assert p.iv is None  # the vendor's IV is on its own time basis: never used as ours
    with pytest.raises(ValueError, match="call or put"):
        OptionPosition.from_snapshot(snapshot("O:SPX261123C06000000", kind="other"))
    with pytest.raises(ValueError, match="OCC"):
        OptionPosition.from_snapshot(snapshot("SPX-junk"))


def test_profile_at_spot_matches_total() -> None:
    book = [pos(5950, "put", oi=3000), pos(6000), pos(6050, expiry=MON + timedelta(3), iv=0.12)]
    total = sum(r.net_gex for r in gex_by_strike(book, 6010, AT_13, CAL, "all"))
    [at_spot] = gamma_profile(book, [6010], AT_13, CAL, "all")
    assert at_spot == pytest.approx(total, rel=1e-12)


# -- flip ------------------------------------------------------------------------------------


def test_flip_interpolates_linearly() -> None:
    result = gamma_flip([5990, 5995], [-2.59e9, 0.49e9], 6000)
    assert result.level == pytest.approx(5990 + 5 * 2.59 / 3.08)
    assert result.level == pytest.approx(5994.2, abs=0.05)  # the spec's toy check
    assert not result.multiple and result.side is None


def test_flip_multiple_picks_nearest_to_spot() -> None:
    result = gamma_flip([0, 1, 2, 3, 4], [-1, 1, 1, -1, 1], 3.4)
    assert result.level == pytest.approx(3.5) and result.multiple


def test_flip_without_crossing_names_the_side() -> None:
    assert gamma_flip([1, 2, 3], [1, 2, 3], 2) == gamma_flip([1, 2], [5, 5], 1)
    assert gamma_flip([1, 2, 3], [1, 2, 3], 2).side == "below"
    assert gamma_flip([1, 2, 3], [-1, -2, -3], 2).side == "above"
    assert gamma_flip([1, 2, 3], [0, 0, 0], 2).side is None
    assert gamma_flip([], [], 2).level is None


def test_flip_zeros() -> None:
    assert gamma_flip([1, 2, 3, 4, 5], [-1, 0, 0, 0, 1], 3).level == 3.0  # middle of the run
    touch = gamma_flip([1, 2, 3], [1, 0, 1], 2)
    assert touch.level is None and touch.side == "below"


def test_flip_rejects_bad_grids() -> None:
    with pytest.raises(ValueError, match="length"):
        gamma_flip([1, 2], [1.0], 1)
    with pytest.raises(ValueError, match="ascending"):
        gamma_flip([2, 1], [1, -1], 1)


# -- properties ------------------------------------------------------------------------------

books = st.lists(
    st.builds(
        pos,
        strike=st.integers(1180, 1220).map(lambda k: 5.0 * k),
        kind=st.sampled_from(["call", "put"]),
        expiry=st.integers(0, 10).map(lambda d: MON + timedelta(d)),
        oi=st.floats(1, 50_000),
        iv=st.floats(0.08, 0.6),
    ),
    min_size=1,
    max_size=25,
)


def _swap(p: OptionPosition) -> OptionPosition:
    return replace(p, kind="put" if p.kind == "call" else "call")


@given(book=books, spot=st.floats(5900, 6100))
def test_swapping_calls_and_puts_flips_every_sign(book: list[OptionPosition], spot: float) -> None:
    rows = gex_by_strike(book, spot, AT_13, CAL, "all")
    swapped = gex_by_strike([_swap(p) for p in book], spot, AT_13, CAL, "all")
    assert [r.strike for r in rows] == [r.strike for r in swapped]
    for a, b in zip(rows, swapped, strict=True):
        assert b.net_gex == pytest.approx(-a.net_gex, rel=1e-9, abs=1e-3)
        assert (b.call_gex, b.put_gex) == pytest.approx((-a.put_gex, -a.call_gex), rel=1e-9)
    assert key_levels(swapped).total_gex == pytest.approx(-key_levels(rows).total_gex, abs=1e-3)


@settings(max_examples=examples(50), deadline=None)
@given(book=books, spot=st.floats(5950, 6050))
def test_flip_is_where_the_profile_crosses_zero(book: list[OptionPosition], spot: float) -> None:
    grid = spot_grid(spot, 0.03, 0.5)
    profile = gamma_profile(book, grid, AT_13, CAL, "all")
    flip = gamma_flip(grid, profile, spot)
    if flip.level is None:
        assert (
            flip.side == ("below" if max(profile) > 0 else "above") or max(map(abs, profile)) == 0
        )
        return
    assert grid[0] <= flip.level <= grid[-1]
    [at_flip] = gamma_profile(book, [flip.level], AT_13, CAL, "all")
    # Linear interpolation error on a half-point grid: a small fraction of the profile's swing.
    assert abs(at_flip) <= 0.01 * (max(profile) - min(profile))


strike_rows = st.lists(
    st.builds(
        lambda k, c, p: StrikeGex(5.0 * k, c, -p, c - p),
        st.integers(1190, 1210),
        st.sampled_from([0.0, 1e9, 2e9]) | st.floats(0, 5e9),
        st.sampled_from([0.0, 1e9, 2e9]) | st.floats(0, 5e9),
    ),
    unique_by=lambda r: r.strike,
    max_size=20,
)


@given(rows=strike_rows, seed=st.integers(0, 2**32))
def test_key_levels_ignore_input_order(rows: list[StrikeGex], seed: int) -> None:
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    assert key_levels(shuffled) == key_levels(rows)


def test_key_levels_worked() -> None:
    rows = [
        StrikeGex(5900, 0.1e9, -3e9, -2.9e9),
        StrikeGex(6000, 2e9, -2e9, 0.0),
        StrikeGex(6100, 2.5e9, -0.1e9, 2.4e9),
    ]
    levels = key_levels(rows)
    assert (levels.call_wall, levels.put_wall, levels.abs_gamma_strike) == (6100, 5900, 6000)
    assert levels.max_net_strike == 6100
    assert levels.total_gex == pytest.approx(-0.5e9)
    empty = key_levels([])
    assert (empty.call_wall, empty.put_wall, empty.abs_gamma_strike, empty.total_gex) == (
        None,
        None,
        None,
        0.0,
    )
    assert key_levels([StrikeGex(6000, 1e9, 0.0, 1e9)]).put_wall is None


# -- report ----------------------------------------------------------------------------------


def test_report_payload() -> None:
    g = bs_gamma(6000, 6000, 0.15, CAL.year_fraction(AT_13, MON, False))
    book = [
        pos(5950, "put", oi=20_000, vendor_gamma=None),
        pos(6000, oi=15_000, vendor_gamma=g / 1.1),
        pos(6050, expiry=MON + timedelta(14), oi=30_000, iv=0.13),
    ]
    report = gex_report(book, 6000, AT_13, CAL)
    conv = report["convention"]
    assert isinstance(conv, dict) and conv["unit"] == "USD per 1% move"
    assert set(conv) >= {"unit", "sign", "tBasis", "ivSource", "oi", "buckets"}
    check = report["vendorGammaCheck"]
    assert isinstance(check, dict)
    assert check["0dte"]["median"] == pytest.approx(0.1)
    assert check["0dte"]["atmMedian"] == pytest.approx(0.1)
    assert check["8+dte"] == {
        "contracts": 0, "median": None, "atmContracts": 0, "atmMedian": None
    }  # fmt: skip
    buckets = report["buckets"]
    assert isinstance(buckets, dict)
    zero, every = buckets["0dte"], buckets["all"]
    assert zero["contracts"] == 2 and every["contracts"] == 3
    assert [s["strike"] for s in every["strikes"]] == [5950, 6000, 6050]
    assert zero["levels"] == {
        "callWall": 6000,
        "putWall": 5950,
        "absGammaStrike": 5950
        if zero["strikes"][0]["putGexBn"] < -zero["strikes"][1]["callGexBn"]
        else 6000,
        "maxNetStrike": 6000,
        "status": "ok",
    }
    total = sum(s["netGexBn"] for s in zero["strikes"])
    assert zero["totalGexBn"] == pytest.approx(total)
    assert zero["totalGexPerPointBn"] == pytest.approx(total / 60)
    flip = zero["flip"]
    assert flip["side"] is None and 5950 < flip["level"] < 6000
    assert zero["grid"] == {"lo": 5700, "hi": 6300, "step": 5.0}


def test_report_without_vendor_greeks_or_contracts() -> None:
    report = gex_report([], 6000, AT_13, CAL)
    check = report["vendorGammaCheck"]
    assert isinstance(check, dict) and all(c["median"] is None for c in check.values())
    buckets = report["buckets"]
    assert isinstance(buckets, dict)
    assert buckets["0dte"]["flip"] == {"level": None, "multiple": False, "side": None}
    assert buckets["all"]["totalGexBn"] == 0.0


def test_spot_grid() -> None:
    assert spot_grid(6002, 0.001, 5) == [6000, 6005]
    assert spot_grid(6000, 0.05, 5.0)[:2] == [5700, 5705]
    with pytest.raises(ValueError, match="step"):
        spot_grid(6000, 0.05, 0)
