"""A simulated tape: the simulator's 1-minute rows, last trades and quotes (pure: every read
is a function of the seed and ``now_ms``).

Prices and bars come from :class:`~spotlight.market.simulator.MarketSimulator`, whose past is
a function of the seed and the date alone, so whatever reads a tape (the simulated option
book's spot, the shipped fake Massive's aggregates, last trades and index values) agrees with
every other reader of the same seed, whenever each of them started. Rows are served for the
``history_days`` trading sessions before the tape's start (counted as the simulator's
history counts them) up to ``sync(now)``, the minute in progress holding
the prints so far. ``I:VIX`` is a pure function of ``I:SPX`` (a seeded base level, rising as
SPX falls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import Quote, Trade
from spotlight.market.sim_config import MarketHours
from spotlight.market.simulator import MarketSimulator, SimulatorConfig, history_start_ms

__all__ = ["TAPE_SYMBOLS", "LastTrade", "MarketData", "Row"]

MINUTE_MS = 60_000
_DAY_MS = 86_400_000
# The symbols a tape simulates (I:VIX is derived from I:SPX).
TAPE_SYMBOLS = ("SPY", "QQQ", "I:SPX")
# How far back price_before looks for a bar: past the longest NYSE closure.
_LOOKBACK_MS = 10 * _DAY_MS

# (t, o, h, l, c, v, vw, n)
Row = tuple[int, float, float, float, float, float, float, int]


@dataclass(frozen=True, slots=True)
class LastTrade:
    ts_ms: int
    price: float
    size: float
    seq: int


def _row(b: Bar) -> Row:
    return (
        b.start_ms, b.open, b.high, b.low, b.close, b.volume,
        round((b.high + b.low + b.close) / 3, 4), b.trades,
    )  # fmt: skip


class MarketData:
    """Simulator-backed prices: 1-minute rows for SPY, QQQ, I:SPX (and derived I:VIX)."""

    def __init__(
        self,
        seed: int,
        start_ms: int,
        *,
        history_days: int = 10,
        trades_per_second: float = 2.0,
        hours: MarketHours = "exchange",
    ) -> None:
        self.seed = seed
        self.start_ms = start_ms
        self.hours = hours
        self.sim = MarketSimulator(
            SimulatorConfig(
                seed=seed,
                symbols=TAPE_SYMBOLS,
                trades_per_second=trades_per_second,
                history_days=history_days,
                hours=hours,
            ),
            start_ms,
        )
        self._floor = history_start_ms(start_ms, history_days)
        self._seq = 0
        self._trade: dict[str, LastTrade] = {}
        for sym in TAPE_SYMBOLS:
            t = self.sim.last_trade(sym)
            price = self.sim.last_price(sym)
            self._trade[sym] = LastTrade(
                t.ts_ms if t else start_ms - 1, price, t.size if t else 0.0, 0
            )
        # The index's base level, not its value at start: VIX must not depend on when a tape
        # started, or a restart would rewrite its past too.
        self.spx0 = round(self.sim.spx_base, 2)
        self.vix0 = Random(f"fake-massive:{seed}:vix").uniform(14.0, 18.0)
        self._now = start_ms - 1

    # -- live ---------------------------------------------------------------------------

    def sync(self, now_ms: int) -> None:
        """Bring the last trades and quotes up to ``now_ms``."""
        if now_ms <= self._now:
            return
        self._now = now_ms
        for tick in self.sim.advance(now_ms):
            if isinstance(tick, Trade):
                self._seq += 1
                self._trade[tick.symbol] = LastTrade(tick.ts_ms, tick.price, tick.size, self._seq)

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
        q = self.sim.last_quote(symbol)
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
        if symbol not in TAPE_SYMBOLS:
            return []
        lo = max(lo_ms, self._floor)
        if lo > hi_ms:
            return []
        return [_row(b) for b in self.sim.bars(symbol, lo, hi_ms, self._now)]

    def price_before(self, symbol: str, ms: int) -> float:
        """Close of the last minute that started before ``ms`` (else the last price)."""
        if symbol == "I:VIX":
            return self.vix_of(self.price_before("I:SPX", ms))
        end = min(ms - 1, self._now)
        step = _DAY_MS
        lo = end - step
        while lo >= end - _LOOKBACK_MS:
            bars = self.sim.bars(symbol, lo, end, self._now)
            if bars:
                return bars[-1].close
            end, lo = lo - 1, lo - step
        return self.sim.last_price(symbol)
