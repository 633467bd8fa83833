"""Dealer gamma exposure: contracts priced on one basis, per strike, re-priced profile, flip
and key strikes (pure).

Conventions (spx-analytics.md sections 1-4 and 11), also published in the channel metadata:

- Unit: variant A, "$ per 1% move": GEX = sign * gamma * OI * multiplier * S^2 * 0.01; the
  per-point variant is the same divided by 0.01 * S.
- Sign: the naive public rule, dealers long calls and short puts, so calls +, puts -.
- One basis for IV and time: T is session-aware trading time (``SessionCalendar``:
  regular-session minutes plus each overnight gap ahead, 15-minute floor) and the vol is
  implied from the contract's quote mid *on that T* (Black-76 on the forward from put-call
  parity). A vendor's IV is implied on its own T (Massive's: calendar time), and using it
  with ours changes the total variance vol^2 T: at 13:00 an ATM 0DTE gamma came out 0.43x
  the vendor's. Without a usable mid, the vendor's IV is converted to our basis by keeping
  its total variance (vol_ours = vol_vendor sqrt(T_calendar / T_ours)).
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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

import numpy as np

from spotlight.analytics import chain_math as cm
from spotlight.analytics.chain_math import Arr
from spotlight.analytics.session import DEFAULT_FLOOR_MINUTES, MINUTES_PER_YEAR, SessionCalendar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot

__all__ = [
    "BUCKETS",
    "Bucket",
    "FlipResult",
    "KeyLevels",
    "OptionPosition",
    "PricedChain",
    "StrikeGex",
    "by_strike",
    "gamma_flip",
    "gamma_profile",
    "gex_by_strike",
    "key_levels",
    "price_chain",
    "spot_grid",
]

Bucket = Literal["0dte", "ex0dte", "all"]
BUCKETS: Final[tuple[Bucket, ...]] = ("0dte", "ex0dte", "all")

DEFAULT_MAX_DTE: Final = 60
# 1% of S: the S^2 * 0.01 factor turns gamma (per point) into $ traded per 1% move.
ONE_PCT: Final = 0.01
# Charm is published per hour of session time: 0DTE traders watch delta decay into the close
# by the hour, and "per day" overshoots a contract with three hours left.
CHARM_PER_HOUR: Final = 60.0 / MINUTES_PER_YEAR
# Roots whose contracts settle on the opening print (spx-analytics.md, S18). SPXW and equity
# or ETF options (SPY) settle PM.
_AM_ROOTS: Final = frozenset({"SPX"})
_ROOT = re.compile(r"^(?:O:)?([A-Z.]+?)\d{6}[CP]\d{8}$")
# Put-call parity gives the forward from the strikes nearest spot where both mids exist; the
# median of three rides out one stale quote.
_PARITY_STRIKES: Final = 3


@dataclass(frozen=True, slots=True)
class OptionPosition:
    """One contract's inputs.

    The vol comes from, in order: ``iv`` (already on Spotlight's basis: tests, worked
    examples), the quote ``mid`` (implied on our T), ``vendor_iv`` (the source's IV on
    calendar time, converted). ``vendor_gamma`` is only for the cross-check."""

    strike: float
    kind: str  # "call" or "put"
    expiry: date
    am_settled: bool
    open_interest: float
    iv: float | None = None
    multiplier: float = 100.0
    vendor_gamma: float | None = None
    mid: float | None = None
    vendor_iv: float | None = None

    @classmethod
    def from_snapshot(cls, snap: OptionSnapshot) -> OptionPosition:
        """Raises ValueError for a contract type other than call/put or an unparsable ticker."""
        kind = snap.contract_type.lower()
        if kind not in ("call", "put"):
            raise ValueError(f"{snap.ticker}: contract_type must be call or put, not {kind!r}")
        match = _ROOT.match(snap.ticker)
        if match is None:
            raise ValueError(
                f"{snap.ticker!r} is not an OCC option ticker like O:SPXW251219C06000000"
            )
        return cls(
            strike=snap.strike,
            kind=kind,
            expiry=date.fromisoformat(snap.expiration_date),
            am_settled=match.group(1) in _AM_ROOTS,
            open_interest=snap.open_interest,
            multiplier=snap.shares_per_contract or 100.0,
            vendor_gamma=snap.gamma,
            mid=snap.mid,
            vendor_iv=snap.implied_volatility,
        )


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


@dataclass(frozen=True, slots=True)
class PricedChain:
    """The live, priced contracts of a chain at one spot and instant, as parallel arrays.

    ``weight`` = sign * OI * multiplier (calls +, puts -); ``t`` is vol time (years of
    trading time), ``disc`` the discount factor, ``carry`` = forward / spot; ``vol`` is on
    our basis; ``source`` says where each vol came from ("given", "mid" or "vendor").
    ``unpriced`` counts live contracts with OI but no usable vol."""

    spot: float
    today: date
    positions: tuple[OptionPosition, ...]
    source: tuple[str, ...]
    strike: Arr
    weight: Arr
    is_call: Arr
    t: Arr
    disc: Arr
    carry: Arr
    vol: Arr
    zero_dte: Arr
    unpriced: int

    def mask(self, bucket: Bucket) -> Arr:
        if bucket == "0dte":
            return self.zero_dte
        if bucket == "ex0dte":
            out: Arr = np.logical_not(self.zero_dte)
            return out
        if bucket == "all":
            return np.ones(self.strike.shape[0], dtype=bool)
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, not {bucket!r}")

    def gamma(self) -> Arr:
        fwd = self.carry * self.spot
        return cm.gamma(self.spot, fwd, self.strike, self.vol, self.t, self.disc)

    def gex(self) -> Arr:
        """Per contract, $ per 1% move at the current spot."""
        out: Arr = self.weight * self.gamma() * self.spot * self.spot * ONE_PCT
        return out

    def vanna_exposure(self) -> Arr:
        """Per contract, dealer $ delta change per 1 vol point."""
        fwd = self.carry * self.spot
        v = cm.vanna(self.spot, fwd, self.strike, self.vol, self.t, self.disc)
        out: Arr = self.weight * v * self.spot * ONE_PCT
        return out

    def charm_exposure(self) -> Arr:
        """Per contract, dealer $ delta change per hour of session time passing."""
        fwd = self.carry * self.spot
        c = cm.charm(self.spot, fwd, self.strike, self.vol, self.t, self.disc)
        out: Arr = self.weight * c * CHARM_PER_HOUR * self.spot
        return out


def _in_scope(p: OptionPosition, today: date, max_dte: int) -> bool:
    return p.open_interest > 0 and 0 <= (p.expiry - today).days <= max_dte


def _forward(
    group: Sequence[OptionPosition], spot: float, disc: float, carry_t: float, r: float, q: float
) -> float:
    """Forward from put-call parity, F = K + (C - P) / D, at the strikes nearest spot with
    both mids; else spot * e^((r - q) t)."""
    calls = {p.strike: p.mid for p in group if p.kind == "call" and p.mid is not None}
    puts = {p.strike: p.mid for p in group if p.kind == "put" and p.mid is not None}
    both = sorted(calls.keys() & puts.keys(), key=lambda k: (abs(k - spot), k))
    estimates = [k + ((calls[k] or 0.0) - (puts[k] or 0.0)) / disc for k in both[:_PARITY_STRIKES]]
    estimates = [f for f in estimates if f > 0 and abs(f / spot - 1) < 0.05]
    if estimates:
        return float(np.median(estimates))
    return spot * math.exp((r - q) * carry_t)


def price_chain(
    positions: Iterable[OptionPosition],
    spot: float,
    now: datetime,
    calendar: SessionCalendar,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = DEFAULT_FLOOR_MINUTES,
    *,
    r: float = 0.0,
    q: float = 0.0,
) -> PricedChain:
    """Select the live contracts within ``max_dte`` and put each on our basis (module
    docstring): T, discount, forward and vol. ``r`` discounts (0 by default: under 0.7% of a
    60-day premium); ``q`` only matters when parity cannot give the forward."""
    today = now.astimezone(NY).date()
    groups: dict[tuple[date, bool], list[OptionPosition]] = {}
    for p in positions:
        if _in_scope(p, today, max_dte):
            groups.setdefault((p.expiry, p.am_settled), []).append(p)
    chosen: list[OptionPosition] = []
    cols: dict[str, list[float]] = {k: [] for k in ("t", "ct", "disc", "carry")}
    for (expiry, am), group in sorted(groups.items()):
        if not calendar.is_live(now, expiry, am):
            continue
        t = calendar.year_fraction(now, expiry, am, floor_minutes=floor_minutes)
        carry_t = calendar.carry_years(now, expiry, am)
        disc = math.exp(-r * carry_t)
        carry = _forward(group, spot, disc, carry_t, r, q) / spot
        for p in group:
            chosen.append(p)
            for key, value in (("t", t), ("ct", carry_t), ("disc", disc), ("carry", carry)):
                cols[key].append(value)
    n = len(chosen)
    t_arr, ct_arr = np.asarray(cols["t"], dtype=np.float64), np.asarray(cols["ct"])
    disc_arr, carry_arr = np.asarray(cols["disc"]), np.asarray(cols["carry"])
    strike = np.asarray([p.strike for p in chosen], dtype=np.float64)
    is_call = np.asarray([1.0 if p.kind == "call" else 0.0 for p in chosen])
    nan = math.nan
    given = np.asarray([p.iv if p.iv is not None and p.iv > 0 else nan for p in chosen])
    mids = np.asarray([p.mid if p.mid is not None else nan for p in chosen], dtype=np.float64)
    vendor = np.asarray(
        [p.vendor_iv if p.vendor_iv is not None and p.vendor_iv > 0 else nan for p in chosen],
        dtype=np.float64,
    )
    implied = (
        cm.implied_vols(is_call, mids, carry_arr * spot, strike, t_arr, disc_arr)
        if n
        else np.zeros(0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        converted = vendor * np.sqrt(ct_arr / t_arr)
    vol = np.where(np.isfinite(given), given, np.where(np.isfinite(implied), implied, converted))
    source = [
        "given" if math.isfinite(g) else "mid" if math.isfinite(i) else "vendor"
        for g, i in zip(given, implied, strict=True)
    ]
    usable = np.isfinite(vol) & (vol > 0) & (strike > 0)
    keep = [i for i in range(n) if usable[i]]
    idx = np.asarray(keep, dtype=np.intp)
    kept = [chosen[i] for i in keep]
    weight = np.asarray(
        [(1.0 if p.kind == "call" else -1.0) * p.open_interest * p.multiplier for p in kept],
        dtype=np.float64,
    )
    zero = np.asarray([p.expiry == today and not p.am_settled for p in kept], dtype=bool)
    return PricedChain(
        spot=spot,
        today=today,
        positions=tuple(kept),
        source=tuple(source[i] for i in keep),
        strike=strike[idx],
        weight=weight,
        is_call=is_call[idx],
        t=t_arr[idx],
        disc=disc_arr[idx],
        carry=carry_arr[idx],
        vol=vol[idx],
        zero_dte=zero,
        unpriced=n - len(keep),
    )


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
