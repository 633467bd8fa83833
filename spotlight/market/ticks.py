"""Normalized market inputs: the only shapes that flow from a source into the pipeline.

Every source (simulator, Massive, a replay) produces these; nothing downstream of the
tick normalizer ever sees a vendor's field names.

Time is exchange time in Unix milliseconds (UTC). Index symbols carry the ``I:`` prefix
and have no volume: their "trades" are index values with ``size == 0.0``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Quote", "Tick", "Trade", "is_index"]


def is_index(symbol: str) -> bool:
    """Index symbols (``I:SPX``) are computed values: no trades, quotes or volume."""
    return symbol.startswith("I:")


@dataclass(frozen=True, slots=True)
class Trade:
    """A last-sale print, or an index value (``size == 0.0``)."""

    symbol: str
    ts_ms: int
    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Quote:
    """A top-of-book (NBBO) update. Indices never have quotes."""

    symbol: str
    ts_ms: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float


Tick = Trade | Quote
