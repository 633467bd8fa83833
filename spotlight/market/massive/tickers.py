"""Massive's ticker and query rules, applied in one place so callers need not care (pure).

Index underlyings are SPX, NDX, RUT, VIX, XSP and anything written ``I:...``. Market-data
paths take the prefixed form (``/v3/snapshot/options/I:SPX``, ``/v2/aggs/ticker/I:SPX/...``);
reference queries take the bare form (``underlying_ticker=SPX``). Indices have no trades or
quotes. Filters are written ``strike_price_gte=5900`` by callers and sent as
``strike_price.gte=5900``; path segments are escaped so a ticker cannot change the path.
"""

from __future__ import annotations

import math
from typing import Final
from urllib.parse import quote

__all__ = [
    "INDEX_UNDERLYINGS",
    "FilterValue",
    "filter_params",
    "is_index_underlying",
    "market_ticker",
    "path_segment",
    "reference_ticker",
]

FilterValue = str | int | float

INDEX_UNDERLYINGS: Final = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP"})
_MODIFIERS = ("_any_of", "_gte", "_lte", "_gt", "_lt")  # strike_price_gte -> strike_price.gte


def is_index_underlying(ticker: str) -> bool:
    """True for index underlyings: ``I:`` anything, or a bare SPX, NDX, RUT, VIX or XSP."""
    return ticker.startswith("I:") or ticker in INDEX_UNDERLYINGS


def market_ticker(ticker: str) -> str:
    """The form market-data endpoints want: ``SPX`` -> ``I:SPX``; others unchanged."""
    return "I:" + ticker if ticker in INDEX_UNDERLYINGS else ticker


def reference_ticker(ticker: str) -> str:
    """The form reference endpoints want: ``I:SPX`` -> ``SPX``; others unchanged."""
    return ticker.removeprefix("I:")


def _param(name: str, value: FilterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"filter {name} must be finite, not {value!r}")
    return str(value)


def filter_params(filters: dict[str, FilterValue], reserved: frozenset[str]) -> dict[str, str]:
    """Query parameters from keyword filters; ``reserved`` names are the client's own."""
    params: dict[str, str] = {}
    for key, value in filters.items():
        name = next(
            (key[: -len(s)] + "." + s[1:] for s in _MODIFIERS if key.endswith(s)),
            key,
        )
        if name.split(".")[0] in reserved:
            raise ValueError(f"filter {key!r} is set by the client itself; drop it")
        params[name] = _param(key, value)
    return params


def path_segment(value: str | int) -> str:
    """One URL path segment; ``/`` and ``?`` are escaped so a ticker cannot change the path."""
    text = str(value)
    if not text:
        raise ValueError("tickers and contracts must be non-empty strings")
    return quote(text, safe=":")
