"""Whole-chain Black-76 math as array operations (numpy; pure, no I/O).

Each contract is priced on its forward ``F`` with a discount factor ``D`` and a *volatility
time* ``T`` (session-aware trading time, ``session.SessionCalendar.year_fraction``); carry
(``D``, ``F``) runs on calendar time. With ``c = F / S`` the carry factor, the greeks with
respect to the spot are:

    d1 = [ln(F/K) + vol^2 T / 2] / (vol sqrt T),  d2 = d1 - vol sqrt T
    delta = D c N(d1) (calls), D c (N(d1) - 1) (puts)
    gamma = D c phi(d1) / (S vol sqrt T)           (per point, calls and puts alike)
    vanna = -D c phi(d1) d2 / vol                  (delta per unit of vol)
    charm = D c phi(d1) d2 / (2 T)                 (delta change per year of T passing)

With D = c = 1 these are the textbook Black-Scholes greeks (``greeks.py``, the scalar
reference the tests compare against). Implied vols are solved by Newton steps kept inside a
shrinking bracket, falling back to bisection where a step would leave it: vega vanishes in
the wings and for 0DTE, where plain Newton diverges.

The normal CDF uses ``math.erfc`` element-wise (exact; numpy has no erf), which costs about
0.1 us per element: a 5,000-contract chain solves in a few ms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spotlight.analytics.greeks import IV_HIGH, IV_LOW

__all__ = [
    "Arr",
    "black_price",
    "charm",
    "delta",
    "gamma",
    "implied_vols",
    "ncdf",
    "npdf",
    "profile",
    "vanna",
]

Arr = NDArray[np.float64]

_SQRT_2: Final = math.sqrt(2.0)
_SQRT_2PI: Final = math.sqrt(2.0 * math.pi)
_erfc = np.vectorize(math.erfc, otypes=[np.float64])
# Newton with a bracket halves the bracket at worst, so 60 steps reach double precision from
# the full [IV_LOW, IV_HIGH] range; typical contracts converge in 4-6.
_IV_STEPS: Final = 60
# A price match to 1e-9 of the forward is far below any quote's tick.
_IV_PRICE_TOL: Final = 1e-9
# Spot-grid rows evaluated at once in a profile: bounds memory to ~64 x contracts doubles.
_PROFILE_CHUNK: Final = 64


def ncdf(x: Arr) -> Arr:
    out: Arr = 0.5 * np.asarray(_erfc(-x / _SQRT_2), dtype=np.float64)
    return out


def npdf(x: Arr) -> Arr:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _d1_d2(fwd: Arr, strike: Arr, vol: Arr, t: Arr) -> tuple[Arr, Arr, Arr]:
    sst = vol * np.sqrt(t)
    d1 = (np.log(fwd / strike) + 0.5 * sst * sst) / sst
    return d1, d1 - sst, sst


def black_price(is_call: Arr, fwd: Arr, strike: Arr, vol: Arr, t: Arr, disc: Arr) -> Arr:
    """Discounted Black-76 prices; inputs must be positive (callers mask the rest)."""
    d1, d2, _ = _d1_d2(fwd, strike, vol, t)
    call = disc * (fwd * ncdf(d1) - strike * ncdf(d2))
    put = disc * (strike * ncdf(-d2) - fwd * ncdf(-d1))
    out: Arr = np.where(is_call > 0, call, put)
    return out


def implied_vols(is_call: Arr, price: Arr, fwd: Arr, strike: Arr, t: Arr, disc: Arr) -> Arr:
    """The vol in [IV_LOW, IV_HIGH] repricing each ``price``, NaN where none exists (a price
    outside the no-arbitrage bounds or the bracket, a price without time value: within
    ``_IV_PRICE_TOL`` x F of intrinsic, or a non-positive input)."""
    n = price.shape[0]
    ok = np.isfinite(price) & (price > 0) & (t > 0) & (fwd > 0) & (strike > 0) & (disc > 0)
    out = np.full(n, np.nan)
    if not ok.any():
        return out
    c, p, f, k, tt, d = (a[ok] for a in (is_call, price, fwd, strike, t, disc))
    lo = np.full(p.shape, IV_LOW)
    hi = np.full(p.shape, IV_HIGH)
    tol = _IV_PRICE_TOL * f
    # A price within ``tol`` of the lowest vol's price (intrinsic value, deep in the money)
    # has no time value to invert: the forward rebuilt as carry x spot can sit one ulp off,
    # and a "time value" of 1e-12 points solved to a vol of a few percent.
    reachable = (p - black_price(c, f, k, lo, tt, d) > tol) & (p < black_price(c, f, k, hi, tt, d))
    # Brenner-Subrahmanyam's at-the-money estimate: a start close to the answer near the money.
    sigma = np.clip(np.sqrt(2.0 * math.pi / tt) * p / (d * f), IV_LOW * 2, IV_HIGH / 2)
    for _ in range(_IV_STEPS):
        model = black_price(c, f, k, sigma, tt, d)
        diff = model - p
        done = np.abs(diff) <= tol
        if done.all():
            break
        hi = np.where(diff > 0, sigma, hi)
        lo = np.where(diff <= 0, sigma, lo)
        d1, _, _ = _d1_d2(f, k, sigma, tt)
        vega = d * f * npdf(d1) * np.sqrt(tt)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = sigma - diff / vega
        inside = np.isfinite(step) & (step > lo) & (step < hi)
        sigma = np.where(done, sigma, np.where(inside, step, 0.5 * (lo + hi)))
    solved = np.where(reachable, sigma, np.nan)
    out[ok] = solved
    return out


def delta(spot: float, is_call: Arr, fwd: Arr, strike: Arr, vol: Arr, t: Arr, disc: Arr) -> Arr:
    d1, _, _ = _d1_d2(fwd, strike, vol, t)
    n1 = ncdf(d1)
    out: Arr = disc * (fwd / spot) * np.where(is_call > 0, n1, n1 - 1.0)
    return out


def gamma(spot: float, fwd: Arr, strike: Arr, vol: Arr, t: Arr, disc: Arr) -> Arr:
    d1, _, sst = _d1_d2(fwd, strike, vol, t)
    out: Arr = disc * (fwd / spot) * npdf(d1) / (spot * sst)
    return out


def vanna(spot: float, fwd: Arr, strike: Arr, vol: Arr, t: Arr, disc: Arr) -> Arr:
    d1, d2, _ = _d1_d2(fwd, strike, vol, t)
    out: Arr = -disc * (fwd / spot) * npdf(d1) * d2 / vol
    return out


def charm(spot: float, fwd: Arr, strike: Arr, vol: Arr, t: Arr, disc: Arr) -> Arr:
    d1, d2, _ = _d1_d2(fwd, strike, vol, t)
    out: Arr = disc * (fwd / spot) * npdf(d1) * d2 / (2.0 * t)
    return out


def profile(
    spots: Sequence[float],
    weight: Arr,
    carry: Arr,
    strike: Arr,
    vol: Arr,
    t: Arr,
    disc: Arr,
) -> list[float]:
    """Total GEX ($ per 1% move) at each hypothetical spot, every contract re-priced there
    with its own vol (sticky strike) and carry (F = c S): sum of
    weight * gamma(S_j) * S_j^2 * 0.01, ``weight`` = sign * OI * multiplier."""
    grid = np.asarray(spots, dtype=np.float64)
    if grid.size == 0:
        return []
    if weight.size == 0:
        return [0.0] * int(grid.size)
    sst = vol * np.sqrt(t)
    # gamma(S) S^2 0.01 = coef * exp(-x^2 / 2) * S * 0.01 with x = d1 at S.
    coef = weight * disc * carry / (_SQRT_2PI * sst)
    shift = np.log(strike / carry) - 0.5 * sst * sst  # ln S - shift = ln(F/K) + sst^2/2
    out: list[float] = []
    for lo in range(0, grid.size, _PROFILE_CHUNK):
        rows = grid[lo : lo + _PROFILE_CHUNK]
        positive = rows > 0
        ln_s = np.log(np.where(positive, rows, 1.0))
        x = (ln_s[:, None] - shift[None, :]) / sst[None, :]
        totals = (np.exp(-0.5 * x * x) * coef[None, :]).sum(axis=1) * rows * 0.01
        out.extend(float(v) if ok else 0.0 for v, ok in zip(totals, positive, strict=True))
    return out
