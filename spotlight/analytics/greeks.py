"""Black-Scholes-Merton prices, gamma and implied vol for European options (pure, math only).

Conventions: ``t`` in years (see ``session.SessionCalendar.year_fraction`` for the 0DTE
trading-time basis), ``r`` continuously compounded rate, ``q`` continuous dividend yield, ``vol``
annualised. Gamma is per 1 point of the underlying and the same for calls and puts.
Degenerate inputs (t <= 0, vol <= 0, spot or strike <= 0) give gamma 0 and intrinsic-value
prices rather than raising, because a live chain always contains a few such rows.
"""

from __future__ import annotations

import math
from typing import Final, Literal

OptionKind = Literal["call", "put"]

_SQRT_2PI: Final = math.sqrt(2.0 * math.pi)
_SQRT_2: Final = math.sqrt(2.0)
# Implied-vol search bracket: 0.01% to 500% covers every listed index option, including 0DTE
# wings on a crash day; outside it the quote is junk rather than a volatility.
IV_LOW: Final = 1e-4
IV_HIGH: Final = 5.0
# Bisection halves the bracket each step: 60 steps take 5.0 to ~4e-18, below double precision.
_IV_STEPS: Final = 60
# Prices computed in doubles carry rounding of a few ulps of the spot: a model price that sits
# on the no-arbitrage floor can come out that much below it.
_PRICE_ROUNDING: Final = 1e-13


def norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / _SQRT_2PI


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / _SQRT_2)


def d1(spot: float, strike: float, vol: float, t: float, r: float = 0.0, q: float = 0.0) -> float:
    """d1 = [ln(S/K) + (r - q + vol^2/2) t] / (vol sqrt t); inputs must be positive."""
    return (math.log(spot / strike) + (r - q + 0.5 * vol * vol) * t) / (vol * math.sqrt(t))


def _degenerate(spot: float, strike: float, vol: float, t: float) -> bool:
    return t <= 0.0 or vol <= 0.0 or spot <= 0.0 or strike <= 0.0


def bs_gamma(
    spot: float, strike: float, vol: float, t_years: float, r: float = 0.0, q: float = 0.0
) -> float:
    """Gamma = e^(-q t) phi(d1) / (S vol sqrt t); 0.0 for degenerate inputs."""
    if _degenerate(spot, strike, vol, t_years):
        return 0.0
    x = d1(spot, strike, vol, t_years, r, q)
    return math.exp(-q * t_years) * norm_pdf(x) / (spot * vol * math.sqrt(t_years))


def bs_price(
    kind: OptionKind,
    spot: float,
    strike: float,
    vol: float,
    t: float,
    r: float = 0.0,
    q: float = 0.0,
) -> float:
    """Black-Scholes-Merton price; discounted intrinsic value when vol or t is 0."""
    if kind not in ("call", "put"):
        raise ValueError(f"kind must be 'call' or 'put', not {kind!r}")
    fwd_s = spot * math.exp(-q * max(t, 0.0))
    disc_k = strike * math.exp(-r * max(t, 0.0))
    if _degenerate(spot, strike, vol, t):
        intrinsic = fwd_s - disc_k if kind == "call" else disc_k - fwd_s
        return max(intrinsic, 0.0)
    x1 = d1(spot, strike, vol, t, r, q)
    x2 = x1 - vol * math.sqrt(t)
    if kind == "call":
        return fwd_s * norm_cdf(x1) - disc_k * norm_cdf(x2)
    return disc_k * norm_cdf(-x2) - fwd_s * norm_cdf(-x1)


def implied_vol(
    kind: OptionKind,
    price: float,
    spot: float,
    strike: float,
    t: float,
    r: float = 0.0,
    q: float = 0.0,
) -> float | None:
    """The vol in [IV_LOW, IV_HIGH] that reprices ``price``, or None when no such vol exists.

    None covers: t, spot or strike <= 0; a price outside the no-arbitrage bounds (below
    discounted intrinsic or above the discounted spot/strike); and a price the bracket cannot
    reach. Bisection, not Newton: vega vanishes in the wings and for 0DTE, where Newton jumps
    out of range, while the price is monotone in vol so bisection always converges.
    """
    if t <= 0.0 or spot <= 0.0 or strike <= 0.0 or not math.isfinite(price):
        return None
    lo_price = bs_price(kind, spot, strike, IV_LOW, t, r, q)
    hi_price = bs_price(kind, spot, strike, IV_HIGH, t, r, q)
    if lo_price - _PRICE_ROUNDING * max(spot, strike) <= price < lo_price:
        # A price at intrinsic value to rounding (deep in the money, little time left): every
        # vol up to where time value shows reprices it, and the lowest is the answer.
        return IV_LOW
    if not lo_price <= price <= hi_price:
        return None
    lo, hi = IV_LOW, IV_HIGH
    for _ in range(_IV_STEPS):
        mid = 0.5 * (lo + hi)
        if bs_price(kind, spot, strike, mid, t, r, q) < price:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
