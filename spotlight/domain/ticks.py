"""Normalized market inputs: the only shapes that flow from a source into the pipeline.

Every source (simulator, Massive, a replay) produces these; nothing downstream of the
tick normalizer ever sees a vendor's field names.

Time is exchange time in Unix milliseconds (UTC). Index symbols carry the ``I:`` prefix
and have no volume: their "trades" are index values with ``size == 0.0``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BarRevision", "Quote", "SourceStatus", "Tick", "Trade", "is_index"]


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


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the source says about itself: clients see it as a ``status`` event.

    ``state``: "simulated", "live", "delayed" (the plan only covers delayed data), "closed"
    (market closed, polling slowed), "degraded" (a feed is failing: data may be stale; nothing
    is substituted), or "unauthorized" (the key was refused: a configuration error).
    ``feeds`` maps feed name -> its state ("ok", "delayed", "degraded", "not-entitled",
    "unauthorized", "starting").
    """

    source: str  # "simulated" | "massive"
    state: str
    reason: str | None
    feeds: tuple[tuple[str, str], ...]
    ts_ms: int
    # Set on a replay's status (source "replay"): {id, origin, date} of the replay.
    replay: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "source": self.source,
            "state": self.state,
            "reason": self.reason,
            "feeds": dict(self.feeds),
            "t": self.ts_ms,
        }
        if self.replay:
            out["replay"] = dict(self.replay)
        return out


@dataclass(frozen=True, slots=True)
class BarRevision:
    """The source's authoritative version of a closed 1-minute bar (late prints revise bars).

    Applied only to closed minutes still in the buffer (``SymbolBars.revise``).
    """

    symbol: str
    start_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int


Tick = Trade | Quote | SourceStatus | BarRevision
