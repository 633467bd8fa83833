"""The names of the Massive endpoints Spotlight uses: one vocabulary for the client's request
records (and so the metrics labels), the fake's fault injection and the tests."""

from __future__ import annotations

__all__ = ["ENDPOINTS"]

ENDPOINTS: tuple[str, ...] = (
    "aggs",
    "last_trade",
    "last_nbbo",
    "market_status",
    "holidays",
    "options_contracts",
    "options_chain",
    "option_contract",
    "indices",
)
