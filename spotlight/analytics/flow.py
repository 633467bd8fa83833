"""Options-flow alerts from successive chain snapshots (spec section 10).

Snapshots show cumulative day volume and VWAP per contract plus the single latest trade and
quote; trades between polls are invisible. Per contract, between the previous poll and now:

* delta_volume = vol_t - vol_prev. Zero: no alert. Negative: a new session; the contract's
  state resets and nothing is alerted.
* premium = (vwap_t * vol_t - vwap_prev * vol_prev) * multiplier, exact only for unrounded
  VWAPs. Fallback when a VWAP is missing or the difference is not positive:
  delta_volume * last price (else the quote mid) * multiplier.
* vol_oi = vol_t / max(OI, 1). OI is start-of-day, so vol > OI implies opening activity.
* side of the latest print vs the quote: price >= ask buy, <= bid sell, else mid; "unknown"
  when the print is not new (it came before the interval), the quote or trade is missing,
  the quote is crossed (ask below bid) or their timestamps are more than 1 s apart.
* extrinsic premium = the interval premium less intrinsic value (per contract, the
  interval's average price minus max(S - K, 0) for calls or max(K - S, 0) for puts, floored
  at 0): what was paid for optionality. A deep in-the-money lot is mostly intrinsic (stock
  replacement), not a whale.
* delta_notional = delta_volume * delta * multiplier * spot: the interval's delta exposure as
  if bought (calls +, puts -), reported whatever the side; ``directional_delta_notional`` is
  the delta of the signed lots the prints account for (bought minus sold), None when no
  aggressive print was seen. The delta is the
  vendor's, else the chain pricing's (``model_deltas``: Black-76 on our vol, forward and T,
  ``chain_pricing.PricedChain.delta``); ``delta_source`` says which ("vendor", "model", or
  None without either). Vendors publish no greeks for deep in-the-money contracts, where
  delta matters most: 1,000 such calls are $600m of delta at 6000.
* evidence (``flow_evidence.py``): the interval's prints that were seen (a snapshot shows
  only the newest, and only if it is new) speak for their own lots, judged by their trade
  conditions (``trade_conditions.py``): a canceled print is no print; a complex-order leg
  (spreads, boxes, stock-tied, compression) gives no direction. The rest of the interval's
  volume is unseen, of no known kind or side. Signed premium and delta in the aggregates
  are for the signed single-leg lots only (premium x signed lots / volume); an interval with
  complex lots, or with no print seen, is counted in ``FlowTracker.filtered`` ("complex",
  "unseen").

Alert rules (defaults in :class:`FlowThresholds`, scaled up for SPX), on the interval's own
traded volume and the lots its prints support, never on the latest print's size alone:

* unusual_vol_oi: vol_oi >= 1 (0DTE: >= 2) and vol_t >= 500; once per contract per session,
  and not for a contract that was already past the bar when first seen (a start mid-session).
* large_premium: the extrinsic premium of the interval's single-leg lots (extrinsic premium x
  single-leg lots seen / volume) >= $250k (0DTE: $500k): 999 unseen spread lots and a 1-lot
  print are one lot of evidence, not $600k of flow.
* block: a new single-leg print (not ISO: that is a sweep's child) of >= 500 contracts that
  the interval's volume can hold.
* possible_sweep (confidence "low"): >= 250 contracts in aggressive prints flagged ISO (an
  intermarket sweep order) on one side, seen in the interval: a 1-lot ISO print in a 300-lot
  interval is one lot of sweep evidence. Snapshots show one print per poll, so a sweep is
  claimed only when that print alone carries it; without the ISO flag nothing is claimed.

Memory: only contracts present in the latest snapshot are kept; aggregates are per strike
and reset when ``today`` changes.

Pure module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from spotlight.analytics.flow_evidence import Print, Side, judge
from spotlight.analytics.trade_conditions import PrintKind, classify_print
from spotlight.domain.options import OptionSnapshot, quote_problem

__all__ = [
    "FlowAlert",
    "FlowThresholds",
    "FlowTracker",
    "classify_side",
    "extrinsic_premium",
    "interval_premium",
]

DeltaSource = Literal["vendor", "model"]
AlertKind = Literal["unusual_vol_oi", "large_premium", "block", "possible_sweep"]


@dataclass(frozen=True, slots=True)
class FlowThresholds:
    """Alert thresholds; premiums in dollars, volumes in contracts, skew in ms."""

    vol_oi: float = 1.0
    vol_oi_0dte: float = 2.0  # 0DTE OI is small, so ratio 1 is routine
    min_volume: float = 500.0
    large_premium: float = 250_000.0
    large_premium_0dte: float = 500_000.0
    block_contracts: float = 500.0
    sweep_contracts: float = 250.0
    max_quote_skew_ms: int = 1_000  # beyond this the quote is not the one the trade hit


@dataclass(frozen=True, slots=True)
class FlowAlert:
    """One alert. ``premium`` is the interval premium in dollars (intrinsic included),
    ``extrinsic_premium`` its time value; ``strike`` in points; ``print_kind`` what the
    latest print's conditions say it was."""

    id: str
    kind: AlertKind
    contract: str
    strike: float
    expiry: str
    option_type: str
    side: Side
    delta_volume: float
    premium: float
    vol_oi: float
    delta_notional: float | None
    zero_dte: bool
    confidence: Literal["low", "medium"]
    ts_ms: int
    extrinsic_premium: float = 0.0
    directional_delta_notional: float | None = None
    print_kind: PrintKind | None = None
    print_size: float | None = None
    delta_source: DeltaSource | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "contract": self.contract,
            "strike": self.strike,
            "expiry": self.expiry,
            "option_type": self.option_type,
            "side": self.side,
            "delta_volume": self.delta_volume,
            "premium": self.premium,
            "vol_oi": self.vol_oi,
            "delta_notional": self.delta_notional,
            "delta_source": self.delta_source,
            "directional_delta_notional": self.directional_delta_notional,
            "extrinsic_premium": self.extrinsic_premium,
            "print_kind": self.print_kind,
            "print_size": self.print_size,
            "zero_dte": self.zero_dte,
            "confidence": self.confidence,
            "ts_ms": self.ts_ms,
        }


def classify_side(snap: OptionSnapshot, max_skew_ms: int = 1_000) -> Side:
    """Aggressor side of the latest print versus the latest quote (see module docstring)."""
    price, bid, ask = snap.last_price, snap.bid, snap.ask
    if price is None or bid is None or ask is None:
        return "unknown"
    if snap.quote_ts_ms is None or snap.trade_ts_ms is None:
        return "unknown"
    if abs(snap.quote_ts_ms - snap.trade_ts_ms) > max_skew_ms:
        return "unknown"
    if quote_problem(bid, ask) == "crossed":
        return "unknown"  # the ask below the bid: no side to compare with
    if price >= ask:
        return "buy"
    if price <= bid:
        return "sell"
    return "mid"


def interval_premium(prev: OptionSnapshot, cur: OptionSnapshot) -> float:
    """Dollar premium traded between two snapshots of one contract (0 when volume fell)."""
    dvol = cur.day_volume - prev.day_volume
    if dvol <= 0:
        return 0.0
    m = cur.shares_per_contract
    price = cur.last_price if cur.last_price is not None else cur.mid
    if cur.day_vwap is not None and (prev.day_vwap is not None or prev.day_volume == 0):
        prev_notional = (prev.day_vwap or 0.0) * prev.day_volume
        exact = (cur.day_vwap * cur.day_volume - prev_notional) * m
        # The VWAP difference is exact only for unrounded VWAPs: with a rounded VWAP and a
        # large day volume, a few contracts can appear to carry millions. Trust it only when
        # the interval's implied average price is plausible (within 2x of the prices seen).
        implied = exact / (dvol * m) if exact > 0 else 0.0
        seen = [p for p in (price, cur.day_vwap, prev.day_vwap) if p]
        if exact > 0 and seen and min(seen) / 2 <= implied <= max(seen) * 2:
            return exact
    return dvol * price * m if price is not None else 0.0


def extrinsic_premium(cur: OptionSnapshot, premium: float, dvol: float, spot: float) -> float:
    """The interval premium less intrinsic value, floored at 0 (module docstring)."""
    if dvol <= 0 or premium <= 0:
        return 0.0
    m = cur.shares_per_contract
    average = premium / (dvol * m)
    k = cur.strike
    intrinsic = max(spot - k, 0.0) if cur.contract_type == "call" else max(k - spot, 0.0)
    return dvol * max(average - intrinsic, 0.0) * m


@dataclass(slots=True)
class _Bucket:
    call_premium: float = 0.0
    put_premium: float = 0.0
    net_delta: float = 0.0

    def add(self, option_type: str, signed_premium: float, delta_notional: float) -> None:
        if option_type == "call":
            self.call_premium += signed_premium
        else:
            self.put_premium += signed_premium
        self.net_delta += delta_notional

    def to_json(self) -> dict[str, float]:
        return {
            "call_premium": self.call_premium,
            "put_premium": self.put_premium,
            "net_delta": self.net_delta,
        }


@dataclass(slots=True)
class _Scope:
    total: _Bucket = field(default_factory=_Bucket)
    by_strike: dict[float, _Bucket] = field(default_factory=dict)  # {strike: bucket}

    def add(self, strike: float, option_type: str, premium: float, delta: float) -> None:
        self.total.add(option_type, premium, delta)
        self.by_strike.setdefault(strike, _Bucket()).add(option_type, premium, delta)

    def to_json(self) -> dict[str, object]:
        return {
            **self.total.to_json(),
            "by_strike": {f"{k:g}": v.to_json() for k, v in sorted(self.by_strike.items())},
        }


class FlowTracker:
    """Compares each chain snapshot with the previous one per contract and emits alerts.

    Call :meth:`update` once per poll with the whole chain. Not thread-safe; one owner.
    """

    def __init__(self, thresholds: FlowThresholds = FlowThresholds()) -> None:
        self._t = thresholds
        self._prev: dict[str, OptionSnapshot] = {}  # {ticker: last snapshot}
        self._unusual_fired: set[str] = set()  # tickers alerted for vol/OI this session
        self._day: date | None = None
        self._all = _Scope()
        self._zero = _Scope()
        # Intervals left out of alerts and the signed aggregates, by print kind (complex
        # legs), this session: shown in the flow payload so nothing is silently dropped.
        self.filtered: dict[str, int] = {}
        # Intervals by where their delta came from, this session ("none": neither).
        self.delta_sources: dict[str, int] = dict.fromkeys(("vendor", "model", "none"), 0)

    def update(
        self,
        chain: Sequence[OptionSnapshot],
        spot: float,
        now_ms: int,
        today: date,
        model_deltas: Mapping[str, float] | None = None,
    ) -> list[FlowAlert]:
        """Alerts for the intervals since the previous call. ``model_deltas`` ({ticker:
        delta}, the chain pricing's) stand in where a snapshot has no vendor delta."""
        if self._day != today:
            self._day = today
            self._all, self._zero = _Scope(), _Scope()
            self._unusual_fired.clear()
            self.filtered = {}
            self.delta_sources = dict.fromkeys(self.delta_sources, 0)
        models = model_deltas or {}
        alerts: list[FlowAlert] = []
        current: dict[str, OptionSnapshot] = {}
        today_text = today.isoformat()
        for snap in chain:
            current[snap.ticker] = snap
            prev = self._prev.get(snap.ticker)
            if prev is None:
                # First sight (a start mid-session): a contract already past the vol/OI bar
                # got there before we watched, so it is not news now. Without this, a server
                # started at 15:30 published ~800 "unusual" alerts on its second poll.
                if self._unusual(snap, snap.expiration_date == today_text):
                    self._unusual_fired.add(snap.ticker)
                continue
            if snap.day_volume < prev.day_volume:
                self._unusual_fired.discard(snap.ticker)  # new session for this contract
                continue
            zero = snap.expiration_date == today_text
            alerts.extend(self._compare(prev, snap, spot, now_ms, zero, models.get(snap.ticker)))
        self._prev = current
        self._unusual_fired &= current.keys()
        return alerts

    def _unusual(self, snap: OptionSnapshot, zero: bool) -> bool:
        t = self._t
        ratio = t.vol_oi_0dte if zero else t.vol_oi
        vol_oi = snap.day_volume / max(snap.open_interest, 1.0)
        return vol_oi >= ratio and snap.day_volume >= t.min_volume

    def _compare(
        self,
        prev: OptionSnapshot,
        cur: OptionSnapshot,
        spot: float,
        now_ms: int,
        zero: bool,
        model_delta: float | None,
    ) -> list[FlowAlert]:
        t = self._t
        dvol = cur.day_volume - prev.day_volume
        if dvol <= 0:
            return []
        m = cur.shares_per_contract
        premium = interval_premium(prev, cur)
        extrinsic = extrinsic_premium(cur, premium, dvol, spot)
        vol_oi = cur.day_volume / max(cur.open_interest, 1.0)
        delta, delta_source = _delta(cur, model_delta)
        self.delta_sources[delta_source or "none"] += 1
        delta_notional = None if delta is None else dvol * delta * m * spot
        option_type = "call" if cur.contract_type == "call" else "put"
        new_print = cur.trade_ts_ms is not None and cur.trade_ts_ms != prev.trade_ts_ms
        kind_of_print = classify_print(cur.last_conditions) if new_print else None
        if kind_of_print == "canceled":
            new_print, kind_of_print = False, None
        # An older print says nothing about this interval's lots, its side included.
        side: Side = classify_side(cur, t.max_quote_skew_ms) if new_print else "unknown"
        size = cur.last_size if new_print and cur.last_size is not None else 0.0
        seen = [Print(size, kind_of_print, side)] if kind_of_print and size > 0 else []
        ev = judge(dvol, seen)
        directional = None if delta is None or not ev.sided else ev.signed * delta * m * spot
        kinds: list[AlertKind] = []
        if self._unusual(cur, zero) and cur.ticker not in self._unusual_fired:
            self._unusual_fired.add(cur.ticker)
            kinds.append("unusual_vol_oi")
        if ev.complex > 0 or not seen:
            # Spread or box legs (no direction), or no print seen at all (nothing known).
            reason = "complex" if ev.complex > 0 else "unseen"
            self.filtered[reason] = self.filtered.get(reason, 0) + 1
        if ev.sided:
            # Premium and delta signed for the lots the prints account for, no more.
            signed = premium * ev.signed / dvol
            self._all.add(cur.strike, option_type, signed, directional or 0.0)
            if zero:
                self._zero.add(cur.strike, option_type, signed, directional or 0.0)
        big = t.large_premium_0dte if zero else t.large_premium
        if extrinsic * ev.single / dvol >= big:
            kinds.append("large_premium")
        # An ISO print is one child of a sweep, not a block crossed at one price.
        if kind_of_print == "single" and t.block_contracts <= size <= dvol:
            kinds.append("block")
        if ev.sweep >= t.sweep_contracts and ev.sweep_side is not None:
            kinds.append("possible_sweep")
        return [
            FlowAlert(
                id=f"{kind}:{cur.ticker}:{now_ms}",
                kind=kind,
                contract=cur.ticker,
                strike=cur.strike,
                expiry=cur.expiration_date,
                option_type=option_type,
                side=ev.sweep_side if kind == "possible_sweep" and ev.sweep_side else side,
                delta_volume=dvol,
                premium=premium,
                vol_oi=vol_oi,
                delta_notional=delta_notional,
                zero_dte=zero,
                confidence="low" if kind == "possible_sweep" else "medium",
                ts_ms=now_ms,
                extrinsic_premium=extrinsic,
                directional_delta_notional=directional,
                print_kind=kind_of_print,
                print_size=cur.last_size if new_print else None,
                delta_source=delta_source,
            )
            for kind in kinds
        ]

    def aggregates(self) -> dict[str, object]:
        """Session flow so far: ``{"all": scope, "zero_dte": scope}``; each scope is
        ``{call_premium, put_premium, net_delta, by_strike: {"6000": {...}}}``. Premiums are
        signed by side (buy +, sell -, mid/unknown 0); net_delta is the directional delta
        notional in $. Complex-order legs are left out (``filtered`` counts them);
        ``delta_sources`` counts the session's intervals by where their delta came from
        (vendor, model, none)."""
        return {
            "all": self._all.to_json(),
            "zero_dte": self._zero.to_json(),
            "filtered": dict(self.filtered),
            "delta_sources": dict(self.delta_sources),
        }


def _delta(snap: OptionSnapshot, model: float | None) -> tuple[float | None, DeltaSource | None]:
    """The vendor's delta, else the chain pricing's, with which it was."""
    if snap.delta is not None:
        return snap.delta, "vendor"
    if model is not None and math.isfinite(model):
        return model, "model"
    return None, None
