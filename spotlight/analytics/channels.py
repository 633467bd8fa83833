"""The SPX channels: market state in, channel payloads out (pure).

``ChannelInputs`` is a plain snapshot of what the engines need, taken from the pipeline and the
source by the analytics actor (engine/analytics_actor.py); every function here turns it into
one channel's payload with the engines of this package. Nothing here reads a clock or does
I/O, so a replay computes exactly what the live run computed from the same inputs.

Channels and their payloads are documented in docs/analytics.md.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spotlight.analytics.basis import BasisTracker
from spotlight.analytics.clusters import Zone, adaptive_width, cluster_levels
from spotlight.analytics.gex import OptionPosition, gex_report
from spotlight.analytics.levels import Level, all_levels, opening_range, session_vwap
from spotlight.analytics.regime import (
    classify,
    gamma_sign,
    session_realized_vol,
    trend_evidence,
    vol_state,
)
from spotlight.analytics.session import SessionCalendar
from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot

__all__ = [
    "CHANNELS",
    "ChannelInputs",
    "clusters_payload",
    "gamma_levels",
    "gex_payload",
    "levels_payload",
    "regime_payload",
    "session_swing",
]

# Every channel a client may subscribe to (SSE ``channels=``; WebSocket later).
CHANNELS = (
    "gex:SPX",
    "gex:SPY",
    "regime:update",
    "basis:update",
    "levels:update",
    "clusters:update",
    "setups:update",
    "flow:alert",
    "coach:message",
)


@dataclass
class ChannelInputs:
    now_ms: int
    spx: float | None  # latest I:SPX value
    spx_minutes: Sequence[Bar] = ()  # today's 1-minute I:SPX bars (NY session day)
    spy_minutes: Sequence[Bar] = ()  # today's 1-minute SPY bars (volume for VWAP)
    spx_prev_day: Bar | None = None  # the previous session's daily I:SPX bar
    basis: BasisTracker | None = None
    gex_spx: Mapping[str, Any] | None = None  # the last gex:SPX payload
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now_ms / 1000, NY)


def gex_payload(
    chain: Sequence[OptionSnapshot], spot: float, now: dt.datetime, calendar: SessionCalendar
) -> dict[str, Any]:
    positions = []
    for snap in chain:
        try:
            positions.append(OptionPosition.from_snapshot(snap))
        except ValueError:
            continue  # a contract we cannot classify is left out, not guessed
    report = gex_report(positions, spot, now, calendar)
    # 0DTE at-the-money implied volatility: the regime's implied side.
    today = now.date().isoformat()
    near = [
        s.implied_volatility
        for s in chain
        if s.expiration_date == today and s.implied_volatility and abs(s.strike / spot - 1) < 0.003
    ]
    report["atmIv0dte"] = statistics.median(near) if near else None
    return report


def gamma_levels(gex: Mapping[str, Any] | None) -> dict[str, float]:
    """Flip, walls and absolute gamma strike of the 0DTE bucket (all-expiry as fallback)."""
    if not gex:
        return {}
    buckets = gex.get("buckets") or {}
    out: dict[str, float] = {}
    for name in ("all", "0dte"):  # 0DTE overrides: it is what moves intraday
        bucket = buckets.get(name) or {}
        levels = bucket.get("levels") or {}
        flip = (bucket.get("flip") or {}).get("level")
        for key, value in (
            ("call_wall", levels.get("callWall")),
            ("put_wall", levels.get("putWall")),
            ("ags", levels.get("absGammaStrike")),
            ("flip", flip),
        ):
            if isinstance(value, int | float) and math.isfinite(value):
                out[key] = float(value)
    return out


def levels_payload(inputs: ChannelInputs) -> tuple[dict[str, Any], list[Level]]:
    """Prior day, opening range, VWAP (from SPY volume, in SPX points), pivots, Fibonacci,
    round numbers and the gamma levels, each with its family and weight."""
    ratio = inputs.basis.ratio if inputs.basis else None
    opening = opening_range(inputs.spx_minutes, 30, now_ms=inputs.now_ms)
    vwap = session_vwap(inputs.spy_minutes)
    if vwap is not None and ratio:
        vwap = vwap.scaled(ratio)
    elif vwap is not None:
        vwap = None  # a SPY VWAP without the ratio would be in the wrong units
    levels = all_levels(
        prev_day=inputs.spx_prev_day,
        opening=opening,
        vwap=vwap,
        gamma_levels=gamma_levels(inputs.gex_spx),
        swing=session_swing(inputs.spx_minutes),
        spot=inputs.spx,
    )
    return {
        "spot": inputs.spx,
        "levels": [_level_json(lv) for lv in sorted(levels, key=lambda lv: lv.price)],
        "openingRange": None
        if opening is None
        else {
            "high": opening.high,
            "low": opening.low,
            "mid": opening.mid,
            "complete": opening.complete,
        },
        "vwap": None
        if vwap is None
        else {"vwap": vwap.vwap, "sigma": vwap.sigma, "source": "SPY volume x SPX/SPY ratio"},
        "asOf": inputs.now_ms,
    }, levels


def session_swing(minutes: Sequence[Bar]) -> tuple[float, float, bool] | None:
    """(low, high, up) of today's session so far: up when the high came after the low.

    None before 10 minutes of bars: a swing that young would put Fibonacci levels on noise.
    """
    if len(minutes) < 10:
        return None
    low = min(minutes, key=lambda b: b.low)
    high = max(minutes, key=lambda b: b.high)
    if high.high <= low.low:
        return None
    return low.low, high.high, high.start_ms >= low.start_ms


def _level_json(lv: Level) -> dict[str, Any]:
    return {"price": round(lv.price, 2), "family": lv.family, "name": lv.name, "weight": lv.weight}


def clusters_payload(
    levels: Sequence[Level], implied_move_points: float | None, previous: Sequence[Zone] = ()
) -> tuple[dict[str, Any], list[Zone]]:
    width = adaptive_width(implied_move_points if implied_move_points else float("nan"))
    zones = cluster_levels(levels, width, previous)
    return {"width": width, "zones": [z.to_json() for z in zones]}, zones


def regime_payload(inputs: ChannelInputs) -> dict[str, Any]:
    """Gamma sign from the flip and net GEX, vol state from 0DTE ATM IV against session RV."""
    gex = inputs.gex_spx or {}
    zero = (gex.get("buckets") or {}).get("0dte") or {}
    flip = (zero.get("flip") or {}).get("level")
    net = zero.get("totalGexBn")
    spot = inputs.spx
    closes = [b.close for b in inputs.spx_minutes]
    rv = session_realized_vol(closes) if len(closes) > 2 else None
    iv_raw = gex.get("atmIv0dte")
    iv = float(iv_raw) if isinstance(iv_raw, int | float) else None
    sigma_remaining = None
    if spot and iv:
        minutes_left = max(0.0, (16 * 60) - (inputs.now.hour * 60 + inputs.now.minute))
        sigma_remaining = spot * iv * math.sqrt(max(minutes_left, 1.0) / (252 * 390))
    gamma = (
        gamma_sign(spot, flip, float(net), sigma_remaining or 0.0)
        if spot is not None and isinstance(net, int | float)
        else "UNKNOWN"
    )
    vol = vol_state(iv, rv)
    evidence = trend_evidence(
        vwap_side_held=_vwap_side_held(inputs),
        opening_range_break_held=False,  # needs the 15-minute hold rule: not evaluated yet
        range_exceeds_implied=_range_exceeds_implied(inputs, iv),
        moving_away_from_ags=False,  # needs the AGS trajectory: not evaluated yet
    )
    label = classify(gamma, vol, evidence)
    return {
        "label": label.label,
        "gamma": gamma,
        "vol": vol,
        "description": label.description,
        "spot": spot,
        "flip": flip,
        "netGexBn": net,
        "iv0dte": iv,
        "rvSession": rv,
        "trendEvidence": evidence,
        "asOf": inputs.now_ms,
    }


def _vwap_side_held(inputs: ChannelInputs) -> bool:
    """Price on one side of session VWAP for >= 70% of the last 30 one-minute bars."""
    ratio = inputs.basis.ratio if inputs.basis else None
    vwap = session_vwap(inputs.spy_minutes)
    bars = list(inputs.spx_minutes)[-30:]
    if vwap is None or not ratio or len(bars) < 10:
        return False
    level = vwap.vwap * ratio
    above = sum(1 for b in bars if b.close > level)
    return max(above, len(bars) - above) >= 0.7 * len(bars)


def _range_exceeds_implied(inputs: ChannelInputs, iv: float | None) -> bool:
    """Session range so far above 0.8 x the one-day implied move."""
    bars = inputs.spx_minutes
    if not bars or not iv or not inputs.spx:
        return False
    session_range = max(b.high for b in bars) - min(b.low for b in bars)
    return session_range > 0.8 * inputs.spx * iv / math.sqrt(252)
