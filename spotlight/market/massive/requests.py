"""The request and retry layer under the Massive client: one page per call, with the
budget, retries, timeouts, status mapping and per-attempt records (httpx under Trio).

``fetch`` -> ``_attempt`` (budget slot, HTTP GET, status mapping, JSON decode, parse), and
``walk`` follows ``next_url`` via ``pagination.collect_pages``.

Error handling: every failure surfaces as a ``MassiveError`` subclass (see ``errors``);
404 / ``NOT_FOUND`` is "no data" (None). 429, 413, 499, 5xx, timeouts and connection errors
are retried up to ``max_retries`` times with capped, jittered backoff (429 honours
``Retry-After`` seconds, up to ``MAX_RETRY_AFTER_S``); 401, 403, other 4xx and bad data are
raised at once.

Secrets: the key travels only in the ``Authorization: Bearer`` header; it is never put in a
URL, a repr, a log line or an exception message (upstream text is scrubbed of it).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Final, TypeVar

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
from spotlight.market.massive.models import Envelope, parse_items
from spotlight.market.massive.pagination import Page, Walk, collect_pages
from spotlight.market.massive.request_log import RequestLog
from spotlight.runtime.backoff import Backoff

__all__ = [
    "DEFAULT_BACKOFF",
    "MAX_RETRY_AFTER_S",
    "Decode",
    "RequestRecord",
    "Requester",
    "envelope",
    "flat",
]

T = TypeVar("T")

# The official client retries 3 times; starting at 0.5 s and capping at 30 s rides out a
# few-second upstream blip without stalling a 1-2 s poller for minutes.
DEFAULT_BACKOFF: Final = Backoff(base_s=0.5, factor=2, cap_s=30, jitter=0.5)
# A Retry-After beyond this is not waited out inside one call: a poller would sit blind for
# that long. The call raises MassiveRateLimitedError(retry_after_s=...) so its caller schedules.
MAX_RETRY_AFTER_S: Final = 120.0


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


def envelope(parse: Callable[[object, str, bool], T], *, single: bool = False) -> Decode[T]:
    """Decoder for ``{status, results, next_url}`` bodies; ``single`` when results is one object."""

    def decode(body: object) -> Page[T]:
        env = Envelope.parse(body)
        if single:
            items = [] if env.results is None else [parse(env.results, "results", env.delayed)]
        else:
            items = parse_items(env.results, lambda raw, path: parse(raw, path, env.delayed))
        return Page(items, env.next_url, env.delayed)

    return decode


def _retry_after_s(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        value = float(raw) if raw is not None else math.nan
    except ValueError:
        return None  # an HTTP-date: rare here, and our own backoff is a fine substitute
    return value if math.isfinite(value) and value >= 0 else None


class Requester:
    """Owns one ``httpx.AsyncClient`` for one key: ``open()`` once, ``aclose()`` once.

    ``on_request`` gets a ``RequestRecord`` per HTTP attempt; ``on_empty(endpoint)`` is
    called once per upstream answer that carried no data. Each attempt is also logged at
    DEBUG and summed up at INFO once a minute (``request_log.py``).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None,
        budget: RequestBudget,
        timeout_s: float,
        max_retries: int,
        backoff: Backoff,
        max_pages: int,
        on_request: Callable[[RequestRecord], None] | None,
        on_empty: Callable[[str], None] | None,
        rng: random.Random | None,
        on_walk: Callable[[Walk[object]], None] | None = None,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self._transport = transport
        self.budget = budget
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._backoff = backoff
        self._max_pages = max_pages
        self._on_request = on_request
        self._on_empty = on_empty
        self._on_walk = on_walk
        self._rng = rng
        # Walks that stopped early, {(endpoint, "looped" | "page_cap"): count}, for diag.
        self.walk_stops: dict[tuple[str, str], int] = {}
        self._log = RequestLog()
        self._http: httpx.AsyncClient | None = None
        self.state = "unopened"  # -> "open" -> "closed"; never reopened

    def open(self) -> None:
        if self.state != "unopened":
            raise RuntimeError(
                f"MassiveClient is {self.state}: a client is entered once; "
                "create a new MassiveClient instead"
            )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=self._transport,
            timeout=self.timeout_s,
            follow_redirects=False,  # a redirect must not carry the key elsewhere
            headers={
                "Authorization": f"Bearer {self._api_key}",
                "Accept": "application/json",
                "Accept-Encoding": "gzip",
                "User-Agent": f"spotlight/{__version__}",
            },
        )
        self.state = "open"

    async def aclose(self) -> None:
        self.state = "closed"
        self._log.summarize(trio.current_time())
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    async def one(self, endpoint: str, path: str, decode: Decode[T]) -> T | None:
        """The first item of a single-page answer, or None for no data."""
        page = await self.fetch(endpoint, path, params=None, decode=decode)
        return page.items[0] if page is not None and page.items else None

    async def walk(
        self,
        endpoint: str,
        path: str,
        params: dict[str, str] | None,
        decode: Decode[T],
        key: Callable[[T], Hashable] | None = None,
    ) -> Walk[T]:
        """Every page's items concatenated (``pagination.collect_pages``: a looping cursor
        ends the walk with the de-duplicated items, the page cap with a partial one)."""
        first = await self.fetch(endpoint, path, params=params, decode=decode)
        # A next_url's cursor carries the original filters: follow it with no other params.
        follow = partial(self.fetch, endpoint, params=None, decode=decode)
        walk = await collect_pages(endpoint, self.base_url, first, follow, self._max_pages, key=key)
        if walk.looped or walk.partial:
            reason = "looped" if walk.looped else "page_cap"
            self.walk_stops[(endpoint, reason)] = self.walk_stops.get((endpoint, reason), 0) + 1
            if self._on_walk is not None:
                self._on_walk(walk)  # type: ignore[arg-type]
        return walk

    async def fetch(
        self, endpoint: str, url: str, *, params: dict[str, str] | None, decode: Decode[T]
    ) -> Page[T] | None:
        """One page with retries. None means "no data" (404 or NOT_FOUND)."""
        http = self._open_http()
        for attempt in range(1, self.max_retries + 2):
            started = 0.0  # set once the budget lets us go: latency excludes budget waits
            try:
                async with self.budget.slot():
                    started = trio.current_time()
                    status, page = await self._attempt(http, endpoint, url, params, decode)
            except MassiveError as error:
                latency = trio.current_time() - started
                delay = self._retry_delay(error, attempt)
                outcome = "error" if delay is None else "retry"
                self._record(endpoint, error.status, latency, attempt, outcome)
                if delay is None:
                    self._scrub(error)
                    error.add_note(f"gave up on attempt {attempt} of {self.max_retries + 1}")
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
        if not is_retryable(error) or attempt > self.max_retries:
            return None
        if isinstance(error, MassiveRateLimitedError) and error.retry_after_s is not None:
            return error.retry_after_s if error.retry_after_s <= MAX_RETRY_AFTER_S else None
        return self._backoff.delay(attempt - 1, self._rng)

    def _record(
        self, endpoint: str, status: int | None, latency: float, attempt: int, outcome: str
    ) -> None:
        record = RequestRecord(endpoint, status, latency, attempt, outcome)
        self._log.observe(record, trio.current_time())
        if self._on_request is not None:
            self._on_request(record)

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
            with trio.move_on_after(self.timeout_s):
                response = await http.get(url, params=params)
        except httpx.HTTPError as exc:
            raise error_for_exception(endpoint, exc) from exc
        if response is None:
            raise MassiveTransportError(
                f"Massive {endpoint} request took over {self.timeout_s:g} s in total; "
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
                f"MassiveClient is {self.state}: use it inside "
                "`async with MassiveClient(...) as client:`"
            )
        return self._http


def _error_text(body: object) -> str | None:
    """``error`` and/or ``message`` (the field name varies by endpoint and status)."""
    if not isinstance(body, dict):
        return None
    parts = [body.get(k) for k in ("error", "message")]
    return ": ".join(dict.fromkeys(p for p in parts if isinstance(p, str) and p)) or None


def flat(parse: Callable[[object, str], T]) -> Decode[T]:
    """Decoder for bodies that are the object itself (``/v1/marketstatus/now``)."""
    return lambda body: Page([parse(body, "")], None, False)
