"""The domain: what every layer talks about, and nothing else (pure: imports nothing of ours
outside this package, no I/O framework, no clock of its own).

- ``ticks``: the normalized market inputs (trades, quotes, source status, bar revisions).
- ``bars``: OHLCV candles, their rules and rollups, and ``SymbolBars``, one symbol's bar state.
- ``options``: one option contract's snapshot, as analytics read it.
- ``nytime``: New York time, the exchange's clock (the one timezone constant).
- ``calendar``: the NYSE calendar (holidays, early closes, session bounds).
"""

from spotlight.domain.bars import TIMEFRAMES, Bar, UnknownTimeframe
from spotlight.domain.nytime import NY, ny_date, ny_datetime, ny_midnight_ms, ny_ms
from spotlight.domain.options import OptionSnapshot
from spotlight.domain.symbol_bars import BarChange, SymbolBars
from spotlight.domain.ticks import BarRevision, Quote, SourceStatus, Tick, Trade, is_index

__all__ = [
    "NY",
    "TIMEFRAMES",
    "Bar",
    "BarChange",
    "BarRevision",
    "OptionSnapshot",
    "Quote",
    "SourceStatus",
    "SymbolBars",
    "Tick",
    "Trade",
    "UnknownTimeframe",
    "is_index",
    "ny_date",
    "ny_datetime",
    "ny_midnight_ms",
    "ny_ms",
]
