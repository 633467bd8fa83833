"""A chain put on one basis: the live contracts of the buckets, priced (pure).

``price_chain`` selects the live contracts within ``max_dte`` and gives each its volatility
time (``session.SessionCalendar.year_fraction``), discount, forward (put-call parity) and a
vol: ``iv`` when given, else implied from the quote mid, else the vendor's IV converted
keeping its total variance (gex.py's docstring has why). ``PricedChain`` holds them as arrays
and computes the per-contract exposures (``chain_math``).

Two times, one for each job. The vol is implied on the real time left, tau (what the quote
prices); the greeks are taken on T = max(tau, floor). Gamma depends on vol x sqrt(T) alone, so
implying on the floored T would give back the real, diverging gamma whatever the floor; on
tau then T, at-the-money gamma is the real one times sqrt(tau / floor) inside the last
``floor_minutes``: capped, as the floor intends.
"""

from __future__ import annotations

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
    "CHARM_PER_HOUR",
    "DEFAULT_MAX_DTE",
    "ONE_PCT",
    "Bucket",
    "OptionPosition",
    "PricedChain",
    "price_chain",
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
    calendar time, converted). ``vendor_gamma`` is only for the cross-check; ``ticker``
    (OCC, from a snapshot) keys what flow reads back (``PricedChain.delta_by_ticker``)."""

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
    ticker: str = ""

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
            ticker=snap.ticker,
        )


@dataclass(frozen=True, slots=True)
class PricedChain:
    """The live, priced contracts of a chain at one spot and instant, as parallel arrays.

    ``weight`` = sign * OI * multiplier (calls +, puts -); ``t`` is the floored vol time
    the greeks use (years of trading time), ``disc`` the discount factor, ``carry`` =
    forward / spot; ``vol`` is on our basis, implied on the real time left; ``source`` says
    where each vol came from ("given", "mid" or "vendor").
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

    def delta(self) -> Arr:
        """Per contract, d price / d spot (calls > 0, puts < 0), on the same vol and T as
        the other greeks."""
        fwd = self.carry * self.spot
        return cm.delta(self.spot, self.is_call, fwd, self.strike, self.vol, self.t, self.disc)

    def delta_by_ticker(self) -> dict[str, float]:
        """``delta`` keyed by contract ticker, for flow where the vendor gives none
        (positions without a ticker are left out)."""
        return {
            p.ticker: float(d)
            for p, d in zip(self.positions, self.delta(), strict=True)
            if p.ticker
        }

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
    cols: dict[str, list[float]] = {k: [] for k in ("t", "tau", "ct", "disc", "carry")}
    for (expiry, am), group in sorted(groups.items()):
        if not calendar.is_live(now, expiry, am):
            continue
        tau = calendar.year_fraction(now, expiry, am, floor_minutes=0.0)
        t = max(tau, floor_minutes / MINUTES_PER_YEAR)
        carry_t = calendar.carry_years(now, expiry, am)
        disc = math.exp(-r * carry_t)
        carry = _forward(group, spot, disc, carry_t, r, q) / spot
        row = (("t", t), ("tau", tau), ("ct", carry_t), ("disc", disc), ("carry", carry))
        for p in group:
            chosen.append(p)
            for key, value in row:
                cols[key].append(value)
    n = len(chosen)
    t_arr, ct_arr = np.asarray(cols["t"], dtype=np.float64), np.asarray(cols["ct"])
    tau_arr = np.asarray(cols["tau"], dtype=np.float64)
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
    # Vols are on the real time left (what the quotes price); the greeks then use the
    # floored T (module docstring).
    implied = (
        cm.implied_vols(is_call, mids, carry_arr * spot, strike, tau_arr, disc_arr)
        if n
        else np.zeros(0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        converted = vendor * np.sqrt(ct_arr / tau_arr)
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
