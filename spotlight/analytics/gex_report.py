"""The GEX channel payload of one underlying (pure): buckets, levels, per-expiry statistics.

Built from one ``gex.PricedChain`` (every contract priced once) and the raw positions (open
interest and mids for max pain and the straddle). Amounts are in $bn. docs/analytics.md has
the payload with worked numbers. Sections:

- ``buckets``: ``0dte``, ``ex0dte``, ``all``: per strike call, put, net and absolute GEX ($
  per 1% move, and net per point), vanna and charm exposure; totals; key strikes with a
  ``status`` ("ok", "inverted" when the put wall sits above the call wall, as 0DTE gamma
  collapses onto the money near the bell, "empty"); the re-priced flip.
- ``gammaLevels``: the one set of levels everything downstream uses (levels, regime, setups,
  coach): the 0DTE bucket's when its walls are sound, else the all-expiry bucket's, never a
  mix of the two, with the bucket named and the reason.
- ``expiries``: per expiry (and settlement style) the net and absolute GEX, max pain, the
  ATM straddle's expected move and the ATM vol.
- ``vendorGammaCheck``: our gamma against the vendor's, per expiry class and at the money.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

import numpy as np

from spotlight.analytics.gex import (
    BUCKETS,
    DEFAULT_MAX_DTE,
    ONE_PCT,
    Bucket,
    OptionPosition,
    PricedChain,
    by_strike,
    chain_profile,
    gamma_flip,
    key_levels,
    price_chain,
    spot_grid,
)
from spotlight.analytics.session import DEFAULT_FLOOR_MINUTES, SessionCalendar
from spotlight.domain.nytime import NY

__all__ = ["convention", "expected_move", "gex_report", "max_pain"]

# The 1-sigma move is about sqrt(pi / 2) = 1.2533 times the straddle (E|move| = 0.798 sigma).
STRADDLE_TO_SIGMA: Final = math.sqrt(math.pi / 2)
# "At the money" for the 0DTE IV and the vendor check: strikes within this share of spot.
ATM_IV_BAND: Final = 0.003
ATM_CHECK_BAND: Final = 0.005
_GRID_PCT: Final[dict[Bucket, float]] = {"0dte": 0.05, "ex0dte": 0.20, "all": 0.20}


def convention(max_dte: int = DEFAULT_MAX_DTE, floor_minutes: float = 15.0) -> dict[str, object]:
    """The conventions behind the numbers, for the channel metadata: users compare against
    vendors that differ in unit, sign and T basis (spx-analytics.md 11.6)."""
    return {
        "unit": "USD per 1% move",
        "perPoint": "USD per 1-point move = per-1% / (0.01 x spot)",
        "sign": "dealers long calls, short puts (calls +, puts -)",
        "tBasis": (
            "trading minutes to settlement + 130 per overnight gap, / (252*390); "
            f"greeks floored at {floor_minutes:g} min"
        ),
        "ivSource": "implied from the quote mid on tBasis before the floor (Black-76, parity "
        "forward); else the vendor's IV converted from calendar time",
        "vanna": "USD delta per 1 vol point",
        "charm": "USD delta per hour of session time",
        "oi": "as of prior close",
        "buckets": {
            "0dte": "PM-settled, expiring today (ET)",
            "ex0dte": f"every other live contract <= {max_dte} DTE",
            "all": f"<= {max_dte} DTE",
        },
        "settlement": "AM-settled SPX monthlies leave every bucket at the prior close",
    }


def _bn(x: float) -> float:
    return x / 1e9


def _levels_status(call_wall: float | None, put_wall: float | None, contracts: int) -> str:
    if contracts == 0:
        return "empty"
    if call_wall is not None and put_wall is not None and put_wall > call_wall:
        return "inverted"
    return "ok"


def _bucket(chain: PricedChain, bucket: Bucket, step: float) -> dict[str, Any]:
    spot = chain.spot
    strikes = by_strike(chain, bucket)
    levels = key_levels(strikes)
    grid = spot_grid(spot, _GRID_PCT[bucket], step)
    flip = gamma_flip(grid, chain_profile(chain, bucket, grid), spot)
    contracts = int(chain.mask(bucket).sum())
    per_point = 1.0 / (ONE_PCT * spot)
    return {
        "contracts": contracts,
        "totalGexBn": _bn(levels.total_gex),
        "totalGexPerPointBn": _bn(levels.total_gex * per_point),
        "absGexBn": _bn(math.fsum(s.abs_gex for s in strikes)),
        "vannaBn": _bn(math.fsum(s.vanna for s in strikes)),
        "charmBn": _bn(math.fsum(s.charm for s in strikes)),
        "strikes": [
            {
                "strike": s.strike,
                "callGexBn": _bn(s.call_gex),
                "putGexBn": _bn(s.put_gex),
                "netGexBn": _bn(s.net_gex),
                "absGexBn": _bn(s.abs_gex),
                "netGexPerPointBn": _bn(s.net_gex * per_point),
                "vannaBn": _bn(s.vanna),
                "charmBn": _bn(s.charm),
            }
            for s in strikes
        ],
        "levels": {
            "callWall": levels.call_wall,
            "putWall": levels.put_wall,
            "absGammaStrike": levels.abs_gamma_strike,
            "maxNetStrike": levels.max_net_strike,
            "status": _levels_status(levels.call_wall, levels.put_wall, contracts),
        },
        "flip": {"level": flip.level, "multiple": flip.multiple, "side": flip.side},
        "grid": {"lo": grid[0] if grid else None, "hi": grid[-1] if grid else None, "step": step},
    }


def _gamma_levels(buckets: Mapping[Bucket, dict[str, Any]]) -> dict[str, Any]:
    """One rule: the 0DTE bucket when its walls are sound, else the all-expiry bucket."""
    zero = buckets["0dte"]
    status = zero["levels"]["status"]
    name: Bucket = "0dte" if status == "ok" else "all"
    if status == "ok":
        reason = "0DTE walls (what moves intraday)"
    elif status == "inverted":
        reason = (
            "0DTE walls inverted (put wall above call wall): 0DTE gamma has collapsed onto "
            "the money, as it does near the bell; all-expiry levels instead"
        )
    else:
        reason = "no live 0DTE contracts; all-expiry levels"
    chosen = buckets[name]
    if chosen["levels"]["status"] == "empty":
        return {
            "bucket": None, "reason": "no live contracts", "callWall": None, "putWall": None,
            "absGammaStrike": None, "maxNetStrike": None, "flip": None, "flipMultiple": False,
            "netGexBn": None,
        }  # fmt: skip
    lv = chosen["levels"]
    return {
        "bucket": name,
        "reason": reason,
        "callWall": lv["callWall"],
        "putWall": lv["putWall"],
        "absGammaStrike": lv["absGammaStrike"],
        "maxNetStrike": lv["maxNetStrike"],
        "flip": chosen["flip"]["level"],
        "flipMultiple": chosen["flip"]["multiple"],
        "netGexBn": chosen["totalGexBn"],
    }


def max_pain(group: Sequence[OptionPosition]) -> float | None:
    """The settlement strike that minimizes the intrinsic value paid to holders:
    sum over calls OI * max(K - k, 0) + over puts OI * max(k - K, 0), candidates the listed
    strikes; ties go to the lowest strike. None without open interest."""
    held = [p for p in group if p.open_interest > 0]
    if not held:
        return None
    candidates = np.asarray(sorted({p.strike for p in held}), dtype=np.float64)
    strike = np.asarray([p.strike for p in held], dtype=np.float64)
    size = np.asarray([p.open_interest * p.multiplier for p in held], dtype=np.float64)
    call = np.asarray([p.kind == "call" for p in held], dtype=bool)
    # (candidates x contracts): what each contract pays if the expiry settles at each strike.
    diff = candidates[:, None] - strike[None, :]
    payout = np.where(call[None, :], np.maximum(diff, 0.0), np.maximum(-diff, 0.0))
    pain = (payout * size[None, :]).sum(axis=1)
    return float(candidates[int(np.argmin(pain))])  # argmin: the first (lowest) of ties


def expected_move(group: Sequence[OptionPosition], spot: float) -> dict[str, float] | None:
    """The at-the-money straddle (call mid + put mid at the strike nearest spot with both):
    about the expected absolute move to settlement; 1 sigma is ~1.25x it."""
    calls = {p.strike: p.mid for p in group if p.kind == "call" and p.mid is not None}
    puts = {p.strike: p.mid for p in group if p.kind == "put" and p.mid is not None}
    both = sorted(calls.keys() & puts.keys(), key=lambda k: (abs(k - spot), k))
    if not both:
        return None
    k = both[0]
    straddle = (calls[k] or 0.0) + (puts[k] or 0.0)
    return {
        "strike": k,
        "straddle": straddle,
        "lower": spot - straddle,
        "upper": spot + straddle,
        "oneSigma": straddle * STRADDLE_TO_SIGMA,
    }


def _expiries(
    positions: Sequence[OptionPosition],
    chain: PricedChain,
    now: datetime,
    calendar: SessionCalendar,
) -> list[dict[str, Any]]:
    gex = chain.gex()
    groups: dict[tuple[date, bool], list[int]] = {}
    for i, p in enumerate(chain.positions):
        groups.setdefault((p.expiry, p.am_settled), []).append(i)
    by_group: dict[tuple[date, bool], list[OptionPosition]] = {}
    for p in positions:
        by_group.setdefault((p.expiry, p.am_settled), []).append(p)
    out: list[dict[str, Any]] = []
    per_point = 1.0 / (ONE_PCT * chain.spot)
    for (expiry, am), idx in sorted(groups.items()):
        net = math.fsum(float(gex[i]) for i in idx)
        gross = math.fsum(abs(float(gex[i])) for i in idx)
        raw = by_group.get((expiry, am), [])
        atm = [
            float(chain.vol[i]) for i in idx
            if abs(chain.positions[i].strike / chain.spot - 1) < ATM_IV_BAND
        ]  # fmt: skip
        out.append(
            {
                "expiry": expiry.isoformat(),
                "settlement": "AM" if am else "PM",
                "settlesAt": calendar.settlement(expiry, am).isoformat(),
                "dte": (expiry - chain.today).days,
                "sessionMinutes": calendar.minutes_to_expiry(now, expiry, am),
                "contracts": len(idx),
                "netGexBn": _bn(net),
                "absGexBn": _bn(gross),
                "netGexPerPointBn": _bn(net * per_point),
                "maxPain": max_pain(raw),
                "expectedMove": expected_move(raw, chain.spot),
                "atmIv": statistics.median(atm) if atm else None,
            }
        )
    return out


def _class(days: int) -> str:
    return "0dte" if days == 0 else "1-7dte" if days <= 7 else "8+dte"


def _vendor_check(chain: PricedChain) -> dict[str, dict[str, Any]]:
    """(ours - vendor) / vendor gamma, median per expiry class, overall and at the money:
    a median over every contract would hide a 0DTE gap behind thousands of later ones."""
    ours = chain.gamma()
    rows: dict[str, list[tuple[float, bool]]] = {"0dte": [], "1-7dte": [], "8+dte": []}
    for i, p in enumerate(chain.positions):
        vendor = p.vendor_gamma
        if vendor is None or not vendor > 0:
            continue
        atm = abs(p.strike / chain.spot - 1) <= ATM_CHECK_BAND
        rows[_class((p.expiry - chain.today).days)].append(
            ((float(ours[i]) - vendor) / vendor, atm)
        )
    out: dict[str, dict[str, Any]] = {}
    for name, diffs in rows.items():
        at = [d for d, atm in diffs if atm]
        out[name] = {
            "contracts": len(diffs),
            "median": statistics.median(d for d, _ in diffs) if diffs else None,
            "atmContracts": len(at),
            "atmMedian": statistics.median(at) if at else None,
        }
    return out


def gex_report(
    positions: Iterable[OptionPosition],
    spot: float,
    now: datetime,
    calendar: SessionCalendar,
    *,
    step: float = 5.0,
    max_dte: int = DEFAULT_MAX_DTE,
    floor_minutes: float = DEFAULT_FLOOR_MINUTES,
    r: float = 0.0,
    q: float = 0.0,
    priced: PricedChain | None = None,
) -> dict[str, object]:
    """The GEX channel payload for one underlying (JSON-ready; amounts in $bn). ``priced``
    is ``positions`` already priced with the same arguments (the worker shares one priced
    chain between GEX and flow); priced here when None."""
    positions = list(positions)
    chain = priced
    if chain is None:
        chain = price_chain(positions, spot, now, calendar, max_dte, floor_minutes, r=r, q=q)
    buckets = {name: _bucket(chain, name, step) for name in BUCKETS}
    today = now.astimezone(NY).date()
    expiries = _expiries(positions, chain, now, calendar)
    zero = next((e for e in expiries if e["dte"] == 0 and e["settlement"] == "PM"), None)
    sources = {"given": 0, "mid": 0, "vendor": 0}
    for s in chain.source:
        sources[s] += 1
    return {
        "spot": spot,
        "asOf": now.isoformat(),
        "today": today.isoformat(),
        "convention": convention(max_dte, floor_minutes),
        "buckets": buckets,
        "gammaLevels": _gamma_levels(buckets),
        "expiries": expiries,
        "atmIv0dte": zero["atmIv"] if zero else None,
        "expectedMove0dte": zero["expectedMove"] if zero else None,
        "maxPain0dte": zero["maxPain"] if zero else None,
        "ivSources": {**sources, "unpriced": chain.unpriced},
        "vendorGammaCheck": _vendor_check(chain),
    }
