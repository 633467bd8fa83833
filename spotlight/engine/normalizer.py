"""The tick normalizer: the pipeline's gate between a source and the bar builder.

Sources are trusted to speak ``Trade``/``Quote`` but not to be sane: a Massive response can
carry a zero price, a crossed quote or a symbol we do not serve. Each bad tick is dropped
and counted by reason (visible in diag and ``spotlight_ticks_rejected_total``); it never
reaches a client. Index values always have size 0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

from spotlight.domain.ticks import BarRevision, Quote, SourceStatus, Tick, Trade, is_index

__all__ = ["TickNormalizer"]

# Timestamps before 2000-01-01 or more than a day ahead of the newest one seen are bugs
# upstream (wrong unit: ns or s instead of ms), not market data.
_MIN_TS_MS = 946_684_800_000
_MAX_AHEAD_MS = 86_400_000


class TickNormalizer:
    def __init__(self, symbols: Iterable[str]) -> None:
        self.symbols = frozenset(symbols)
        self.rejected: Counter[str] = Counter()
        self._newest_ms = 0

    def normalize(self, ticks: Iterable[Tick]) -> list[Tick]:
        out: list[Tick] = []
        for t in ticks:
            reason = self._problem(t)
            if reason is not None:
                self.rejected[reason] += 1
                continue
            if isinstance(t, SourceStatus):
                out.append(t)
                continue
            if isinstance(t, Trade) and is_index(t.symbol) and t.size != 0.0:
                t = Trade(t.symbol, t.ts_ms, t.price, 0.0)
            if not isinstance(t, BarRevision) and t.ts_ms > self._newest_ms:
                self._newest_ms = t.ts_ms
            out.append(t)
        return out

    def _problem(self, t: Tick) -> str | None:
        if isinstance(t, SourceStatus):
            return None  # not market data: nothing to validate against symbols
        if t.symbol not in self.symbols:
            return "unknown-symbol"
        ts = t.start_ms if isinstance(t, BarRevision) else t.ts_ms
        if ts < _MIN_TS_MS or (self._newest_ms and ts > self._newest_ms + _MAX_AHEAD_MS):
            return "bad-timestamp"
        if isinstance(t, BarRevision):
            prices = (t.open, t.high, t.low, t.close)
            if not all(math.isfinite(v) and v > 0 for v in prices):
                return "bad-price"
            if not (t.low <= min(t.open, t.close) and t.high >= max(t.open, t.close)):
                return "bad-bar"
            if not (math.isfinite(t.volume) and t.volume >= 0) or t.start_ms % 60_000:
                return "bad-bar"
            return None
        if isinstance(t, Trade):
            if not (math.isfinite(t.price) and t.price > 0):
                return "bad-price"
            if not (math.isfinite(t.size) and t.size >= 0):
                return "bad-size"
            return None
        if isinstance(t, Quote):
            if is_index(t.symbol):
                return "index-quote"
            if not all(math.isfinite(v) and v > 0 for v in (t.bid, t.ask)):
                return "bad-price"
            if t.bid > t.ask:
                return "crossed-quote"
            if not all(math.isfinite(v) and v >= 0 for v in (t.bid_size, t.ask_size)):
                return "bad-size"
            return None
        return "unknown-type"
