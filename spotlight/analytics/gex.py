"""Dealer gamma exposure: contracts priced on one basis, per strike, re-priced profile, flip
and key strikes (pure).

Conventions (spx-analytics.md sections 1-4 and 11), also published in the channel metadata:

- Unit: variant A, "$ per 1% move": GEX = sign * gamma * OI * multiplier * S^2 * 0.01; the
  per-point variant is the same divided by 0.01 * S.
- Sign: the naive public rule, dealers long calls and short puts, so calls +, puts -.
- One basis for IV and time: T is session-aware trading time (``SessionCalendar``:
  regular-session minutes plus each overnight gap ahead) and the vol is implied from the
  contract's quote mid *on that T* (Black-76 on the forward from put-call parity). A
  vendor's IV is implied on its own T (Massive's: calendar time), and using it with ours
  changes the total variance vol^2 T: at 13:00 an ATM 0DTE gamma came out 0.43x the
  vendor's. Without a usable mid, the vendor's IV is converted to our basis by keeping its
  total variance (vol_ours = vol_vendor sqrt(T_calendar / T_ours)). Vols are on the real
  time left; the greeks take T floored at 15 minutes, which caps 0DTE gamma at the bell
  (``chain_pricing``'s docstring).
- Buckets: ``0dte`` = PM-settled contracts expiring today (New York date); ``ex0dte`` = every
  other live contract within ``max_dte`` calendar days; ``all`` = both. A contract is live
  while a regular session is left before its settlement, so AM-settled SPX monthlies leave
  every bucket at the close of the session before their expiry (they settle on the opening
  print: nothing is left to hedge, and at a 15-minute floor they piled the walls onto one
  strike before the open).
- Dropped: contracts that are not live, OI <= 0, and those without a usable vol (counted as
  ``unpriced``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from spotlight.analytics import chain_math as cm
from spotlight.analytics.chain_pricing import (
    BUCKETS,
    CHARM_PER_HOUR,
    DEFAULT_MAX_DTE,
    ONE_PCT,
    Bucket,
    OptionPosition,
    PricedChain,
    price_chain,
)
from spotlight.analytics.session import DEFAULT_FLOOR_MINUTES, SessionCalendar

__all__ = [
    "BUCKETS",
    "CHARM_PER_HOUR",
    "DEFAULT_MAX_DTE",
    "ONE_PCT",
    "Bucket",
    "FlipResult",
    "KeyLevels",
    "OptionPosition",
    "PricedChain",
    "StrikeGex",
    "by_strike",
    "chain_profile",
    "gamma_flip",
    "gamma_profile",
    "gex_by_strike",
    "key_levels",
    "price_chain",
    "spot_grid",
]


@dataclass(frozen=True, slots=True)
class StrikeGex:
    """$ per 1% move at one strike: ``call_gex`` >= 0, ``put_gex`` <= 0, ``net_gex`` their sum;
    ``vanna`` in $ delta per vol point, ``charm`` in $ delta per session hour (both net)."""

    strike: float
    call_gex: float
    put_gex: float
    net_gex: float
    vanna: float = 0.0
    charm: float = 0.0

    @property
    def abs_gex(self) -> float:
        """|call| + |put|: gamma at the strike, not netted (the absolute gamma strike's score)."""
        return abs(self.call_gex) + abs(self.put_gex)


@dataclass(frozen=True, slots=True)
class FlipResult:
    """``level`` is the crossing nearest spot, or None when the profile never changes sign.
    ``multiple``: more than one crossing on the grid. ``side`` (only when ``level`` is None):
    "below" if the profile is positive everywhere (the flip lies under the grid), "above" if
    negative everywhere, None when there is no non-zero gamma at all."""

    level: float | None
    multiple: bool
    side: str | None


@dataclass(frozen=True, slots=True)
class KeyLevels:
    """Strikes, or None when no strike qualifies (e.g. no puts -> no put wall). Ties go to the
    lowest strike so the result does not depend on input order. ``total_gex`` is in $."""

    call_wall: float | None
    put_wall: float | None
    abs_gamma_strike: float | None
    max_net_strike: float | None
    total_gex: float


def by_strike(chain: PricedChain, bucket: Bucket) -> list[StrikeGex]:
    """GEX, vanna and charm exposure per strike over one bucket, ascending by strike."""
    mask = chain.mask(bucket)
    if not mask.any():
        return []
    gex, vanna, charm = (
        a[mask] for a in (chain.gex(), chain.vanna_exposure(), chain.charm_exposure())
    )
    strikes = chain.strike[mask]
    calls = chain.weight[mask] > 0
    keys, inverse = np.unique(strikes, return_inverse=True)
    size = keys.shape[0]
    call_gex = np.bincount(inverse, weights=np.where(calls, gex, 0.0), minlength=size)
    put_gex = np.bincount(inverse, weights=np.where(calls, 0.0, gex), minlength=size)
    vanna_k = np.bincount(inverse, weights=vanna, minlength=size)
    charm_k = np.bincount(inverse, weights=charm, minlength=size)
    return [
        StrikeGex(float(k), float(c), float(p), float(c + p), float(v), float(ch))
        for k, c, p, v, ch in zip(keys, call_gex, put_gex, vanna_k, charm_k, strict=True)
    ]


def chain_profile(chain: PricedChain, bucket: Bucket, spots: Sequence[float]) -> list[float]:
    """Total GEX of one bucket re-priced at each hypothetical spot (``chain_math.profile``)."""
    m = chain.mask(bucket)
    return cm.profile(
        spots, chain.weight[m], chain.carry[m], chain.strike[m], chain.vol[m], chain.t[m],
        chain.disc[m],
    )  # fmt: skip


def gex_by_strike(
    positions: Iterable[OptionPosition],
    spot: float,
    now: datetime,
    calendar: SessionCalendar,
    bucket: Bucket,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = DEFAULT_FLOOR_MINUTES,
    *,
    r: float = 0.0,
    q: float = 0.0,
) -> list[StrikeGex]:
    """GEX ($ per 1% move) per strike at ``spot``, ascending by strike."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    chain = price_chain(positions, spot, now, calendar, max_dte, floor_minutes, r=r, q=q)
    return by_strike(chain, bucket)


def gamma_profile(
    positions: Iterable[OptionPosition],
    spots: Sequence[float],
    now: datetime,
    calendar: SessionCalendar,
    bucket: Bucket,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = DEFAULT_FLOOR_MINUTES,
    *,
    spot: float | None = None,
    r: float = 0.0,
    q: float = 0.0,
) -> list[float]:
    """Total GEX ($ per 1% move) with every contract re-priced at each hypothetical spot.
    ``spot`` (default: the middle of ``spots``) is where vols are implied and carry is set."""
    if not spots:
        return []
    at = spot if spot is not None else spots[len(spots) // 2]
    chain = price_chain(positions, at, now, calendar, max_dte, floor_minutes, r=r, q=q)
    return chain_profile(chain, bucket, spots)


def gamma_flip(spots: Sequence[float], profile: Sequence[float], spot: float) -> FlipResult:
    """Where the profile changes sign, by linear interpolation; ``spots`` must ascend.

    Exact zeros are not crossings by themselves (a touch is not a flip): signs are compared
    between consecutive non-zero points; if zeros separate them, the crossing is the middle of
    that zero run.
    """
    if len(spots) != len(profile):
        raise ValueError(f"spots and profile differ in length: {len(spots)} vs {len(profile)}")
    if any(b <= a for a, b in itertools.pairwise(spots)):
        raise ValueError("spots must be strictly ascending")
    nonzero = [i for i, g in enumerate(profile) if g != 0.0]
    if not nonzero:
        return FlipResult(None, False, None)
    crossings: list[float] = []
    for i, j in itertools.pairwise(nonzero):
        a, b = profile[i], profile[j]
        if (a > 0) == (b > 0):
            continue
        if j == i + 1:
            crossings.append(spots[i] - a * (spots[j] - spots[i]) / (b - a))
        else:
            crossings.append(0.5 * (spots[i + 1] + spots[j - 1]))
    if not crossings:
        return FlipResult(None, False, "below" if profile[nonzero[0]] > 0 else "above")
    level = min(crossings, key=lambda x: (abs(x - spot), x))
    return FlipResult(level, len(crossings) > 1, None)


def _argmax(strikes: Sequence[StrikeGex], value: str) -> float | None:
    def score(s: StrikeGex) -> float:
        if value == "call":
            return s.call_gex
        if value == "put":
            return -s.put_gex
        if value == "abs":
            return s.abs_gex
        return s.net_gex

    best: StrikeGex | None = None
    for s in strikes:
        if best is None or (score(s), -s.strike) > (score(best), -best.strike):
            best = s
    if best is None or (value != "net" and score(best) <= 0):
        return None
    return best.strike


def key_levels(strikes: Sequence[StrikeGex]) -> KeyLevels:
    """Call wall, put wall, absolute-gamma strike and max-net strike over one bucket."""
    return KeyLevels(
        call_wall=_argmax(strikes, "call"),
        put_wall=_argmax(strikes, "put"),
        abs_gamma_strike=_argmax(strikes, "abs"),
        max_net_strike=_argmax(strikes, "net"),
        # fsum is exactly rounded, hence independent of input order.
        total_gex=math.fsum(s.net_gex for s in strikes),
    )


def spot_grid(spot: float, pct: float, step: float) -> list[float]:
    """Multiples of ``step`` within spot * (1 -/+ pct), so grids line up with strikes."""
    if step <= 0 or pct <= 0 or spot <= 0:
        raise ValueError(f"spot, pct and step must be > 0, not {spot!r}, {pct!r}, {step!r}")
    lo = math.ceil(spot * (1 - pct) / step)
    hi = math.floor(spot * (1 + pct) / step)
    return [k * step for k in range(lo, hi + 1)]
