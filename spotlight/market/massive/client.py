"""Async Massive (ex-Polygon.io) REST client on httpx, run under Trio: one method per endpoint.

Layers, one concern each (as httpx's own ``send`` chain):
endpoint method (builds the path, applies the ticker rules) -> ``_walk`` (follows ``next_url``
via ``pagination.collect_pages``) -> ``_fetch`` (retries with backoff, one ``RequestRecord``
per attempt) -> ``_attempt`` (budget slot, HTTP GET, status mapping, JSON decode, parse).

Error handling: every failure surfaces as a ``MassiveError`` subclass (see ``errors``);
404 / ``NOT_FOUND`` is "no data" (None or []). 429, 413, 499, 5xx, timeouts and connection
errors are retried up to ``max_retries`` times with capped, jittered backoff (429 honours
``Retry-After`` seconds, up to ``MAX_RETRY_AFTER_S``); 401, 403, other 4xx and bad data are
raised at once.

Ticker rules (Massive's, applied here so callers need not care): index underlyings are SPX,
NDX, RUT, VIX, XSP and anything written ``I:...``. Market-data paths take the prefixed form
(``/v3/snapshot/options/I:SPX``, ``/v2/aggs/ticker/I:SPX/...``); reference queries take the
bare form (``underlying_ticker=SPX``). Indices have no trades or quotes.

Secrets: the key travels only in the ``Authorization: Bearer`` header; it is never put in a
URL, a repr, a log line or an exception message (upstream text is scrubbed of it).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Final, TypeVar
from urllib.parse import quote

import httpx
import orjson
import trio

from spotlight import __version__
from spotlight.market.massive.budget import RequestBudget
from spotlight.market.massive.errors import (
    MassiveDataError,
    MassiveError,
    MassiveRateLimitedError,
    MassiveTransportError,
    error_for_body_status,
    error_for_exception,
    error_for_status,
    is_retryable,
)
from spotlight.market.massive.models import (
    AggBar,
    Aggregates,
    Envelope,
    IndexValue,
    LastQuote,
    LastTrade,
    MarketHoliday,
    MarketStatus,
    OptionContract,
    OptionSnapshot,
    parse_items,
)
from spotlight.market.massive.pagination import DEFAULT_MAX_PAGES, Page, collect_pages
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

T = TypeVar("T")
FilterValue = str | int | float

DEFAULT_BASE_URL: Final = "https://api.massive.com"
# The official client retries 3 times; starting at 0.5 s and capping at 30 s rides out a
# few-second upstream blip without stalling a 1-2 s poller for minutes.
DEFAULT_BACKOFF: Final = Backoff(base_s=0.5, factor=2, cap_s=30, jitter=0.5)
INDEX_UNDERLYINGS: Final = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP"})
# A Retry-After beyond this is not waited out inside one call: a poller would sit blind for
# that long. The call raises MassiveRateLimitedError(retry_after_s=...) so its caller schedules.
MAX_RETRY_AFTER_S: Final = 120.0
# Page sizes are each endpoint's documented maximum: fewer round trips against the budget.
_CONTRACTS_LIMIT, _CHAIN_LIMIT, _INDICES_LIMIT, _AGGS_MAX_LIMIT = 1000, 250, 250, 50_000
_TIMESPANS = frozenset({"second", "minute", "hour", "day", "week", "month", "quarter", "year"})
_MODIFIERS = ("_any_of", "_gte", "_lte", "_gt", "_lt")  # strike_price_gte -> strike_price.gte
_RESERVED_PARAMS = frozenset({"limit", "cursor", "apiKey"})
_DATE_OR_MS = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,16}")


def is_index_underlying(ticker: str) -> bool:
    """True for index underlyings: ``I:`` anything, or a bare SPX, NDX, RUT, VIX or XSP."""
    return ticker.startswith("I:") or ticker in INDEX_UNDERLYINGS


def market_ticker(ticker: str) -> str:
    """The form market-data endpoints want: ``SPX`` -> ``I:SPX``; others unchanged."""
    return "I:" + ticker if ticker in INDEX_UNDERLYINGS else ticker


def reference_ticker(ticker: str) -> str:
    """The form reference endpoints want: ``I:SPX`` -> ``SPX``; others unchanged."""
    return ticker.removeprefix("I:")


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One HTTP attempt, for metrics. ``status`` is None when no response came back;
    ``latency_s`` excludes the time spent waiting for the request budget; ``attempt`` counts
    from 1; ``outcome`` is "ok", "empty" (404, NOT_FOUND or no results), "retry" (a failure
    that will be retried) or "error" (a failure raised to the caller)."""

    endpoint: str
    status: int | None
    latency_s: float
    attempt: int
    outcome: str


Decode = Callable[[object], Page[T]]  # decoded JSON body -> one page, or MassiveDataError


def _envelope(parse: Callable[[object, str, bool], T], *, single: bool = False) -> Decode[T]:
    """Decoder for ``{status, results, next_url}`` bodies; ``single`` when results is one object."""

    def decode(body: object) -> Page[T]:
        env = Envelope.parse(body)
        if single:
            items = [] if env.results is None else [parse(env.results, "results", env.delayed)]
        else:
            items = parse_items(env.results, lambda raw, path: parse(raw, path, env.delayed))
        return Page(items, env.next_url, env.delayed)

    return decode


def _param(name: str, value: FilterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"filter {name} must be finite, not {value!r}")
    return str(value)


def _filter_params(filters: dict[str, FilterValue], reserved: frozenset[str]) -> dict[str, str]:
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


def _segment(value: str | int) -> str:
    """One URL path segment; ``/`` and ``?`` are escaped so a ticker cannot change the path."""
    text = str(value)
    if not text:
        raise ValueError("tickers and contracts must be non-empty strings")
    return quote(text, safe=":")


def _retry_after_s(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return None  # an HTTP-date: rare here, and our own backoff is a fine substitute
    return value if math.isfinite(value) and value >= 0 else None


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
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._transport = transport
        self._budget = budget if budget is not None else RequestBudget.for_plan("paid")
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._backoff = backoff
        self._max_pages = max_pages
        self._on_request = on_request
        self._on_empty = on_empty
        self._rng = rng
        self._http: httpx.AsyncClient | None = None
        self._state = "unopened"  # -> "open" -> "closed"; never reopened

    def __repr__(self) -> str:
        b = self._budget
        return (
            f"MassiveClient(base_url={self._base_url!r}, state={self._state}, "
            f"max_retries={self._max_retries}, budget={b.per_minute:g}/min burst {b.burst} "
            f"concurrency {b.concurrency})"
        )

    async def __aenter__(self) -> MassiveClient:
        if self._state != "unopened":
            raise RuntimeError(
                f"MassiveClient is {self._state}: a client is entered once; "
                "create a new MassiveClient instead"
            )
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            transport=self._transport,
            timeout=self._timeout_s,
            follow_redirects=False,  # a redirect must not carry the key elsewhere
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
                "User-Agent": f"spotlight/{__version__}",
            },
        )
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._state = "closed"
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

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
            f"/v2/aggs/ticker/{_segment(symbol)}/range/{multiplier}/{timespan}/"
            f"{_segment(start)}/{_segment(end)}"
        )
        decode = _envelope(lambda raw, at, _: AggBar.parse(raw, at))
        bars, delayed = await self._walk("aggs", path, {"limit": str(limit), "sort": sort}, decode)
        return Aggregates(ticker=symbol, bars=bars, delayed=delayed)

    async def last_trade(self, ticker: str) -> LastTrade | None:
        """The latest trade of a stock or option; None when upstream has none (404)."""
        path = f"/v2/last/trade/{_segment(self._not_index(ticker, 'trades'))}"
        decode = _envelope(lambda raw, at, _: LastTrade.parse(raw, at), single=True)
        return await self._one("last_trade", path, decode)

    async def last_nbbo(self, ticker: str) -> LastQuote | None:
        """The latest NBBO of a stock; None when upstream has none (404)."""
        path = f"/v2/last/nbbo/{_segment(self._not_index(ticker, 'quotes'))}"
        decode = _envelope(lambda raw, at, _: LastQuote.parse(raw, at), single=True)
        return await self._one("last_nbbo", path, decode)

    async def market_status(self) -> MarketStatus:
        status = await self._one("market_status", "/v1/marketstatus/now", _flat(MarketStatus.parse))
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

        holidays, _ = await self._walk("holidays", "/v1/marketstatus/upcoming", None, decode)
        return holidays

    async def options_contracts(
        self, underlying: str, **filters: FilterValue
    ) -> list[OptionContract]:
        """Every contract on ``underlying`` (bare or ``I:``-prefixed), all pages.
        ``filters`` are query parameters; ``strike_price_gte=5900`` is sent as
        ``strike_price.gte=5900`` (also ``_gt``, ``_lt``, ``_lte``, ``_any_of``)."""
        params = _filter_params(filters, _RESERVED_PARAMS | {"underlying_ticker"})
        params |= {
            "underlying_ticker": reference_ticker(underlying),
            "limit": str(_CONTRACTS_LIMIT),
        }
        decode = _envelope(lambda raw, at, _: OptionContract.parse(raw, at))
        contracts, _ = await self._walk(
            "options_contracts", "/v3/reference/options/contracts", params, decode
        )
        return contracts

    async def options_chain(self, underlying: str, **filters: FilterValue) -> list[OptionSnapshot]:
        """The chain snapshot of ``underlying``, every page (``filters`` as in
        ``options_contracts``, e.g. ``expiration_date="2025-12-19"``)."""
        params = _filter_params(filters, _RESERVED_PARAMS) | {"limit": str(_CHAIN_LIMIT)}
        path = f"/v3/snapshot/options/{_segment(market_ticker(underlying))}"
        decode = _envelope(lambda raw, at, delayed: OptionSnapshot.parse(raw, at, delayed=delayed))
        chain, _ = await self._walk("options_chain", path, params, decode)
        return chain

    async def option_contract(self, underlying: str, contract: str) -> OptionSnapshot | None:
        """One contract's snapshot (``O:`` is added to ``contract`` if missing); None if unknown."""
        contract = contract if contract.startswith("O:") else "O:" + contract
        path = f"/v3/snapshot/options/{_segment(market_ticker(underlying))}/{_segment(contract)}"
        decode = _envelope(
            lambda raw, at, delayed: OptionSnapshot.parse(raw, at, delayed=delayed), single=True
        )
        return await self._one("option_contract", path, decode)

    async def indices_snapshot(self, tickers: Sequence[str]) -> list[IndexValue]:
        """Current index values, in upstream's order. Every ticker is an index here, so ``SPX``
        is sent as ``I:SPX``. Per-ticker failures come back as ``IndexValue(error=...)``."""
        symbols = list(dict.fromkeys(t if t.startswith("I:") else "I:" + t for t in tickers))
        values: list[IndexValue] = []
        decode = _envelope(lambda raw, at, delayed: IndexValue.parse(raw, at, delayed=delayed))
        for i in range(0, len(symbols), _INDICES_LIMIT):  # upstream takes <= 250 per call
            chunk = ",".join(symbols[i : i + _INDICES_LIMIT])
            params = {"ticker.any_of": chunk, "limit": str(_INDICES_LIMIT)}
            page, _ = await self._walk("indices", "/v3/snapshot/indices", params, decode)
            values += page
        return values

    # -- machinery ---------------------------------------------------------------------------

    @staticmethod
    def _not_index(ticker: str, what: str) -> str:
        if is_index_underlying(ticker):
            raise ValueError(
                f"{ticker!r} is an index: indices have no {what}; use indices_snapshot "
                "(or aggregates) for index values"
            )
        return ticker

    async def _one(self, endpoint: str, path: str, decode: Decode[T]) -> T | None:
        page = await self._fetch(endpoint, path, params=None, decode=decode)
        return page.items[0] if page is not None and page.items else None

    async def _walk(
        self, endpoint: str, path: str, params: dict[str, str] | None, decode: Decode[T]
    ) -> tuple[list[T], bool]:
        """Every page's items concatenated, and whether any page was delayed."""
        first = await self._fetch(endpoint, path, params=params, decode=decode)
        # A next_url's cursor carries the original filters: follow it with no other params.
        follow = partial(self._fetch, endpoint, params=None, decode=decode)
        return await collect_pages(endpoint, self._base_url, first, follow, self._max_pages)

    async def _fetch(
        self, endpoint: str, url: str, *, params: dict[str, str] | None, decode: Decode[T]
    ) -> Page[T] | None:
        """One page with retries. None means "no data" (404 or NOT_FOUND)."""
        http = self._open_http()
        for attempt in range(1, self._max_retries + 2):
            started = 0.0  # set once the budget lets us go: latency excludes budget waits
            try:
                async with self._budget.slot():
                    started = trio.current_time()
                    status, page = await self._attempt(http, endpoint, url, params, decode)
            except MassiveError as error:
                latency = trio.current_time() - started
                delay = self._retry_delay(error, attempt)
                outcome = "error" if delay is None else "retry"
                self._record(endpoint, error.status, latency, attempt, outcome)
                if delay is None:
                    self._scrub(error)
                    error.add_note(f"gave up on attempt {attempt} of {self._max_retries + 1}")
                    raise
                await trio.sleep(delay)
                continue
            empty = page is None or not page.items
            latency = trio.current_time() - started
            self._record(endpoint, status, latency, attempt, "empty" if empty else "ok")
            if empty and self._on_empty is not None:
                self._on_empty(endpoint)
            return page
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_delay(self, error: MassiveError, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None to give up now."""
        if not is_retryable(error) or attempt > self._max_retries:
            return None
        if isinstance(error, MassiveRateLimitedError) and error.retry_after_s is not None:
            return error.retry_after_s if error.retry_after_s <= MAX_RETRY_AFTER_S else None
        return self._backoff.delay(attempt - 1, self._rng)

    def _record(
        self, endpoint: str, status: int | None, latency: float, attempt: int, outcome: str
    ) -> None:
        if self._on_request is not None:
            self._on_request(RequestRecord(endpoint, status, latency, attempt, outcome))

    async def _attempt(
        self,
        http: httpx.AsyncClient,
        endpoint: str,
        url: str,
        params: dict[str, str] | None,
        decode: Decode[T],
    ) -> tuple[int, Page[T] | None]:
        """One GET, mapped: (HTTP status, a page or None for no data), or a MassiveError."""
        response: httpx.Response | None = None
        try:
            # httpx's timeout bounds each phase; this bounds the whole exchange (a slow drip).
            with trio.move_on_after(self._timeout_s):
                response = await http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise error_for_exception(endpoint, exc) from exc
        if response is None:
            raise MassiveTransportError(
                f"Massive {endpoint} request took over {self._timeout_s:g} s in total; "
                "upstream is slow, retry later or raise timeout_s",
                endpoint=endpoint,
            )
        status = response.status_code
        if status == 404:
            return status, None
        if not 200 <= status < 300:
            retry_after = _retry_after_s(response) if status == 429 else None
            raise error_for_status(
                endpoint, status, self._detail(response), retry_after_s=retry_after
            )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise MassiveDataError(
                f"Massive {endpoint} answered HTTP {status} with a body that is not JSON "
                f"({exc}; starts {response.content[:40]!r}); upstream fault, counted",
                endpoint=endpoint,
                status=status,
            ) from exc
        if isinstance(body, dict):
            body_status = body.get("status")
            if body_status == "NOT_FOUND":
                return status, None
            if body_status in ("ERROR", "NOT_AUTHORIZED"):
                detail = self._redact(_error_text(body))
                raise error_for_body_status(endpoint, body_status, detail)
        try:
            return status, decode(body)
        except MassiveDataError as exc:
            raise MassiveDataError(
                f"Massive {endpoint} answered an unexpected body: {exc}; upstream fault, counted",
                endpoint=endpoint,
                status=status,
            ) from exc

    def _detail(self, response: httpx.Response) -> str | None:
        """Upstream's error text: JSON ``error``/``message``, else the start of the body."""
        try:
            detail = _error_text(orjson.loads(response.content))
        except orjson.JSONDecodeError:
            detail = " ".join(response.text.split())[:200] or None  # HTML from a proxy, say
        return self._redact(detail)

    def _redact(self, text: str | None) -> str | None:
        return None if text is None else text.replace(self._api_key, "<redacted>")

    def _scrub(self, error: MassiveError) -> None:
        if any(self._api_key in str(arg) for arg in error.args):
            error.args = tuple(str(arg).replace(self._api_key, "<redacted>") for arg in error.args)

    def _open_http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError(
                f"MassiveClient is {self._state}: use it inside "
                "`async with MassiveClient(...) as client:`"
            )
        return self._http


def _error_text(body: object) -> str | None:
    """``error`` and/or ``message`` (the field name varies by endpoint and status)."""
    if not isinstance(body, dict):
        return None
    parts = [body.get(k) for k in ("error", "message")]
    return ": ".join(dict.fromkeys(p for p in parts if isinstance(p, str) and p)) or None


def _flat(parse: Callable[[object, str], T]) -> Decode[T]:
    """Decoder for bodies that are the object itself (``/v1/marketstatus/now``)."""
    return lambda body: Page([parse(body, "")], None, False)
