"""Key intraday SPX levels (spec section 7) and their clustering weights (section 8).

Every function is pure arithmetic on bars or prices. Conventions chosen where sources differ:

* Floor pivots are the classic form (P, R1-R3, S1-S3); R3 = H + 2(P - L), which equals
  R1 + (H - L). Woodie and Fibonacci pivots are not mixed in.
* Camarilla uses the 1.1/k form anchored on the prior close: offsets R * 1.1/12, 1.1/6, 1.1/4,
  1.1/2. The 1.0833/1.1666/1.25/1.5 variant is not used.
* Session VWAP uses the typical price (H+L+C)/3 of each bar and volume-weighted population
  sigma bands (see :func:`session_vwap`). SPX index bars have no volume: feed SPY 1-minute
  bars and convert with :meth:`Vwap.scaled` and the basis ratio (``analytics.basis``).
* Session times are America/New_York; the regular session is 09:30-16:00.

Weights (section 8): 3 for flip, call wall, put wall; 2 for AGS, PDH, PDL, PDC, ORH, ORL,
VWAP; 1 for VWAP +-1/2 sigma, pivots, Camarilla, Fibonacci, round 50/100. Levels the spec
does not weigh get 1 (OR mid and extensions, unknown gamma levels) or 0.5 (round 25s).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY

__all__ = [
    "FIB_EXTENSIONS",
    "FIB_RETRACEMENTS",
    "GAMMA_WEIGHTS",
    "Level",
    "OpeningRange",
    "Vwap",
    "all_levels",
    "camarilla",
    "fibonacci",
    "floor_pivots",
    "opening_range",
    "prior_day_levels",
    "round_numbers",
    "session_vwap",
]

SESSION_OPEN = time(9, 30)
SESSION_CLOSE = time(16, 0)
_MINUTE_MS = 60_000

FIB_RETRACEMENTS: tuple[float, ...] = (0.236, 0.382, 0.5, 0.618, 0.786)
FIB_EXTENSIONS: tuple[float, ...] = (1.272, 1.618, 2.0, 2.618)
OR_EXTENSIONS: tuple[float, ...] = (1.0, 1.5, 2.0)

# Weights of gamma levels computed elsewhere (analytics.gex), keyed by the names accepted in
# ``all_levels(gamma_levels=...)``. Any other key gets weight 1.
GAMMA_WEIGHTS: Mapping[str, float] = {"flip": 3.0, "call_wall": 3.0, "put_wall": 3.0, "ags": 2.0}


@dataclass(frozen=True, slots=True)
class Level:
    """One price level. ``family`` groups related levels (clustering rewards distinct
    families); ``name`` is unique within a family; ``weight`` is its section-8 weight."""

    price: float
    family: str
    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class OpeningRange:
    """High and low of the first ``minutes`` of the session.

    ``complete`` is False while the window is still open: high and low may still move. Once
    complete they are fixed. ``extensions`` is ``{name: price}`` with names ``ORH+1x``,
    ``ORH+1.5x``, ``ORH+2x`` (ORH + k * width) and ``ORL-1x``, ``ORL-1.5x``, ``ORL-2x``.
    """

    high: float
    low: float
    mid: float
    minutes: int
    start_ms: int  # 09:30 ET of the session day, Unix ms
    end_ms: int  # start_ms + minutes; first instant after the window
    complete: bool
    extensions: Mapping[str, float]

    @property
    def width(self) -> float:
        return self.high - self.low


@dataclass(frozen=True, slots=True)
class Vwap:
    """Session VWAP and its sigma bands. ``bands`` is ``{k: (lower, upper)}`` for k = 1, 2, 3."""

    vwap: float
    sigma: float
    volume: float
    bars: int
    bands: Mapping[int, tuple[float, float]]

    def scaled(self, ratio: float) -> Vwap:
        """The same VWAP in another instrument's points, e.g. SPY -> SPX with the basis ratio."""
        return _vwap(self.vwap * ratio, self.sigma * ratio, self.volume, self.bars)


def _vwap(vwap: float, sigma: float, volume: float, bars: int) -> Vwap:
    bands = {k: (vwap - k * sigma, vwap + k * sigma) for k in (1, 2, 3)}
    return Vwap(vwap, sigma, volume, bars, bands)


def _session_bounds(bars: Sequence[Bar]) -> tuple[int, int]:
    """09:30 and 16:00 ET, in Unix ms, on the New York date of the latest bar."""
    latest = max(bar.start_ms for bar in bars)
    day = datetime.fromtimestamp(latest / 1000, NY).date()
    start = datetime.combine(day, SESSION_OPEN, NY)
    end = datetime.combine(day, SESSION_CLOSE, NY)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def prior_day_levels(prev_day: Bar) -> list[Level]:
    """PDH, PDL and PDC of the prior session's daily bar, each weight 2."""
    return [
        Level(prev_day.high, "prior_day", "PDH", 2.0),
        Level(prev_day.low, "prior_day", "PDL", 2.0),
        Level(prev_day.close, "prior_day", "PDC", 2.0),
    ]


def opening_range(
    minute_bars_today: Sequence[Bar], minutes: int = 30, now_ms: int | None = None
) -> OpeningRange | None:
    """The opening range of the session day of the latest bar.

    Only bars starting in [09:30 ET, 09:30 + ``minutes``) count. Returns None when no such
    bar exists yet (before the open, or no data). ``complete`` is True once a bar starts at
    or after the window end, or once ``now_ms`` (if given) reaches it. Bars are 1-minute bars
    in any order; bars of other days are ignored.
    """
    if minutes < 1:
        raise ValueError(f"minutes must be a positive window length, not {minutes!r}")
    if not minute_bars_today:
        return None
    start, _ = _session_bounds(minute_bars_today)
    end = start + minutes * _MINUTE_MS
    window = [b for b in minute_bars_today if start <= b.start_ms < end]
    if not window:
        return None
    high = max(b.high for b in window)
    low = min(b.low for b in window)
    width = high - low
    complete = any(b.start_ms >= end for b in minute_bars_today) or (
        now_ms is not None and now_ms >= end
    )
    extensions: dict[str, float] = {}
    for k in OR_EXTENSIONS:
        extensions[f"ORH+{k:g}x"] = high + k * width
    for k in OR_EXTENSIONS:
        extensions[f"ORL-{k:g}x"] = low - k * width
    return OpeningRange(high, low, (high + low) / 2, minutes, start, end, complete, extensions)


def session_vwap(minute_bars_today: Sequence[Bar]) -> Vwap | None:
    """Session-anchored VWAP with volume-weighted sigma bands.

    Convention: each bar contributes its typical price tp = (H + L + C) / 3 with weight v =
    its volume (not the close, not the bar's own vw). Only bars starting in the regular
    session (09:30-16:00 ET) of the latest bar's day count, so the VWAP resets at 09:30.

        VWAP  = sum(v * tp) / sum(v)
        sigma = sqrt(sum(v * tp^2) / sum(v) - VWAP^2)   (volume-weighted population sigma)
        bands = VWAP +- k * sigma, k = 1, 2, 3

    sigma is computed as sqrt(sum(v * (tp - VWAP)^2) / sum(v)), algebraically the same but
    free of the cancellation that can make the first form slightly negative. Returns None
    when the session has no volume yet (SPX index bars always have zero volume: use SPY).
    """
    if not minute_bars_today:
        return None
    start, end = _session_bounds(minute_bars_today)
    session = [b for b in minute_bars_today if start <= b.start_ms < end and b.volume > 0]
    total = math.fsum(b.volume for b in session)
    if total <= 0:
        return None
    typical = [((b.high + b.low + b.close) / 3, b.volume) for b in session]
    vwap = math.fsum(tp * v for tp, v in typical) / total
    variance = math.fsum(v * (tp - vwap) ** 2 for tp, v in typical) / total
    return _vwap(vwap, math.sqrt(variance), total, len(session))


def _check_hlc(high: float, low: float) -> None:
    if high < low:
        raise ValueError(f"high must be >= low, got high={high!r} low={low!r}; swap them")


def floor_pivots(high: float, low: float, close: float) -> dict[str, float]:
    """Classic floor pivots from the prior day's H, L, C: keys P, R1-R3, S1-S3."""
    _check_hlc(high, low)
    p = (high + low + close) / 3
    rng = high - low
    return {
        "P": p,
        "R1": 2 * p - low,
        "S1": 2 * p - high,
        "R2": p + rng,
        "S2": p - rng,
        "R3": high + 2 * (p - low),
        "S3": low - 2 * (high - p),
    }


def camarilla(high: float, low: float, close: float) -> dict[str, float]:
    """Camarilla levels (1.1/k form) around the prior close: keys H1-H4 and L1-L4."""
    _check_hlc(high, low)
    rng = high - low
    out: dict[str, float] = {}
    for i, k in enumerate((12, 6, 4, 2), start=1):
        out[f"H{i}"] = close + rng * 1.1 / k
        out[f"L{i}"] = close - rng * 1.1 / k
    return out


def fibonacci(swing_low: float, swing_high: float, up: bool = True) -> dict[str, float]:
    """Fibonacci retracements and extensions of one swing.

    For an up-move (``up=True``): retracement f is Hi - f*(Hi-Lo) and extension e is
    Lo + e*(Hi-Lo). A down-move mirrors both: Lo + f*(Hi-Lo) and Hi - e*(Hi-Lo). Keys are
    ``ret_0.236`` .. ``ret_0.786`` and ``ext_1.272`` .. ``ext_2.618``.
    """
    if swing_high < swing_low:
        raise ValueError(
            f"swing_high must be >= swing_low, got {swing_high!r} < {swing_low!r}; "
            "give the direction with up="
        )
    rng = swing_high - swing_low
    out: dict[str, float] = {}
    for f in FIB_RETRACEMENTS:
        out[f"ret_{f:g}"] = swing_high - f * rng if up else swing_low + f * rng
    for e in FIB_EXTENSIONS:
        out[f"ext_{e:g}"] = swing_low + e * rng if up else swing_high - e * rng
    return out


def round_numbers(spot: float, span: float, steps: Sequence[float] = (25, 50, 100)) -> list[Level]:
    """Multiples of each step within [spot - span, spot + span], each price once, ascending.

    A price is named after the largest step it is a multiple of (family ``round``, name e.g.
    ``round100:6000``). Multiples of 50 or more weigh 1; smaller steps (25s) weigh 0.5, since
    section 8 only weighs round 50/100.
    """
    if span < 0 or any(s <= 0 for s in steps):
        raise ValueError(f"span must be >= 0 and steps > 0, got span={span!r} steps={steps!r}")
    best: dict[float, float] = {}
    for step in steps:
        k = math.ceil((spot - span) / step)
        while k * step <= spot + span:
            price = round(k * step, 9)
            best[price] = max(best.get(price, 0.0), step)
            k += 1
    return [
        Level(price, "round", f"round{step:g}:{price:.10g}", 1.0 if step >= 50 else 0.5)
        for price, step in sorted(best.items())
    ]


def all_levels(
    *,
    prev_day: Bar | None = None,
    opening: OpeningRange | None = None,
    vwap: Vwap | None = None,
    gamma_levels: Mapping[str, float] | None = None,
    swing: tuple[float, float, bool] | None = None,
    spot: float | None = None,
    round_span: float = 100.0,
) -> list[Level]:
    """Every available level with its section-8 weight, ready for ``clusters.cluster_levels``.

    Inputs are optional; a missing one contributes nothing. All prices must already be in SPX
    points (convert SPY-derived VWAP with :meth:`Vwap.scaled`).

    - ``prev_day``: PDH/PDL/PDC (2), floor pivots (1) and Camarilla (1) from its H, L, C.
    - ``opening``: ORH/ORL (2), OR mid and extensions (1).
    - ``vwap``: VWAP (2) and the +-1 and +-2 sigma bands (1).
    - ``gamma_levels``: ``{name: price}``; weights from :data:`GAMMA_WEIGHTS` (flip, call_wall,
      put_wall 3; ags 2; anything else 1). Non-finite prices are skipped.
    - ``swing``: (low, high, up) for Fibonacci levels (1). Without it, the prior day's range
      is used, up when the prior close >= its open.
    - ``spot`` with ``round_span``: round numbers within spot +- round_span.
    """
    out: list[Level] = []
    if gamma_levels:
        for name, price in gamma_levels.items():
            if math.isfinite(price):
                out.append(Level(price, "gamma", name, GAMMA_WEIGHTS.get(name, 1.0)))
    if prev_day is not None:
        out += prior_day_levels(prev_day)
        h, lo, c = prev_day.high, prev_day.low, prev_day.close
        out += [Level(p, "pivot", n, 1.0) for n, p in floor_pivots(h, lo, c).items()]
        out += [Level(p, "camarilla", n, 1.0) for n, p in camarilla(h, lo, c).items()]
        if swing is None:
            swing = (lo, h, prev_day.close >= prev_day.open)
    if swing is not None:
        out += [Level(p, "fib", n, 1.0) for n, p in fibonacci(*swing).items()]
    if opening is not None:
        out += [
            Level(opening.high, "opening_range", "ORH", 2.0),
            Level(opening.low, "opening_range", "ORL", 2.0),
            Level(opening.mid, "opening_range", "ORM", 1.0),
        ]
        out += [Level(p, "opening_range", n, 1.0) for n, p in opening.extensions.items()]
    if vwap is not None:
        out.append(Level(vwap.vwap, "vwap", "VWAP", 2.0))
        for k in (1, 2):
            lower, upper = vwap.bands[k]
            out += [
                Level(upper, "vwap", f"VWAP+{k}s", 1.0),
                Level(lower, "vwap", f"VWAP-{k}s", 1.0),
            ]
    if spot is not None and math.isfinite(spot):
        out += round_numbers(spot, round_span)
    return out
