"""Dealer gamma exposure: per strike, total, re-priced profile, flip and key strikes (pure).

Conventions (spx-analytics.md sections 2-4 and 11), also published in the channel metadata:

- Unit: variant A, "$ per 1% move": GEX = sign * gamma * OI * multiplier * S^2 * 0.01.
- Sign: the naive public rule, dealers long calls and short puts, so calls +, puts -.
- Gamma: Black-Scholes with the contract's own snapshot IV (sticky strike) and T in trading
  minutes to settlement (``session.SessionCalendar.year_fraction``, 15-minute floor).
- Buckets: "0dte" = expiring on today's New York date; "all" = expiring within ``max_dte``
  calendar days (default 60, today included).
- Dropped: settled contracts (AM-settled SPX expiring today once 09:30 ET has passed), OI <= 0,
  missing or non-positive IV.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final, Literal

from spotlight.analytics.greeks import bs_gamma
from spotlight.analytics.session import SessionCalendar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot

Bucket = Literal["0dte", "all"]

DEFAULT_MAX_DTE: Final = 60
# 1% of S: the S^2 * 0.01 factor turns gamma (per point) into $ traded per 1% move.
_ONE_PCT: Final = 0.01
_SQRT_2PI: Final = math.sqrt(2.0 * math.pi)
# Roots whose contracts settle on the opening print (spx-analytics.md, S18). SPXW and equity
# or ETF options (SPY) settle PM.
_AM_ROOTS: Final = frozenset({"SPX"})
_ROOT = re.compile(r"^(?:O:)?([A-Z.]+?)\d{6}[CP]\d{8}$")


def convention(max_dte: int = DEFAULT_MAX_DTE, floor_minutes: float = 15.0) -> dict[str, object]:
    """The conventions behind the numbers, for the channel metadata: users compare against
    vendors that differ in unit, sign and T basis (spx-analytics.md 11.6)."""
    return {
        "unit": "USD per 1% move",
        "sign": "dealers long calls, short puts (calls +, puts -)",
        "tBasis": f"trading minutes to settlement / (252*390), floor {floor_minutes:g} min",
        "ivSource": "snapshot implied_volatility",
        "oi": "as of prior close",
        "buckets": {"0dte": "expiring today (ET)", "all": f"<= {max_dte} DTE"},
    }


@dataclass(frozen=True, slots=True)
class OptionPosition:
    """One contract's inputs. ``iv`` None means no usable IV (the contract is skipped);
    ``vendor_gamma`` None means the vendor sent no greeks (used only for the cross-check)."""

    strike: float
    kind: str  # "call" or "put"
    expiry: date
    am_settled: bool
    open_interest: float
    iv: float | None
    multiplier: float = 100.0
    vendor_gamma: float | None = None

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
            iv=snap.implied_volatility,
            multiplier=snap.shares_per_contract or 100.0,
            vendor_gamma=snap.gamma,
        )


@dataclass(frozen=True, slots=True)
class StrikeGex:
    """$ per 1% move at one strike: ``call_gex`` >= 0, ``put_gex`` <= 0, ``net_gex`` their sum."""

    strike: float
    call_gex: float
    put_gex: float
    net_gex: float


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
class _Priced:
    """A selected contract with its T fixed; ``weight`` = sign * OI * multiplier."""

    position: OptionPosition
    weight: float
    t: float


def _select(
    positions: Iterable[OptionPosition],
    now: datetime,
    calendar: SessionCalendar,
    bucket: Bucket,
    max_dte: int,
    floor_minutes: float,
) -> list[_Priced]:
    if bucket not in ("0dte", "all"):
        raise ValueError(f"bucket must be '0dte' or 'all', not {bucket!r}")
    today = now.astimezone(NY).date()
    t_by_expiry: dict[tuple[date, bool], float | None] = {}  # {(expiry, am): T or None=expired}
    out: list[_Priced] = []
    for p in positions:
        if p.open_interest <= 0 or p.iv is None or p.iv <= 0:
            continue
        if p.expiry != today if bucket == "0dte" else (p.expiry - today).days > max_dte:
            continue
        key = (p.expiry, p.am_settled)
        if key not in t_by_expiry:
            expired = calendar.is_expired(now, p.expiry, p.am_settled)
            t_by_expiry[key] = (
                None if expired else calendar.year_fraction(now, *key, floor_minutes=floor_minutes)
            )
        t = t_by_expiry[key]
        if t is None:
            continue
        sign = 1.0 if p.kind == "call" else -1.0
        out.append(_Priced(p, sign * p.open_interest * p.multiplier, t))
    return out


def _by_strike(priced: Sequence[_Priced], spot: float, r: float, q: float) -> list[StrikeGex]:
    scale = spot * spot * _ONE_PCT
    calls: dict[float, float] = {}
    puts: dict[float, float] = {}
    for c in priced:
        p = c.position
        gex = c.weight * bs_gamma(spot, p.strike, p.iv or 0.0, c.t, r, q) * scale
        side = calls if c.weight > 0 else puts
        side[p.strike] = side.get(p.strike, 0.0) + gex
    return [
        StrikeGex(k, calls.get(k, 0.0), puts.get(k, 0.0), calls.get(k, 0.0) + puts.get(k, 0.0))
        for k in sorted(calls.keys() | puts.keys())
    ]


def gex_by_strike(
    positions: Iterable[OptionPosition],
    spot: float,
    now: datetime,
    calendar: SessionCalendar,
    bucket: Bucket,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = 15.0,
    *,
    r: float = 0.0,
    q: float = 0.0,
) -> list[StrikeGex]:
    """GEX ($ per 1% move) per strike at ``spot``, ascending by strike."""
    return _by_strike(_select(positions, now, calendar, bucket, max_dte, floor_minutes), spot, r, q)


def _profile(priced: Sequence[_Priced], spots: Sequence[float], r: float, q: float) -> list[float]:
    # Hot loop (grid points x contracts, ~500 x 5,000 for the all-expiry bucket): everything
    # that does not depend on S is hoisted, and gamma * S^2 * 0.01 is folded into
    # coef * exp(-d1^2/2) * S * 0.01 with coef = weight * e^(-qT) / (sqrt(2 pi) vol sqrt T).
    terms: list[tuple[float, float, float]] = []  # (ln K - (r - q + vol^2/2) T, vol sqrt T, coef)
    for c in priced:
        vol = c.position.iv or 0.0
        if c.t <= 0 or vol <= 0 or c.position.strike <= 0:
            continue
        sst = vol * math.sqrt(c.t)
        shift = math.log(c.position.strike) - (r - q + 0.5 * vol * vol) * c.t
        terms.append((shift, sst, c.weight * math.exp(-q * c.t) / (_SQRT_2PI * sst)))
    out: list[float] = []
    exp = math.exp
    for s in spots:
        if s <= 0:
            out.append(0.0)
            continue
        ln_s = math.log(s)
        acc = 0.0
        for shift, sst, coef in terms:
            x = (ln_s - shift) / sst
            acc += coef * exp(-0.5 * x * x)
        out.append(acc * s * _ONE_PCT)
    return out


def gamma_profile(
    positions: Iterable[OptionPosition],
    spots: Sequence[float],
    now: datetime,
    calendar: SessionCalendar,
    bucket: Bucket,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = 15.0,
    *,
    r: float = 0.0,
    q: float = 0.0,
) -> list[float]:
    """Total GEX ($ per 1% move) with every contract re-priced at each hypothetical spot."""
    priced = _select(positions, now, calendar, bucket, max_dte, floor_minutes)
    return _profile(priced, spots, r, q)


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
            return abs(s.call_gex) + abs(s.put_gex)
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


def _vendor_check(priced: Sequence[_Priced], spot: float, r: float, q: float) -> float | None:
    diffs = [
        (bs_gamma(spot, c.position.strike, c.position.iv or 0.0, c.t, r, q) - vendor) / vendor
        for c in priced
        if (vendor := c.position.vendor_gamma) is not None and vendor > 0
    ]
    return statistics.median(diffs) if diffs else None


def gex_report(
    positions: Iterable[OptionPosition],
    spot: float,
    now: datetime,
    calendar: SessionCalendar,
    *,
    grid_pct_0dte: float = 0.05,
    grid_pct_all: float = 0.20,
    step: float = 5.0,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = 15.0,
    r: float = 0.0,
    q: float = 0.0,
) -> dict[str, object]:
    """The GEX channel payload for one underlying (JSON-ready; amounts in $bn per 1% move).

    ``vendorGammaCheck`` is the median of (our gamma - vendor gamma) / vendor gamma over the
    all-expiry contracts that carry vendor greeks: positive means ours is larger (typically a
    shorter T basis for 0DTE); null when none do.
    """
    positions = list(positions)
    buckets: dict[str, object] = {}
    priced_all: list[_Priced] = []
    plan: tuple[tuple[Bucket, float], ...] = (("0dte", grid_pct_0dte), ("all", grid_pct_all))
    for bucket, pct in plan:
        priced = _select(positions, now, calendar, bucket, max_dte, floor_minutes)
        if bucket == "all":
            priced_all = priced
        strikes = _by_strike(priced, spot, r, q)
        levels = key_levels(strikes)
        grid = spot_grid(spot, pct, step)
        flip = gamma_flip(grid, _profile(priced, grid, r, q), spot)
        buckets[bucket] = {
            "contracts": len(priced),
            "totalGexBn": levels.total_gex / 1e9,
            "totalGexPerPointBn": levels.total_gex / (_ONE_PCT * spot) / 1e9,
            "strikes": [
                {
                    "strike": s.strike,
                    "callGexBn": s.call_gex / 1e9,
                    "putGexBn": s.put_gex / 1e9,
                    "netGexBn": s.net_gex / 1e9,
                }
                for s in strikes
            ],
            "levels": {
                "callWall": levels.call_wall,
                "putWall": levels.put_wall,
                "absGammaStrike": levels.abs_gamma_strike,
                "maxNetStrike": levels.max_net_strike,
            },
            "flip": {"level": flip.level, "multiple": flip.multiple, "side": flip.side},
            "grid": {
                "lo": grid[0] if grid else None,
                "hi": grid[-1] if grid else None,
                "step": step,
            },
        }
    return {
        "spot": spot,
        "asOf": now.isoformat(),
        "convention": convention(max_dte, floor_minutes),
        "buckets": buckets,
        "vendorGammaCheck": _vendor_check(priced_all, spot, r, q),
    }
