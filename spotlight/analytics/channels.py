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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spotlight.analytics.basis import BasisTracker
from spotlight.analytics.clusters import Zone, adaptive_width, cluster_levels
from spotlight.analytics.gex import OptionPosition, PricedChain, price_chain
from spotlight.analytics.gex_report import gex_report
from spotlight.analytics.levels import Level, all_levels, opening_range, session_vwap
from spotlight.analytics.regime import (
    classify,
    gamma_sign,
    session_realized_vol,
    trend_evidence,
    vol_state,
)
from spotlight.analytics.session import SessionCalendar, nyse_calendar
from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot

__all__ = [
    "CHANNELS",
    "ChannelInputs",
    "chosen_gamma",
    "clusters_payload",
    "gamma_levels",
    "gex_payload",
    "levels_payload",
    "regime_payload",
    "session_summary",
    "session_swing",
    "sigma_remaining_points",
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
    """What the channels read. Session inputs are regular-hours data only (09:30 to the
    close, ET, on the NYSE calendar): a 24-hour tape would put the prior close at 23:59,
    count overnight minutes in the realized vol and stretch the session swing."""

    now_ms: int
    spx: float | None  # latest I:SPX value
    spx_minutes: Sequence[Bar] = ()  # today's regular-session 1-minute I:SPX bars
    spy_minutes: Sequence[Bar] = ()  # today's regular-session 1-minute SPY bars (VWAP volume)
    spx_prev_day: Bar | None = None  # the previous session's regular-hours I:SPX summary
    basis: BasisTracker | None = None
    gex_spx: Mapping[str, Any] | None = None  # the last gex:SPX payload
    calendar: SessionCalendar | None = None  # None: the NYSE calendar of ``now``'s year
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now_ms / 1000, NY)

    @property
    def cal(self) -> SessionCalendar:
        return self.calendar if self.calendar is not None else nyse_calendar(self.now.year)

    def minutes_left(self) -> float:
        """Regular-session minutes left today (early closes included; 0 outside a session)."""
        return self.cal.session_minutes_left(self.now)

    def session_close_ms(self) -> int | None:
        """The close of the regular session under way (Unix ms; 13:00 ET on early closes),
        None before the open, after the close and on closed days."""
        bounds = self.cal.session_bounds(self.now.date())
        if bounds is None:
            return None
        opens, closes = (int(b.timestamp() * 1000) for b in bounds)
        return closes if opens <= self.now_ms < closes else None

    def sigma_remaining(self, iv: float | None) -> float | None:
        """The 1-sigma move over the rest of today's session, in points, from the 0DTE ATM
        ``iv`` (``sigma_remaining_points``); None without a spot or an IV. The one figure
        regime and setups both use."""
        if not self.spx or not iv:
            return None
        return sigma_remaining_points(self.spx, iv, self.minutes_left())


def session_summary(minutes: Sequence[Bar]) -> Bar | None:
    """One bar over a session's 1-minute bars (the prior day's H, L, C for its levels)."""
    if not minutes:
        return None
    first, last = minutes[0], minutes[-1]
    return Bar(
        first.symbol,
        "1d",
        first.start_ms,
        first.open,
        max(b.high for b in minutes),
        min(b.low for b in minutes),
        last.close,
        math.fsum(b.volume for b in minutes),
        sum(b.trades for b in minutes),
    )


def gex_payload(
    chain: Sequence[OptionSnapshot], spot: float, now: dt.datetime, calendar: SessionCalendar
) -> tuple[dict[str, Any], PricedChain]:
    """The GEX payload of one chain and the priced chain behind it (flow reads its deltas
    where the vendor gives none)."""
    positions = []
    for snap in chain:
        try:
            positions.append(OptionPosition.from_snapshot(snap))
        except ValueError:
            continue  # a contract we cannot classify is left out, not guessed
    priced = price_chain(positions, spot, now, calendar)
    # The 0DTE at-the-money vol (the regime's implied side) is in the report, on our basis.
    return gex_report(positions, spot, now, calendar, priced=priced), priced


def chosen_gamma(gex: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The payload's ``gammaLevels`` (one bucket's levels, gex_report.py). A payload from
    before they existed (an older recording) falls back to its 0DTE bucket alone."""
    if not gex:
        return {}
    chosen = gex.get("gammaLevels")
    if isinstance(chosen, Mapping):
        return chosen
    zero = (gex.get("buckets") or {}).get("0dte") or {}
    levels = zero.get("levels") or {}
    return {
        "bucket": "0dte",
        "callWall": levels.get("callWall"),
        "putWall": levels.get("putWall"),
        "absGammaStrike": levels.get("absGammaStrike"),
        "maxNetStrike": levels.get("maxNetStrike"),
        "flip": (zero.get("flip") or {}).get("level"),
        "netGexBn": zero.get("totalGexBn"),
    }


def gamma_levels(gex: Mapping[str, Any] | None) -> dict[str, float]:
    """Flip, walls, absolute gamma and max net strike, all from one bucket (``chosen_gamma``):
    never the 0DTE walls with the all-expiry flip."""
    chosen = chosen_gamma(gex)
    out: dict[str, float] = {}
    for key, value in (
        ("call_wall", chosen.get("callWall")),
        ("put_wall", chosen.get("putWall")),
        ("ags", chosen.get("absGammaStrike")),
        ("max_net", chosen.get("maxNetStrike")),
        ("flip", chosen.get("flip")),
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
            "endMs": opening.end_ms,
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
    chosen = chosen_gamma(gex)
    flip = chosen.get("flip")
    net = chosen.get("netGexBn")
    spot = inputs.spx
    closes = [b.close for b in inputs.spx_minutes]
    rv = session_realized_vol(closes) if len(closes) > 2 else None
    iv_raw = gex.get("atmIv0dte")
    iv = float(iv_raw) if isinstance(iv_raw, int | float) else None
    # The session's own close (13:00 on early-close days), not a fixed 16:00.
    sigma_remaining = inputs.sigma_remaining(iv)
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
        "gammaBucket": chosen.get("bucket"),
        "minutesLeft": inputs.minutes_left(),
        "sigmaRemaining": sigma_remaining,
        "iv0dte": iv,
        "rvSession": rv,
        "trendEvidence": evidence,
        "asOf": inputs.now_ms,
    }


def sigma_remaining_points(spot: float, iv: float, minutes_left: float) -> float:
    """1-sigma move for the rest of the session: S * iv * sqrt(minutes / (252 * 390)), with
    at least one minute (the move never reads exactly 0 while a quote still moves). ``iv``
    is per year of 252 x 390 session minutes, so a short session's minutes count as what
    they are: 60 minutes left of a 210-minute day is 60 / 98,280, not 60 / 210 of a day."""
    return spot * iv * math.sqrt(max(minutes_left, 1.0) / (252 * 390))


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
