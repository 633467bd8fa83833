"""The simulated market's 1-minute bars, and the ticks inside each one (pure).

Bars come first: each minute's open, high, low, close, trade count and volume are drawn from
the day's substep path (``sim_paths``) and one seeded stream per (symbol, day). The ticks of
a minute are then drawn *inside* its bar from a stream seeded by (symbol, minute): the first
print is the open, the last the close, one print touches the high and one the low, every
other print lies between them, and the sizes add up to the bar's volume. Folding a minute's
ticks into a candle therefore gives back exactly its bar, which is what makes the past
stable: history generated after a restart equals what the live stream built before it.

Which minutes a symbol trades is the market-hours rule: an index prints only in NYSE regular
sessions under ``hours="exchange"``; stocks and ETFs print around the clock (quietly
overnight and on weekends, so a demo or a test always has a live stream).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Final

import numpy as np

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import Quote, Trade
from spotlight.market.sim_config import MarketHours
from spotlight.market.sim_paths import (
    MINUTE_MS,
    SIGMA_MIN,
    SUBSTEPS,
    Path,
    SymbolModel,
    day_start_ms,
    minute_profiles,
    session_minutes,
    stream,
)

__all__ = ["MinuteTicks", "day_bars", "minute_ticks", "trades_in_session_only"]

# A SUBSTEPS-point path underestimates a minute's true range; widen high/low by a random
# excursion of about this many substep sds.
_EXCURSION: Final = 0.5
# Every traded minute has at least two prints (an open and a close): a one-print bar would
# have open == close and break the rule that a bar opens where the previous one closed.
_MIN_TRADES: Final = 2
# Interior prints wander around the substep path by this many substep sds (then are held
# inside the bar's range), so a tick chart is not a set of straight lines.
_TICK_NOISE: Final = 0.1


def trades_in_session_only(model: SymbolModel, hours: MarketHours) -> bool:
    return model.index and hours == "exchange"


def _lot_params(volume_mult: float) -> tuple[float, int, float]:
    """``(odd-lot probability, largest odd lot, mean extra round lots)`` by activity.

    The trade *rate* is constant whenever a symbol trades (a configured knob), so the
    intraday volume curve comes from trade sizes: large multi-lot prints near the open and
    close, small odd lots overnight, as on real tapes.
    """
    if volume_mult >= 0.5:  # regular session: ~200 shares a print at lunch, ~850 at the open
        return 0.1, 99, 3.0 * volume_mult
    if volume_mult >= 0.05:  # pre-market and after-hours
        return 0.7, 99, 0.1
    return 0.95, 20, 0.05  # overnight and weekends


@lru_cache(maxsize=1024)
def _expected_size(volume_mult: float) -> float:
    odd, odd_max, extra = _lot_params(volume_mult)
    # E[floor(X)] for X ~ Exp(mean m) is q / (1 - q) with q = exp(-1/m); the lot cap is
    # ignored (it is rarely hit).
    q = math.exp(-1.0 / extra)
    return (1 - odd) * 100.0 * (1.0 + q / (1 - q)) + odd * (1 + odd_max) / 2


def _sub_sd(model: SymbolModel) -> float:
    return math.sqrt((model.beta * SIGMA_MIN) ** 2 + model.idio_sigma**2) * math.sqrt(
        1.0 / SUBSTEPS
    )


def day_bars(
    seed: int,
    model: SymbolModel,
    d: date,
    logs: Path,
    trades_per_second: float,
    hours: MarketHours,
) -> list[Bar | None]:
    """One bar per minute of day ``d`` (None for minutes the symbol does not trade)."""
    profiles = minute_profiles(d)
    n = len(profiles)
    draws = stream(f"spotlight-sim:{seed}:bars:{model.symbol}:{d.isoformat()}")
    # Every draw happens for every minute, traded or not, so the market-hours rule never
    # changes the bars of the minutes that do trade.
    vol = np.asarray([v for v, _ in profiles], dtype=np.float64)
    widen = _EXCURSION * _sub_sd(model) * vol
    up = np.abs(draws.standard_normal(n)) * widen
    down = np.abs(draws.standard_normal(n)) * widen
    counts = np.maximum(_MIN_TRADES, draws.poisson(trades_per_second * 60.0, n))
    noise = np.exp(draws.standard_normal(n) * 0.25)
    inner = logs[: n * SUBSTEPS].reshape(n, SUBSTEPS)
    ends = logs[SUBSTEPS::SUBSTEPS]
    # Cents, rounded once for the whole day; rounding is monotone, so low <= open, close <=
    # high survives it.
    highs = np.round(np.exp(np.maximum(inner.max(axis=1), ends) + up), 2).tolist()
    lows = np.round(np.exp(np.minimum(inner.min(axis=1), ends) - down), 2).tolist()
    opens = np.round(np.exp(inner[:, 0]), 2).tolist()
    closes = np.round(np.exp(ends), 2).tolist()
    start = day_start_ms(d)
    sym, index = model.symbol, model.index
    session = session_minutes(d) if trades_in_session_only(model, hours) else None
    out: list[Bar | None] = []
    for i, (trades, (_, volume_mult)) in enumerate(zip(counts.tolist(), profiles, strict=True)):
        if session is not None and not session[i]:
            out.append(None)
            continue
        o, c = opens[i], closes[i]
        if trades >= 4:
            h, lo = max(highs[i], o, c), min(lows[i], o, c)
        else:  # two or three prints cannot also reach separate extremes
            h, lo = max(o, c), min(o, c)
        volume = 0.0
        if not index:  # every print is at least one share
            volume = float(max(trades, round(trades * _expected_size(volume_mult) * noise[i])))
        out.append(Bar(sym, "1m", start + i * MINUTE_MS, o, h, lo, c, volume, int(trades)))
    return out


class MinuteTicks:
    """The prints (and quotes) inside one bar, as parallel lists in time order; tick objects
    are made only when asked for (a busy minute holds tens of thousands)."""

    __slots__ = ("q_ask", "q_ask_size", "q_bid", "q_bid_size", "q_ts", "symbol", "t_price",
                 "t_size", "t_ts")  # fmt: skip

    def __init__(
        self,
        symbol: str,
        trades: tuple[list[int], list[float], list[float]],
        quotes: tuple[list[int], list[float], list[float], list[float], list[float]],
    ) -> None:
        self.symbol = symbol
        self.t_ts, self.t_price, self.t_size = trades
        self.q_ts, self.q_bid, self.q_ask, self.q_bid_size, self.q_ask_size = quotes

    def trades_until(self, ms: int) -> int:
        """How many prints have ``ts_ms <= ms``."""
        return bisect_right(self.t_ts, ms)

    def quotes_until(self, ms: int) -> int:
        return bisect_right(self.q_ts, ms)

    def trade(self, k: int) -> Trade:
        return Trade(self.symbol, self.t_ts[k], self.t_price[k], self.t_size[k])

    def quote(self, j: int) -> Quote:
        return Quote(
            self.symbol, self.q_ts[j], self.q_bid[j], self.q_ask[j], self.q_bid_size[j],
            self.q_ask_size[j],
        )  # fmt: skip

    def between(self, ti: int, qi: int, until_ms: int) -> list[Trade | Quote]:
        """Prints from index ``ti`` and quotes from ``qi`` up to ``until_ms``, merged in time
        order (a print before a quote of the same millisecond)."""
        t_end, q_end = self.trades_until(until_ms), self.quotes_until(until_ms)
        out: list[Trade | Quote] = []
        t_ts, q_ts = self.t_ts, self.q_ts
        while ti < t_end or qi < q_end:
            if qi >= q_end or (ti < t_end and t_ts[ti] <= q_ts[qi]):
                out.append(self.trade(ti))
                ti += 1
            else:
                out.append(self.quote(qi))
                qi += 1
        return out


def _sizes(draws: np.random.Generator, n: int, volume: float, volume_mult: float) -> list[float]:
    """``n`` trade sizes (mostly round lots) adding up to ``volume`` exactly."""
    odd, odd_max, extra = _lot_params(volume_mult)
    is_odd = draws.random(n) < odd
    odd_sizes = draws.integers(1, odd_max + 1, n).astype(np.float64)
    lots = np.minimum(1 + np.floor(draws.exponential(extra, n)), 50) * 100.0
    raw = np.where(is_odd, odd_sizes, lots)
    scaled = raw * (volume / raw.sum())
    sized = np.where(
        is_odd,
        np.clip(np.round(scaled), 1, 99),
        np.maximum(100.0, np.round(scaled / 100) * 100),
    )
    sizes: list[float] = sized.tolist()
    residual = volume - math.fsum(sizes)
    # The largest prints absorb the rounding, none below one share.
    for k in sorted(range(n), key=lambda k: (-sizes[k], k)):
        if residual == 0:
            break
        take = max(residual, 1.0 - sizes[k])
        sizes[k] += take
        residual -= take
    return sizes


def minute_ticks(
    seed: int,
    model: SymbolModel,
    bar: Bar,
    seg: Sequence[float],
    volume_mult: float,
    quotes_per_trade: float,
) -> MinuteTicks:
    """The prints inside ``bar`` (see the module docstring) plus quotes for non-indices.

    ``seg`` is the minute's log-price path (SUBSTEPS + 1 points). Drawn as arrays: at a few
    hundred prints a second a minute holds tens of thousands of ticks."""
    draws = stream(f"spotlight-sim:{seed}:ticks:{model.symbol}:{bar.start_ms}")
    n = bar.trades
    knots = np.linspace(0.0, MINUTE_MS, SUBSTEPS + 1)
    path = np.asarray(seg, dtype=np.float64)
    times = np.sort(draws.random(n) * MINUTE_MS)
    noise = draws.standard_normal(n) * (_TICK_NOISE * _sub_sd(model))
    levels = np.interp(times, knots, path)
    prices = np.clip(np.round(np.exp(levels + noise), 2), bar.low, bar.high).tolist()
    prices[0], prices[-1] = bar.open, bar.close
    if n >= 4:
        # One interior print each at the high and the low, where the path comes closest.
        inner = levels[1:-1]
        k_hi = 1 + int(np.argmax(inner))
        masked = inner.copy()
        masked[k_hi - 1] = np.inf
        k_lo = 1 + int(np.argmin(masked))
        prices[k_hi], prices[k_lo] = bar.high, bar.low
    sizes = [0.0] * n if model.index else _sizes(draws, n, bar.volume, volume_mult)
    start = bar.start_ms
    stamps: list[int] = (start + times.astype(np.int64)).tolist()
    quotes: tuple[list[int], list[float], list[float], list[float], list[float]]
    quotes = ([], [], [], [], [])
    if not model.index and quotes_per_trade > 0:
        m = int(draws.poisson(n * quotes_per_trade))
        at = np.sort(draws.random(m) * MINUTE_MS)
        cents = np.exp(np.interp(at, knots, path)) * 100.0
        tight = draws.random(m) < 0.7  # mostly one-cent markets, as in SPY/QQQ
        bid_c = np.where(tight, np.floor(cents), np.round(cents) - 1)
        ask_c = bid_c + np.where(tight, 1, 2)
        quotes = (
            (start + at.astype(np.int64)).tolist(),
            (bid_c / 100).tolist(),
            (ask_c / 100).tolist(),
            (draws.integers(1, 31, m) * 100.0).tolist(),
            (draws.integers(1, 31, m) * 100.0).tolist(),
        )
    return MinuteTicks(model.symbol, (stamps, prices, sizes), quotes)
