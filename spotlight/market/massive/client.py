"""Async Massive (ex-Polygon.io) REST client on httpx, run under Trio: one method per endpoint.

Layers, one concern each (as httpx's own ``send`` chain): the endpoint method here (builds
the path and query with the ticker rules of ``tickers``) -> ``Requester.walk`` (follows
``next_url``) -> ``Requester.fetch`` (retries with backoff, one ``RequestRecord`` per
attempt) -> one HTTP attempt (``requests``: budget slot, GET, status mapping, decode, parse).

Error handling: every failure surfaces as a ``MassiveError`` subclass (see ``errors``);
404 / ``NOT_FOUND`` is "no data" (None or []); retries and their limits are the request
layer's (``requests``). Secrets never leave the ``Authorization`` header.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Final

import httpx

from spotlight.domain.options import OptionSnapshot
from spotlight.market.massive.budget import RequestBudget
from spotlight.market.massive.errors import MassiveDataError
from spotlight.market.massive.models import (
    AggBar,
    Aggregates,
    IndexValue,
    LastQuote,
    LastTrade,
    MarketHoliday,
    MarketStatus,
    OptionContract,
    parse_items,
    parse_option_snapshot,
)
from spotlight.market.massive.pagination import DEFAULT_MAX_PAGES, Page, Walk
from spotlight.market.massive.requests import (
    DEFAULT_BACKOFF,
    Requester,
    RequestRecord,
    envelope,
    flat,
)
from spotlight.market.massive.tickers import (
    INDEX_UNDERLYINGS,
    FilterValue,
    filter_params,
    is_index_underlying,
    market_ticker,
    path_segment,
    reference_ticker,
)
from spotlight.runtime.backoff import Backoff

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_BASE_URL",
    "INDEX_UNDERLYINGS",
    "MassiveClient",
    "RequestRecord",
    "is_index_underlying",
    "market_ticker",
    "reference_ticker",
]

DEFAULT_BASE_URL: Final = "https://api.massive.com"
# Page sizes are each endpoint's documented maximum: fewer round trips against the budget.
_CONTRACTS_LIMIT, _CHAIN_LIMIT, _INDICES_LIMIT, _AGGS_MAX_LIMIT = 1000, 250, 250, 50_000
_TIMESPANS = frozenset({"second", "minute", "hour", "day", "week", "month", "quarter", "year"})
_RESERVED_PARAMS = frozenset({"limit", "cursor", "apiKey"})
_DATE_OR_MS = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,16}")


class MassiveClient:
    """Use as ``async with MassiveClient(key, budget=RequestBudget.for_plan("free")) as c:``.

    One client owns one ``httpx.AsyncClient``; it refuses calls before ``async with`` and
    after close (``RuntimeError``). ``budget`` defaults to the paid plan's; share one budget
    between all clients of a key. ``on_request`` gets a ``RequestRecord`` per HTTP attempt;
    ``on_empty(endpoint)`` is called once per upstream answer that carried no data.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RequestBudget | None = None,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        backoff: Backoff = DEFAULT_BACKOFF,
        max_pages: int = DEFAULT_MAX_PAGES,
        on_request: Callable[[RequestRecord], None] | None = None,
        on_empty: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
        on_walk: Callable[[Walk[object]], None] | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key or any(c.isspace() for c in api_key):
            raise ValueError(
                "api_key is empty or contains whitespace: set MASSIVE_API_KEY to the key "
                "shown on the massive.com dashboard"
            )
        url = httpx.URL(base_url)
        if url.query or url.userinfo:
            raise ValueError(
                "base_url must not carry a query or credentials: the key is sent "
                "in the Authorization header; pass the bare API root"
            )
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL, not {base_url!r}")
        if not timeout_s > 0 or max_retries < 0 or max_pages < 1:
            raise ValueError(
                f"need timeout_s > 0, max_retries >= 0 and max_pages >= 1, got "
                f"{timeout_s!r}, {max_retries!r}, {max_pages!r}"
            )
        self._requests = Requester(
            api_key,
            base_url.rstrip("/"),
            transport=transport,
            budget=budget if budget is not None else RequestBudget.for_plan("paid"),
            timeout_s=timeout_s,
            max_retries=max_retries,
            backoff=backoff,
            max_pages=max_pages,
            on_request=on_request,
            on_empty=on_empty,
            rng=rng,
            on_walk=on_walk,
        )
        self._walk = self._requests.walk
        self._one = self._requests.one

    def walk_stops(self) -> dict[str, dict[str, int]]:
        """Walks that ended early, ``{endpoint: {"looped": n, "page_cap": n}}`` (for diag)."""
        out: dict[str, dict[str, int]] = {}
        for (endpoint, reason), n in sorted(self._requests.walk_stops.items()):
            out.setdefault(endpoint, {})[reason] = n
        return out

    def __repr__(self) -> str:
        r = self._requests
        b = r.budget
        return (
            f"MassiveClient(base_url={r.base_url!r}, state={r.state}, "
            f"max_retries={r.max_retries}, budget={b.per_minute:g}/min burst {b.burst} "
            f"concurrency {b.concurrency})"
        )

    async def __aenter__(self) -> MassiveClient:
        self._requests.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._requests.aclose()

    # -- endpoints ---------------------------------------------------------------------------

    async def aggregates(
        self,
        ticker: str,
        multiplier: int,
        timespan: str,
        start: str | int,
        end: str | int,
        *,
        limit: int = _AGGS_MAX_LIMIT,
        sort: str = "asc",
    ) -> Aggregates:
        """Bars from ``start`` to ``end`` (``YYYY-MM-DD`` or Unix ms, both inclusive), every
        page concatenated. ``limit`` caps *base* bars per page (upstream's rule, max 50,000)."""
        if multiplier < 1 or timespan not in _TIMESPANS or sort not in ("asc", "desc"):
            raise ValueError(
                f"need multiplier >= 1, timespan in {sorted(_TIMESPANS)} and sort asc|desc, "
                f"got {multiplier!r}, {timespan!r}, {sort!r}"
            )
        if not 1 <= limit <= _AGGS_MAX_LIMIT:
            raise ValueError(f"limit must be within 1..{_AGGS_MAX_LIMIT}, not {limit!r}")
        for bound in (start, end):
            if isinstance(bound, bool) or not _DATE_OR_MS.fullmatch(str(bound)):
                raise ValueError(f"start/end must be YYYY-MM-DD or Unix ms, not {bound!r}")
        symbol = market_ticker(ticker)
        path = (
            f"/v2/aggs/ticker/{path_segment(symbol)}/range/{multiplier}/{timespan}/"
            f"{path_segment(start)}/{path_segment(end)}"
        )
        decode = envelope(lambda raw, at, _: AggBar.parse(raw, at))
        params = {"limit": str(limit), "sort": sort}
        walk = await self._walk("aggs", path, params, decode, lambda b: b.t_ms)
        return Aggregates(
            ticker=symbol,
            bars=walk.items,
            delayed=walk.delayed,
            looped=walk.looped,
            partial=walk.partial,
        )

    async def last_trade(self, ticker: str) -> LastTrade | None:
        """The latest trade of a stock or option; None when upstream has none (404)."""
        path = f"/v2/last/trade/{path_segment(self._not_index(ticker, 'trades'))}"
        decode = envelope(lambda raw, at, _: LastTrade.parse(raw, at), single=True)
        return await self._one("last_trade", path, decode)

    async def last_nbbo(self, ticker: str) -> LastQuote | None:
        """The latest NBBO of a stock; None when upstream has none (404)."""
        path = f"/v2/last/nbbo/{path_segment(self._not_index(ticker, 'quotes'))}"
        decode = envelope(lambda raw, at, _: LastQuote.parse(raw, at), single=True)
        return await self._one("last_nbbo", path, decode)

    async def market_status(self) -> MarketStatus:
        status = await self._one("market_status", "/v1/marketstatus/now", flat(MarketStatus.parse))
        if status is None:
            raise MassiveDataError(
                "Massive market_status answered 404 / NOT_FOUND; it serves every plan, so "
                "check base_url",
                endpoint="market_status",
                status=404,
            )
        return status

    async def upcoming_holidays(self) -> list[MarketHoliday]:
        """Upcoming closed and early-close days (``status == "early-close"``: 13:00 ET)."""

        def decode(body: object) -> Page[MarketHoliday]:
            return Page(parse_items(body, MarketHoliday.parse, path=""), None, False)

        walk = await self._walk("holidays", "/v1/marketstatus/upcoming", None, decode)
        return walk.items

    async def options_contracts(
        self, underlying: str, **filters: FilterValue
    ) -> list[OptionContract]:
        """Every contract on ``underlying`` (bare or ``I:``-prefixed), all pages.
        ``filters`` are query parameters; ``strike_price_gte=5900`` is sent as
        ``strike_price.gte=5900`` (also ``_gt``, ``_lt``, ``_lte``, ``_any_of``)."""
        params = filter_params(filters, _RESERVED_PARAMS | {"underlying_ticker"})
        params |= {
            "underlying_ticker": reference_ticker(underlying),
            "limit": str(_CONTRACTS_LIMIT),
        }
        decode = envelope(lambda raw, at, _: OptionContract.parse(raw, at))
        walk = await self._walk(
            "options_contracts", "/v3/reference/options/contracts", params, decode, _ticker
        )
        return walk.items

    async def options_chain(self, underlying: str, **filters: FilterValue) -> list[OptionSnapshot]:
        """The chain snapshot of ``underlying``, every page (``filters`` as in
        ``options_contracts``, e.g. ``expiration_date="2025-12-19"``)."""
        return (await self.options_chain_walk(underlying, **filters)).items

    async def options_chain_walk(
        self, underlying: str, **filters: FilterValue
    ) -> Walk[OptionSnapshot]:
        """``options_chain`` with how the walk ended: ``looped`` (a repeated cursor, contracts
        kept once each) or ``partial`` (the page cap)."""
        params = filter_params(filters, _RESERVED_PARAMS) | {"limit": str(_CHAIN_LIMIT)}
        path = f"/v3/snapshot/options/{path_segment(market_ticker(underlying))}"
        decode = envelope(lambda raw, at, delayed: parse_option_snapshot(raw, at, delayed=delayed))
        return await self._walk("options_chain", path, params, decode, _ticker)

    async def option_contract(self, underlying: str, contract: str) -> OptionSnapshot | None:
        """One contract's snapshot (``O:`` is added to ``contract`` if missing); None if unknown."""
        contract = contract if contract.startswith("O:") else "O:" + contract
        chain = path_segment(market_ticker(underlying))
        path = f"/v3/snapshot/options/{chain}/{path_segment(contract)}"
        decode = envelope(
            lambda raw, at, delayed: parse_option_snapshot(raw, at, delayed=delayed), single=True
        )
        return await self._one("option_contract", path, decode)

    async def indices_snapshot(self, tickers: Sequence[str]) -> list[IndexValue]:
        """Current index values, in upstream's order. Every ticker is an index here, so ``SPX``
        is sent as ``I:SPX``. Per-ticker failures come back as ``IndexValue(error=...)``."""
        symbols = list(dict.fromkeys(t if t.startswith("I:") else "I:" + t for t in tickers))
        values: list[IndexValue] = []
        decode = envelope(lambda raw, at, delayed: IndexValue.parse(raw, at, delayed=delayed))
        for i in range(0, len(symbols), _INDICES_LIMIT):  # upstream takes <= 250 per call
            chunk = ",".join(symbols[i : i + _INDICES_LIMIT])
            params = {"ticker.any_of": chunk, "limit": str(_INDICES_LIMIT)}
            walk = await self._walk("indices", "/v3/snapshot/indices", params, decode, _ticker)
            values += walk.items
        return values

    # -- rules ---------------------------------------------------------------------------------

    @staticmethod
    def _not_index(ticker: str, what: str) -> str:
        if is_index_underlying(ticker):
            raise ValueError(
                f"{ticker!r} is an index: indices have no {what}; use indices_snapshot "
                "(or aggregates) for index values"
            )
        return ticker


def _ticker(item: Any) -> str:
    """What identifies a contract, a snapshot or an index value across pages."""
    return str(item.ticker)
