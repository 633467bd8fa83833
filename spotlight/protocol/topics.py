"""Routing keys: which hub topics an event goes to and which a subscription names (pure).

A topic is the unit of subscription: ``tick:SPY`` (trades and index values), ``quote:SPY``
(NBBO), ``bar:SPY:5m`` (bar updates and closes at one timeframe).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["STATUS_TOPIC", "bar_topic", "quote_topic", "stream_topics", "tick_topic"]


def tick_topic(symbol: str) -> str:
    return "tick:" + symbol


def quote_topic(symbol: str) -> str:
    return "quote:" + symbol


def bar_topic(symbol: str, timeframe: str) -> str:
    return "bar:" + symbol + ":" + timeframe


STATUS_TOPIC = "status"  # the market source's state: every stream receives it


def stream_topics(symbols: Iterable[str], timeframe: str) -> tuple[str, ...]:
    """Every topic a market-data stream for ``symbols`` at ``timeframe`` receives."""
    out: list[str] = [STATUS_TOPIC]
    for s in symbols:
        out += [tick_topic(s), quote_topic(s), bar_topic(s, timeframe)]
    return tuple(out)
