"""Helpers for the Massive client tests: a recording MockTransport and canned bodies.

Upstream is faked with plain functions (``httpx.MockTransport``); nothing touches a network.
Bodies follow the examples in docs/upstream/massive-api.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from spotlight.market.massive import MassiveClient, RequestBudget, RequestRecord

KEY = "sk_live_SECRET_KEY_0123456789abcdef"
BASE = "https://api.test"

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=orjson.dumps(body),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def raw(content: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers)


def roomy_budget() -> RequestBudget:
    """Never the bottleneck: tests about retries should not also wait for tokens."""
    return RequestBudget(per_minute=600_000, burst=10_000, concurrency=16)


@dataclass
class Upstream:
    """A fake upstream: a handler plus everything seen (requests, records, empty hooks)."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)
    records: list[RequestRecord] = field(default_factory=list)
    empties: list[str] = field(default_factory=list)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        result = self.handler(request)
        if isinstance(result, httpx.Response):
            return result
        return await result

    def client(self, **kwargs: Any) -> MassiveClient:
        kwargs.setdefault("budget", roomy_budget())
        kwargs.setdefault("base_url", BASE)
        return MassiveClient(
            KEY,
            transport=httpx.MockTransport(self._handle),
            on_request=self.records.append,
            on_empty=self.empties.append,
            **kwargs,
        )

    @property
    def calls(self) -> int:
        return len(self.requests)

    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.records]


def replies(responses: Iterable[httpx.Response | Exception]) -> Handler:
    """A handler answering with ``responses`` in order (an exception is raised instead)."""
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def always(response: httpx.Response | Exception) -> Handler:
    return replies([response])


SPX_BARS = {
    "ticker": "I:SPX",
    "queryCount": 2,
    "resultsCount": 2,
    "status": "OK",
    "request_id": "9b1f0c2e7a4d4c55",
    "results": [
        {"o": 6004.12, "h": 6007.88, "l": 6001.35, "c": 6006.40, "t": 1766154600000},
        {"o": 6006.41, "h": 6009.02, "l": 6004.97, "c": 6008.75, "t": 1766154660000},
    ],
}

LAST_TRADE = {
    "status": "OK",
    "request_id": "c0a8e1f2",
    "results": {
        "T": "SPY",
        "p": 598.71,
        "s": 100,
        "ds": "100",
        "x": 11,
        "c": [12],
        "i": "71675",
        "q": 88213471,
        "r": 0,
        "t": 1766159982123456789,
        "y": 1766159982122990000,
        "z": 2,
    },
}

LAST_NBBO = {
    "status": "OK",
    "request_id": "77ab3c",
    "results": {
        "T": "SPY",
        "p": 598.70,
        "s": 3,
        "x": 12,
        "P": 598.71,
        "S": 5,
        "X": 11,
        "q": 102334551,
        "t": 1766159982200111222,
        "y": 1766159982199800000,
        "z": 2,
    },
}

CHAIN_ITEM: dict[str, Any] = {
    "break_even_price": 6012.35,
    "day": {
        "open": 15.45,
        "high": 18.90,
        "low": 10.20,
        "close": 12.35,
        "previous_close": 15.45,
        "change": -3.10,
        "change_percent": -20.06,
        "volume": 48211,
        "vwap": 13.87,
        "last_updated": 1766160000000000000,
    },
    "details": {
        "ticker": "O:SPXW251219C06000000",
        "contract_type": "call",
        "exercise_style": "european",
        "expiration_date": "2025-12-19",
        "strike_price": 6000,
        "shares_per_contract": 100,
    },
    "greeks": {"delta": 0.521, "gamma": 0.00812, "theta": -38.4, "vega": 0.95},
    "implied_volatility": 0.142,
    "open_interest": 18342,
    "last_quote": {
        "bid": 12.20,
        "ask": 12.50,
        "midpoint": 12.35,
        "bid_size": 35,
        "ask_size": 40,
        "bid_exchange": 302,
        "ask_exchange": 302,
        "last_updated": 1766159999812345678,
        "timeframe": "REAL-TIME",
    },
    "last_trade": {
        "price": 12.40,
        "size": 5,
        "exchange": 302,
        "conditions": [209],
        "sip_timestamp": 1766159998700999999,
        "timeframe": "REAL-TIME",
    },
    "underlying_asset": {
        "ticker": "I:SPX",
        "value": 5998.70,
        "change_to_break_even": 13.65,
        "last_updated": 1766159999900000000,
        "timeframe": "REAL-TIME",
    },
}


def chain_item(ticker: str = "O:SPXW251219C06000000", strike: float = 6000) -> dict[str, Any]:
    item = orjson.loads(orjson.dumps(CHAIN_ITEM))
    item["details"] = {**item["details"], "ticker": ticker, "strike_price": strike}
    return dict(item)


INDICES = {
    "status": "OK",
    "request_id": "4c2d9e",
    "results": [
        {
            "ticker": "I:SPX",
            "name": "S&P 500",
            "type": "indices",
            "value": 5998.70,
            "market_status": "regular_trading",
            "timeframe": "REAL-TIME",
            "last_updated": 1766159999000000000,
            "session": {
                "open": 6004.12,
                "high": 6011.30,
                "low": 5990.05,
                "close": 5998.70,
                "previous_close": 6001.94,
                "change": -3.24,
                "change_percent": -0.054,
            },
        },
        {
            "ticker": "I:VIX",
            "name": "CBOE Volatility Index",
            "type": "indices",
            "value": 15.82,
            "market_status": "regular_trading",
            "timeframe": "DELAYED",
            "last_updated": 1766159998000000000,
        },
        {"ticker": "I:FOO", "error": "NOT_FOUND", "message": "Ticker not found."},
    ],
}

MARKET_STATUS = {
    "market": "open",
    "serverTime": "2025-12-19T11:00:02-05:00",
    "earlyHours": False,
    "afterHours": False,
    "exchanges": {"nasdaq": "open", "nyse": "open", "otc": "open"},
    "currencies": {"fx": "open", "crypto": "open"},
}

HOLIDAYS = [
    {
        "date": "2025-12-24",
        "exchange": "NYSE",
        "name": "Christmas",
        "status": "early-close",
        "open": "2025-12-24T14:30:00.000Z",
        "close": "2025-12-24T18:00:00.000Z",
    },
    {"date": "2025-12-25", "exchange": "NYSE", "name": "Christmas", "status": "closed"},
]

CONTRACT = {
    "ticker": "O:SPXW251219C06000000",
    "underlying_ticker": "SPX",
    "contract_type": "call",
    "exercise_style": "european",
    "expiration_date": "2025-12-19",
    "strike_price": 6000,
    "shares_per_contract": 100,
    "primary_exchange": "XCBO",
    "cfi": "OCEICS",
}
