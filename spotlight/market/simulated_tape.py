"""A simulated tape: the simulator's ticks folded into 1-minute rows, with last trades and
quotes (pure: every read is a function of the seed, the start time and ``now_ms``).

Prices and 1-minute bars come from :class:`~spotlight.market.simulator.MarketSimulator`
(history before ``start_ms``, live ticks folded into rows up to ``sync(now)``), so whatever
reads a tape (the simulated option book's spot, the shipped fake Massive's aggregates, last
trades and index values) agrees with every other reader of the same seed. ``I:VIX`` is a pure
function of ``I:SPX`` (a seeded base level, rising as SPX falls).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from random import Random
from typing import Any

from spotlight.domain.ticks import Quote, Trade
from spotlight.market.simulator import MarketSimulator, SimulatorConfig

__all__ = ["TAPE_SYMBOLS", "LastTrade", "MarketData", "Row"]

MINUTE_MS = 60_000
# The symbols a tape simulates (I:VIX is derived from I:SPX).
TAPE_SYMBOLS = ("SPY", "QQQ", "I:SPX")

# (t, o, h, l, c, v, vw, n)
Row = tuple[int, float, float, float, float, float, float, int]


@dataclass(frozen=True, slots=True)
class LastTrade:
    ts_ms: int
    price: float
    size: float
    seq: int


class MarketData:
    """Simulator-backed prices: 1-minute rows for SPY, QQQ, I:SPX (and derived I:VIX)."""

    def __init__(
        self, seed: int, start_ms: int, *, history_days: int = 10, trades_per_second: float = 2.0
    ) -> None:
        self.seed = seed
        self.start_ms = start_ms
        self.sim = MarketSimulator(
            SimulatorConfig(
                seed=seed,
                symbols=TAPE_SYMBOLS,
                trades_per_second=trades_per_second,
                history_days=history_days,
            ),
            start_ms,
        )
        self._rows: dict[str, list[Row]] = {}
        self._starts: dict[str, list[int]] = {}
        self._live: dict[str, list[Any] | None] = {}
        self._trade: dict[str, LastTrade] = {}
        self._quote: dict[str, Quote] = {}
        self._seq = 0
        for sym, bars in self.sim.history().items():
            rows: list[Row] = [
                (
                    b.start_ms,
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    round((b.high + b.low + b.close) / 3, 4),
                    b.trades,
                )
                for b in bars
            ]
            self._rows[sym] = rows
            self._starts[sym] = [r[0] for r in rows]
            self._live[sym] = None
            last_ts = rows[-1][0] + 59_500 if rows else start_ms - 1
            self._trade[sym] = LastTrade(last_ts, self.sim.last_price(sym), 100.0, 0)
        self.spx0 = self.sim.last_price("I:SPX")
        self.vix0 = Random(f"fake-massive:{seed}:vix").uniform(14.0, 18.0)
        self._now = start_ms - 1

    # -- live ---------------------------------------------------------------------------

    def sync(self, now_ms: int) -> None:
        """Fold every simulated tick up to ``now_ms`` into the live bars."""
        if now_ms <= self._now:
            return
        self._now = now_ms
        for tick in self.sim.advance(now_ms):
            if isinstance(tick, Trade):
                self._fold(tick)
            else:
                self._quote[tick.symbol] = tick

    def _fold(self, t: Trade) -> None:
        sym, p, s = t.symbol, t.price, t.size
        self._seq += 1
        self._trade[sym] = LastTrade(t.ts_ms, p, s, self._seq)
        minute = t.ts_ms - t.ts_ms % MINUTE_MS
        cur = self._live[sym]
        if cur is None or minute > cur[0]:
            if cur is not None:
                self._close(sym, cur)
            self._live[sym] = [minute, p, p, p, p, s, p * s, 1]
            return
        if p > cur[2]:
            cur[2] = p
        if p < cur[3]:
            cur[3] = p
        cur[4] = p
        cur[5] += s
        cur[6] += p * s
        cur[7] += 1

    def _close(self, sym: str, cur: list[Any]) -> None:
        row = _materialize(cur)
        self._rows[sym].append(row)
        self._starts[sym].append(row[0])

    def now(self) -> int:
        return self._now

    # -- reads --------------------------------------------------------------------------

    def price(self, symbol: str) -> float:
        if symbol == "I:VIX":
            return self.vix_of(self.sim.last_price("I:SPX"))
        return self.sim.last_price(symbol)

    def vix_of(self, spx: float) -> float:
        # About -4x SPX's log return: a 1% drop lifts VIX by ~4%.
        return round(self.vix0 * math.pow(spx / self.spx0, -4.0), 2)

    def last_trade(self, symbol: str) -> LastTrade:
        key = "I:SPX" if symbol == "I:VIX" else symbol
        return self._trade[key]

    def last_quote(self, symbol: str) -> Quote:
        q = self._quote.get(symbol)
        if q is not None:
            return q
        t = self._trade[symbol]
        return Quote(symbol, t.ts_ms, round(t.price - 0.01, 2), t.price, 500.0, 500.0)

    def minute_rows(self, symbol: str, lo_ms: int, hi_ms: int) -> list[Row]:
        """1-minute rows with ``lo_ms <= t <= hi_ms`` (the in-progress minute included)."""
        if symbol == "I:VIX":
            f = self.vix_of
            return [
                (r[0], f(r[1]), f(r[3]), f(r[2]), f(r[4]), 0.0, 0.0, r[7])
                for r in self.minute_rows("I:SPX", lo_ms, hi_ms)
            ]
        starts = self._starts.get(symbol)
        if starts is None:
            return []
        rows = self._rows[symbol]
        out = rows[bisect_left(starts, lo_ms) : bisect_right(starts, hi_ms)]
        cur = self._live[symbol]
        if cur is not None and lo_ms <= cur[0] <= hi_ms:
            out.append(_materialize(cur))
        return out

    def price_before(self, symbol: str, ms: int) -> float:
        """Close of the last minute that started before ``ms`` (else the first open)."""
        if symbol == "I:VIX":
            return self.vix_of(self.price_before("I:SPX", ms))
        cur = self._live[symbol]
        if cur is not None and cur[0] < ms:  # the live minute is newer than every row
            return float(cur[4])
        rows = self._rows[symbol]
        i = bisect_left(self._starts[symbol], ms)
        if i > 0:
            return rows[i - 1][4]
        if rows:
            return rows[0][1]
        return float(cur[1]) if cur is not None else self.sim.last_price(symbol)


def _materialize(cur: list[Any]) -> Row:
    t, o, h, low, c, v, pv, n = cur
    vw = round(pv / v, 4) if v > 0 else c
    return (t, o, h, low, c, v, vw, n)
