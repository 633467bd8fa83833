"""Implied and realized volatility, and the heuristic regime matrix (spec section 6).

Volatility (all results annualized as decimals, e.g. 0.16 for 16%, moves in points):

* Close-to-close: sigma = sqrt(N/(n-1) * sum((r_i - mean r)^2)), r_i = ln(C_i/C_{i-1}).
* Parkinson: sigma^2 = N / (4 n ln 2) * sum(ln(H_i/L_i)^2), n bars.
* Session RV from 1-minute closes: sigma = sqrt(252 * (390/n) * sum(r_i^2)) over n minutes.
* Implied move: S * sigma * sqrt(T); Rule of 16: S * VIX/100 / sqrt(252) (1-day 1 sigma).

Regime: the thresholds are the spec's defaults to tune, not sourced values. Gamma sign is
POS/NEG/TRANSITION, vol state IV_rich/RV_hot/neutral, and four 0/1 trend-vs-range checks sum
to an evidence score 0-4 (low <= 1, high >= 3). :func:`classify` maps the three to a label.

Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from spotlight.domain.bars import Bar

__all__ = [
    "EVIDENCE_HIGH",
    "EVIDENCE_LOW",
    "IV_RICH_RATIO",
    "RV_HOT_RATIO",
    "TRADING_DAYS",
    "RegimeLabel",
    "classify",
    "gamma_sign",
    "implied_move",
    "parkinson_vol",
    "realized_vol_close_to_close",
    "rule_of_16",
    "session_realized_vol",
    "trend_evidence",
    "vol_state",
]

TRADING_DAYS = 252
SESSION_MINUTES = 390  # 09:30-16:00 ET
# |spot - flip| below this fraction of the remaining-session 1-sigma move is TRANSITION.
TRANSITION_SIGMA_FRACTION = 0.25
IV_RICH_RATIO = 1.2  # IV / RV above this: options price more movement than is realized
RV_HOT_RATIO = 0.9  # IV / RV below this: realized movement outruns implied
EVIDENCE_LOW = 1  # at most one trend check true: range-like
EVIDENCE_HIGH = 3  # at least three of four: trend-like; 2 is inconclusive


def _log_returns(closes: Sequence[float]) -> list[float] | None:
    if any(not (math.isfinite(c) and c > 0) for c in closes):
        return None
    return [math.log(b / a) for a, b in pairwise(closes)]


def realized_vol_close_to_close(
    closes: Sequence[float], periods_per_year: float = TRADING_DAYS
) -> float | None:
    """Annualized close-to-close vol (sample stdev of log returns times sqrt(N)).

    Needs at least 3 closes (2 returns); None if fewer or if any close is not a positive
    finite number. N = 252 for daily closes, 252 * 390 for 1-minute closes.
    """
    returns = _log_returns(closes)
    if returns is None or len(returns) < 2:
        return None
    n = len(returns)
    mean = math.fsum(returns) / n
    var = math.fsum((r - mean) ** 2 for r in returns) / (n - 1)
    return math.sqrt(periods_per_year * var)


def parkinson_vol(bars: Sequence[Bar], periods_per_year: float = TRADING_DAYS) -> float | None:
    """Annualized Parkinson (high-low range) vol over ``bars``.

    Bars with a non-positive or non-finite low or high are skipped; None if none remain.
    Use N = 252 for daily bars and 252 * 390 for 1-minute bars.
    """
    logs = [
        math.log(b.high / b.low)
        for b in bars
        if math.isfinite(b.high) and math.isfinite(b.low) and b.low > 0 and b.high >= b.low
    ]
    if not logs:
        return None
    var = math.fsum(x * x for x in logs) / (4 * len(logs) * math.log(2))
    return math.sqrt(periods_per_year * var)


def session_realized_vol(minute_closes: Sequence[float]) -> float | None:
    """Annualized intraday RV so far: sqrt(252 * (390/n) * sum(r_i^2)), n = number of returns.

    ``minute_closes`` are consecutive 1-minute closes of the session; put the session open
    (or the prior close) first to count the first minute. Returns are not demeaned (intraday
    drift is negligible). None with fewer than 2 closes or a non-positive close.
    """
    returns = _log_returns(minute_closes)
    if not returns:
        return None
    n = len(returns)
    return math.sqrt(TRADING_DAYS * (SESSION_MINUTES / n) * math.fsum(r * r for r in returns))


def implied_move(spot: float, vol_annual: float, t_years: float) -> float:
    """1-sigma move in points over ``t_years``: spot * vol * sqrt(T). T <= 0 gives 0."""
    return spot * vol_annual * math.sqrt(max(t_years, 0.0))


def rule_of_16(spot: float, vix: float) -> float:
    """1-day 1-sigma move in points from VIX (in vol points, e.g. 16): spot * VIX/100/sqrt(252).

    At VIX 16 and SPX 6000 this is about 60 points (VIX/16 percent of spot).
    """
    return implied_move(spot, vix / 100, 1 / TRADING_DAYS)


def gamma_sign(spot: float, flip: float | None, net_gex: float, one_sigma_remaining: float) -> str:
    """POS, NEG or TRANSITION.

    - TRANSITION if |spot - flip| < 0.25 * the remaining-session 1-sigma move;
    - POS if spot > flip and net GEX at spot > 0;
    - NEG if spot < flip and net GEX < 0;
    - TRANSITION otherwise (the two tests disagree).

    ``flip`` is None when the gamma profile has no zero crossing in range: then the sign of
    ``net_gex`` alone decides (0 is TRANSITION).
    """
    if flip is None:
        return "POS" if net_gex > 0 else "NEG" if net_gex < 0 else "TRANSITION"
    if abs(spot - flip) < TRANSITION_SIGMA_FRACTION * one_sigma_remaining:
        return "TRANSITION"
    if spot > flip and net_gex > 0:
        return "POS"
    if spot < flip and net_gex < 0:
        return "NEG"
    return "TRANSITION"


def vol_state(iv: float | None, rv: float | None) -> str:
    """IV_rich if iv/rv > 1.2, RV_hot if iv/rv < 0.9, else neutral.

    ``iv`` is the 0DTE ATM IV (or VIX/100 for the swing view), ``rv`` the session RV, both
    annualized decimals. Neutral when either is missing, non-finite or not positive (no RV
    in the first minutes of the session).
    """
    if iv is None or rv is None:
        return "neutral"
    if not (math.isfinite(iv) and math.isfinite(rv) and iv > 0 and rv > 0):
        return "neutral"
    ratio = iv / rv
    if ratio > IV_RICH_RATIO:
        return "IV_rich"
    if ratio < RV_HOT_RATIO:
        return "RV_hot"
    return "neutral"


def trend_evidence(
    vwap_side_held: bool,
    opening_range_break_held: bool,
    range_exceeds_implied: bool,
    moving_away_from_ags: bool,
) -> int:
    """Sum of the four trend-vs-range checks, each 0 or 1 (so 0-4).

    - ``vwap_side_held`` (a): price held one side of session VWAP for >= 70% of the last
      30 minutes' bars.
    - ``opening_range_break_held`` (b): the opening range broke and a bar closed outside it
      with no re-entry for 15 minutes.
    - ``range_exceeds_implied`` (c): session range so far / 1-day implied move > 0.8.
    - ``moving_away_from_ags`` (d): spot is moving away from the absolute gamma strike.
    """
    checks = (vwap_side_held, opening_range_break_held, range_exceeds_implied, moving_away_from_ags)
    return sum(1 for check in checks if check)


@dataclass(frozen=True, slots=True)
class RegimeLabel:
    """The regime verdict. ``label`` is one of RANGE, TREND, POS_GAMMA_TRENDING,
    FRAGILE_RANGE, MIXED; ``description`` is the human text for it."""

    label: str
    gamma: str
    vol: str
    evidence: int
    description: str


_DESCRIPTIONS = {
    "RANGE": "RANGE / mean-revert (pin risk near AGS)",
    "TREND": "TREND / expansion",
    "POS_GAMMA_TRENDING": "positive gamma but trending: expect stalls at the call/put wall",
    "FRAGILE_RANGE": "fragile range: breaks accelerate",
    "MIXED": "mixed: no clear regime, signals disagree",
}


def classify(gamma: str, vol: str, evidence: int) -> RegimeLabel:
    """Map gamma sign, vol state and evidence (0-4) to a label (spec section 6.3 matrix).

    =========  =======  ========  ====================
    gamma      vol      evidence  label
    =========  =======  ========  ====================
    POS        any      high      POS_GAMMA_TRENDING
    POS        IV_rich  low       RANGE
    NEG        RV_hot   high      TREND
    NEG        IV_rich  low       FRAGILE_RANGE
    otherwise                     MIXED
    =========  =======  ========  ====================

    High is evidence >= 3, low is evidence <= 1.
    """
    high = evidence >= EVIDENCE_HIGH
    low = evidence <= EVIDENCE_LOW
    if gamma == "POS" and high:
        label = "POS_GAMMA_TRENDING"
    elif gamma == "POS" and vol == "IV_rich" and low:
        label = "RANGE"
    elif gamma == "NEG" and vol == "RV_hot" and high:
        label = "TREND"
    elif gamma == "NEG" and vol == "IV_rich" and low:
        label = "FRAGILE_RANGE"
    else:
        label = "MIXED"
    return RegimeLabel(label, gamma, vol, evidence, _DESCRIPTIONS[label])
