"""Volatility estimators and the regime matrix (spec section 6)."""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from spotlight.analytics.regime import (
    RegimeLabel,
    classify,
    gamma_sign,
    implied_move,
    parkinson_vol,
    realized_vol_close_to_close,
    rule_of_16,
    session_realized_vol,
    trend_evidence,
    vol_state,
)
from spotlight.domain.bars import Bar


def test_close_to_close_worked_numbers() -> None:
    # Returns +ln1.1, -ln1.1: mean 0, sample variance 2*ln(1.1)^2 / (2-1).
    got = realized_vol_close_to_close([100.0, 110.0, 100.0])
    assert got == pytest.approx(math.sqrt(252 * 2) * math.log(1.1))
    closes = [100.0, 101.0, 100.0, 102.0, 101.5]
    returns = [math.log(b / a) for a, b in itertools.pairwise(closes)]
    expected = statistics.stdev(returns) * math.sqrt(252)
    assert realized_vol_close_to_close(closes) == pytest.approx(expected)
    assert realized_vol_close_to_close(closes, 252 * 390) == pytest.approx(
        expected * math.sqrt(390)
    )


@pytest.mark.parametrize("closes", [[], [100.0], [100.0, 101.0], [100.0, 0.0, 101.0]])
def test_close_to_close_needs_two_valid_returns(closes: list[float]) -> None:
    assert realized_vol_close_to_close(closes) is None


def _bar(high: float, low: float) -> Bar:
    return Bar("I:SPX", "1d", 0, low, high, low, high, 0.0, 1)


def test_parkinson_worked_numbers() -> None:
    bars = [_bar(100 * math.exp(0.01), 100.0), _bar(200 * math.exp(0.01), 200.0)]
    # Every ln(H/L) = 0.01: variance = 0.0001 / (4 ln 2) per period.
    assert parkinson_vol(bars) == pytest.approx(0.01 * math.sqrt(252 / (4 * math.log(2))))
    mixed = [_bar(101.0, 100.0), _bar(103.0, 100.0)]
    logs = [math.log(1.01), math.log(1.03)]
    expected = math.sqrt(252 * 390 * sum(x * x for x in logs) / (4 * 2 * math.log(2)))
    assert parkinson_vol(mixed, 252 * 390) == pytest.approx(expected)
    assert parkinson_vol([]) is None
    assert parkinson_vol([_bar(1.0, 0.0)]) is None


def test_session_realized_vol_worked_numbers() -> None:
    closes = [6000 * math.exp(0.001 * i) for i in range(11)]  # 10 returns of 0.1%
    expected = math.sqrt(252 * (390 / 10) * 10 * 0.001**2)  # = 0.001 * sqrt(252 * 390)
    assert session_realized_vol(closes) == pytest.approx(expected)
    assert session_realized_vol(closes) == pytest.approx(0.31350, abs=1e-4)
    assert session_realized_vol([6000.0]) is None
    assert session_realized_vol([]) is None


def test_rule_of_16_and_implied_move() -> None:
    move = rule_of_16(6000.0, 16.0)
    assert move == pytest.approx(6000 * 0.16 / math.sqrt(252))
    assert 60.0 < move < 61.0  # "about 60 points" (VIX/16 = 1%)
    assert implied_move(6000.0, 0.16, 1 / 252) == pytest.approx(move)
    assert implied_move(6000.0, 0.20, 0.25 / 252) == pytest.approx(
        6000 * 0.2 * math.sqrt(0.25 / 252)
    )
    assert implied_move(6000.0, 0.20, -1.0) == 0.0


@pytest.mark.parametrize(
    ("spot", "flip", "net_gex", "sigma", "expected"),
    [
        (6050.0, 6000.0, 1e9, 40.0, "POS"),
        (5950.0, 6000.0, -1e9, 40.0, "NEG"),
        (6005.0, 6000.0, 1e9, 40.0, "TRANSITION"),  # 5 < 0.25 * 40
        (5995.0, 6000.0, -1e9, 40.0, "TRANSITION"),
        (6050.0, 6000.0, -1e9, 40.0, "TRANSITION"),  # tests disagree
        (5950.0, 6000.0, 1e9, 40.0, "TRANSITION"),
        (6010.0, 6000.0, 1e9, 40.0, "POS"),  # exactly 0.25 sigma away: not "<"
        (6000.0, None, 1e9, 40.0, "POS"),
        (6000.0, None, -1e9, 40.0, "NEG"),
        (6000.0, None, 0.0, 40.0, "TRANSITION"),
    ],
)
def test_gamma_sign(
    spot: float, flip: float | None, net_gex: float, sigma: float, expected: str
) -> None:
    assert gamma_sign(spot, flip, net_gex, sigma) == expected


@pytest.mark.parametrize(
    ("iv", "rv", "expected"),
    [
        (0.25, 0.20, "IV_rich"),  # 1.25
        (1.2, 1.0, "neutral"),  # 1.2 is not > 1.2
        (0.9, 1.0, "neutral"),  # 0.9 is not < 0.9
        (0.17, 0.20, "RV_hot"),
        (0.20, 0.0, "neutral"),
        (0.20, None, "neutral"),
        (None, 0.20, "neutral"),
        (math.nan, 0.20, "neutral"),
    ],
)
def test_vol_state(iv: float | None, rv: float | None, expected: str) -> None:
    assert vol_state(iv, rv) == expected


def test_trend_evidence_counts_each_check_once() -> None:
    for flags in itertools.product((False, True), repeat=4):
        assert trend_evidence(*flags) == sum(flags)


def _expected(gamma: str, vol: str, evidence: int) -> str:
    high, low = evidence >= 3, evidence <= 1
    table = {
        ("POS", "IV_rich", "low"): "RANGE",
        ("NEG", "RV_hot", "high"): "TREND",
        ("NEG", "IV_rich", "low"): "FRAGILE_RANGE",
    }
    if gamma == "POS" and high:
        return "POS_GAMMA_TRENDING"
    band = "high" if high else "low" if low else "mid"
    return table.get((gamma, vol, band), "MIXED")


@pytest.mark.parametrize("gamma", ["POS", "NEG", "TRANSITION"])
@pytest.mark.parametrize("vol", ["IV_rich", "RV_hot", "neutral"])
@pytest.mark.parametrize("evidence", [0, 1, 2, 3, 4])
def test_classify_matrix_coverage(gamma: str, vol: str, evidence: int) -> None:
    got = classify(gamma, vol, evidence)
    assert got.label == _expected(gamma, vol, evidence)
    assert (got.gamma, got.vol, got.evidence) == (gamma, vol, evidence)
    assert got.description


def test_classify_named_cells() -> None:
    assert classify("POS", "IV_rich", 0) == RegimeLabel(
        "RANGE", "POS", "IV_rich", 0, "RANGE / mean-revert (pin risk near AGS)"
    )
    assert classify("NEG", "RV_hot", 4).description == "TREND / expansion"
    assert classify("POS", "RV_hot", 3).label == "POS_GAMMA_TRENDING"
    assert classify("NEG", "IV_rich", 1).label == "FRAGILE_RANGE"
    assert classify("TRANSITION", "IV_rich", 0).label == "MIXED"
    assert classify("NEG", "RV_hot", 2).label == "MIXED"
