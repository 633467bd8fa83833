"""Massive (formerly Polygon.io) REST market data.

    client.py      MassiveClient: async context manager over httpx; one method per endpoint
    models.py      frozen parsed responses; bad data raises MassiveDataError (pure)
    errors.py      the MassiveError tree; statuses and httpx exceptions mapped in one place
    pagination.py  next_url re-based onto our base URL, with loop and page-cap guards (pure)
    budget.py      RequestBudget: token bucket plus concurrency cap, per API key

The upstream contract (endpoints, fields, quirks) is docs/upstream/massive-api.md.
"""

from spotlight.market.massive.budget import RequestBudget
from spotlight.market.massive.client import (
    DEFAULT_BASE_URL,
    INDEX_UNDERLYINGS,
    MassiveClient,
    RequestRecord,
    is_index_underlying,
    market_ticker,
    reference_ticker,
)
from spotlight.market.massive.errors import (
    MassiveAuthError,
    MassiveDataError,
    MassiveError,
    MassiveNotEntitledError,
    MassiveRateLimitedError,
    MassiveRequestError,
    MassiveServerError,
    MassiveTransportError,
)
from spotlight.market.massive.models import (
    AggBar,
    Aggregates,
    IndexValue,
    LastQuote,
    LastTrade,
    MarketHoliday,
    MarketStatus,
    OptionContract,
    parse_option_snapshot,
)
from spotlight.market.massive.pagination import PageGuard, Walk, rebase_next_url

__all__ = [
    "DEFAULT_BASE_URL",
    "INDEX_UNDERLYINGS",
    "AggBar",
    "Aggregates",
    "IndexValue",
    "LastQuote",
    "LastTrade",
    "MarketHoliday",
    "MarketStatus",
    "MassiveAuthError",
    "MassiveClient",
    "MassiveDataError",
    "MassiveError",
    "MassiveNotEntitledError",
    "MassiveRateLimitedError",
    "MassiveRequestError",
    "MassiveServerError",
    "MassiveTransportError",
    "OptionContract",
    "PageGuard",
    "RequestBudget",
    "RequestRecord",
    "Walk",
    "is_index_underlying",
    "market_ticker",
    "parse_option_snapshot",
    "rebase_next_url",
    "reference_ticker",
]
