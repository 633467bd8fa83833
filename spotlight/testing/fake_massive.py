"""A fake Massive (ex-Polygon) REST server for tests and demos, with fault injection.

It speaks the wire format of docs/upstream/massive-api.md (paths, fields, units, error
bodies, ``next_url`` pagination) over real HTTP, on data from the seeded market simulator
(market/simulated_tape.py and market/simulated_options.py, rendered as Massive's JSON by
fake_massive_data.py), so every endpoint agrees with every other: the ``I:SPX`` index value is
the close of the last 1-minute ``I:SPX`` aggregate and the chain's ``underlying_asset.value``.

    fake = create_fake_massive(api_key="k", seed=7, clock=lambda: now_ms)
    fake.faults.add("options_chain", "rate_limit", times=2, retry_after=1)
    await nursery.start(hypercorn.trio.serve, fake.app, config)

Without a socket (tests on virtual time): ``httpx.MockTransport(fake.handle)`` serves the same
endpoints, faults and replies to an httpx client (``MassiveClient(..., transport=...)``).

Faults (``FaultPlan.add(endpoint, kind, *, times=1, **params)``), per endpoint name or
``"*"``; ``times=None`` lasts until ``clear()``. Each request consumes every matching
``latency`` fault (the delays add up) and then the first other matching fault, in the order
they were added. Requests that fail authentication consume nothing.

======================  ==========================================================
kind                    effect (params)
======================  ==========================================================
``latency``             sleep ``seconds`` (default 1.0) first, then answer normally
``status``              HTTP ``code`` (default 500); ``body`` ``html`` / ``empty`` /
                        ``json`` (default html for 502-504, empty otherwise)
``rate_limit``          429; ``retry_after`` (int seconds) sets Retry-After;
                        ``body`` ``json`` (default, the real message) or ``empty``
``unauthorized``        401 ``{"status":"ERROR","error":"Unknown API Key"}``
``forbidden``           403 ``NOT_AUTHORIZED``, "not entitled" (``message`` overrides)
``not_found``           404 ``NOT_FOUND``, "Data not found." (``message`` overrides)
``empty``               200 OK, ``results`` ``[]`` (``{}`` on single-object endpoints),
                        counts 0, no next_url; market status ``{}``, holidays ``[]``
``missing_results``     200 OK without a ``results`` key, counts 0; market status
                        ``{}``, holidays ``null``
``malformed``           200 ``application/json`` whose body is truncated (not JSON)
``delayed``             200, real data, ``status: "DELAYED"`` and ``timeframe:
                        "DELAYED"`` in snapshot items (no-op on market status/holidays)
``error_in_200``        200 ``{"status":"NOT_AUTHORIZED","message":...}`` (``status``,
                        ``message`` override)
``loop_next_url``       real data with a ``next_url`` that leads back to this same page
                        (aggs, options_contracts, options_chain, indices; no-op elsewhere)
======================  ==========================================================

Control API (``control=True``): ``POST /__fake/faults`` with JSON
``{"endpoint", "kind", "times", "params"}`` (``times`` absent: 1; ``null``: until cleared),
``DELETE /__fake/faults``, ``GET /__fake/faults``, ``GET /__fake/stats``. It needs no key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import signal
import time
from bisect import bisect_left, bisect_right
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from http import HTTPStatus
from random import Random
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import orjson
import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from spotlight.domain.nytime import ny_date, ny_midnight_ms
from spotlight.market.massive.endpoints import ENDPOINTS
from spotlight.market.simulated_options import Contract, OptionBook
from spotlight.market.simulated_tape import MarketData, Row
from spotlight.testing.fake_faults import FAULT_KINDS, Fault, FaultPlan
from spotlight.testing.fake_massive_data import (
    INDEX_NAMES,
    STOCKS,
    aggregate,
    bucket_fn,
    contract_reference,
    cut_page,
    filter_contracts,
    index_market_status,
    market_status,
    snapshot_json,
    upcoming_holidays,
)

__all__ = [
    "ENDPOINTS",
    "FAULT_KINDS",
    "FakeMassive",
    "Fault",
    "FaultPlan",
    "RequestLog",
    "create_fake_massive",
    "run_fake_massive",
]


_NOT_ENTITLED = (
    "You are not entitled to this data. Please upgrade your plan at https://massive.com/pricing"
)
_RATE_LIMITED = (
    "You've exceeded the maximum requests per minute, please wait or upgrade your "
    "subscription to continue."
)
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_OCC_RE = re.compile(r"O:([A-Z]{1,6})(\d{6})([CP])(\d{8})")
_OPS = ("gt", "gte", "lt", "lte")
_MS_NS = 1_000_000

# ---------------------------------------------------------------------------------------
# Replies


@dataclass(frozen=True, slots=True)
class RequestLog:
    endpoint: str
    path: str
    query: dict[str, str]
    status: int


@dataclass
class _Reply:
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        data = self.body if isinstance(self.body, bytes) else orjson.dumps(self.body)
        return Response(
            data, status=self.status, content_type=self.content_type, headers=self.headers
        )


class _BadRequest(Exception):
    pass


class _NotFound(Exception):
    pass


@dataclass
class _Ctx:
    """What a builder needs: path args, effective query, flags set by faults."""

    args: dict[str, str]
    query: dict[str, str]
    path: str
    base_url: str
    now_ms: int
    request_id: str
    delayed: bool = False
    loop: bool = False


Builder = Callable[[_Ctx], _Reply]


def _encode_cursor(params: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(urlencode(params).encode()).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return dict(parse_qsl(raw, keep_blank_values=True, strict_parsing=bool(raw)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _BadRequest("invalid cursor") from None


def _effective_query(query: dict[str, str]) -> dict[str, str]:
    """The request's filters, or the ones its cursor carries (the rest is ignored)."""
    cursor = query.get("cursor")
    if cursor is not None:
        return _decode_cursor(cursor)
    return {k: v for k, v in query.items() if k != "apiKey"}


def _limit(q: dict[str, str], default: int, maximum: int, *, clamp: bool = False) -> int:
    raw = q.get("limit")
    if raw is None:
        return default
    try:
        n = int(raw)
    except ValueError:
        raise _BadRequest(f"limit: invalid integer {raw!r}") from None
    if n < 1:
        raise _BadRequest("limit must be greater than 0")
    if n > maximum:
        if clamp:
            return maximum
        raise _BadRequest(f"limit must be less than or equal to {maximum}")
    return n


def _order(q: dict[str, str], name: str = "order") -> bool:
    """True for descending."""
    value = q.get(name, "asc")
    if value not in ("asc", "desc"):
        raise _BadRequest(f"{name} must be 'asc' or 'desc'")
    return value == "desc"


def _ops(q: dict[str, str], name: str, parse: Callable[[str], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for op in ("", *_OPS):
        key = f"{name}.{op}" if op else name
        if key in q:
            try:
                out[op] = parse(q[key])
            except ValueError:
                raise _BadRequest(f"{key}: invalid value {q[key]!r}") from None
    return out


def _parse_date(text: str) -> str:
    if not _DATE_RE.fullmatch(text):
        raise ValueError(text)
    date.fromisoformat(text)
    return text


def _page(
    keys: Sequence[tuple[Any, ...]], after: tuple[Any, ...] | None, desc: bool, limit: int
) -> tuple[list[int], bool]:
    """Indexes (into ``keys``, sorted ascending) of one page, and whether more follow."""
    if not desc:
        start = 0 if after is None else bisect_right(keys, after)
        end = min(start + limit, len(keys))
        return list(range(start, end)), end < len(keys)
    end = len(keys) if after is None else bisect_left(keys, after)
    start = max(0, end - limit)
    return list(range(end - 1, start - 1, -1)), start > 0


def _next_url(ctx: _Ctx, path: str, cursor_params: dict[str, str]) -> str:
    return f"{ctx.base_url}{path}?cursor={_encode_cursor(cursor_params)}"


def _parse_occ(ticker: str) -> tuple[str, str, float]:
    """``(root, expiration YYYY-MM-DD, strike)`` of an ``O:`` ticker."""
    m = _OCC_RE.fullmatch(ticker)
    if m is None:
        raise _BadRequest("invalid cursor")
    root, ymd, _, strike = m.groups()
    return root, f"20{ymd[:2]}-{ymd[2:4]}-{ymd[4:]}", int(strike) / 1000


_CONTRACT_SORTS: dict[str, Callable[[str, str, float], Any]] = {
    "ticker": lambda t, e, k: (t,),
    "expiration_date": lambda t, e, k: (e, t),
    "strike_price": lambda t, e, k: (k, t),
    "underlying_ticker": lambda t, e, k: ("SPX" if t[2:6] == "SPXW" else _parse_occ(t)[0], t),
}


def _contract_key(sort: str, c: Contract) -> tuple[Any, ...]:
    return tuple(_CONTRACT_SORTS[sort](c.ticker, c.expiration, c.strike))


def _ticker_key(sort: str, ticker: str) -> tuple[Any, ...]:
    _, exp, strike = _parse_occ(ticker)
    return tuple(_CONTRACT_SORTS[sort](ticker, exp, strike))


# ---------------------------------------------------------------------------------------
# The server


class FakeMassive:
    """The fake: ``app`` (Quart-Trio), ``faults``, ``requests`` log and ``counts``."""

    def __init__(
        self,
        *,
        api_key: str,
        seed: int,
        start_ms: int,
        clock: Callable[[], int],
        faults: FaultPlan,
        control: bool,
        history_days: int,
    ) -> None:
        self.api_key = api_key
        self.seed = seed
        self.clock = clock
        self.faults = faults
        self.requests: deque[RequestLog] = deque(maxlen=10_000)
        self.counts: Counter[str] = Counter()
        self.market = MarketData(seed, start_ms, history_days=history_days)
        self.options = OptionBook(self.market)
        self._rid = Random(f"fake-massive:{seed}:request-id")
        self.app = QuartTrio(__name__)
        self.app.config["RESPONSE_TIMEOUT"] = None
        self._builders: dict[str, Builder] = {}  # {endpoint: builder}, for ``handle``
        # {(path, filters, sort, day, alive): (sorted contracts, their keys)}: see _sorted
        self._sorted_memo: dict[tuple[Any, ...], tuple[list[Contract], list[tuple[Any, ...]]]] = {}
        self._routes()
        if control:
            self._control_routes()

    def now_ms(self) -> int:
        """The fake clock, with the market brought up to it."""
        now = self.clock()
        self.market.sync(now)
        return now

    # -- plumbing -----------------------------------------------------------------------

    def _routes(self) -> None:
        add = self._add
        add(
            "/v2/aggs/ticker/<ticker>/range/<multiplier>/<timespan>/<from_>/<to>",
            "aggs",
            self._aggs,
        )
        add("/v2/last/trade/<ticker>", "last_trade", self._last_trade)
        add("/v2/last/nbbo/<ticker>", "last_nbbo", self._last_nbbo)
        add("/v1/marketstatus/now", "market_status", self._market_status)
        add("/v1/marketstatus/upcoming", "holidays", self._holidays)
        add("/v3/reference/options/contracts", "options_contracts", self._contracts)
        add("/v3/snapshot/options/<underlying>", "options_chain", self._chain)
        add("/v3/snapshot/options/<underlying>/<contract>", "option_contract", self._one_contract)
        add("/v3/snapshot/indices", "indices", self._indices)

    def _add(self, rule: str, endpoint: str, builder: Builder) -> None:
        async def view(**kwargs: str) -> Response:
            return await self._serve(endpoint, builder, kwargs)

        self._builders[endpoint] = builder
        self.app.add_url_rule(rule, endpoint, view, methods=["GET"])

    def _new_request_id(self) -> str:
        return f"{self._rid.getrandbits(128):032x}"

    async def _serve(self, endpoint: str, builder: Builder, args: dict[str, str]) -> Response:
        query = request.args.to_dict()
        base_url = request.host_url.rstrip("/")
        auth = request.headers.get("Authorization")
        reply = await self._reply(endpoint, builder, args, query, request.path, base_url, auth)
        return reply.response()

    async def handle(self, req: httpx.Request) -> httpx.Response:
        """The fake as a pure request handler, for ``httpx.MockTransport(fake.handle)``: the
        same routes, faults (latency sleeps on Trio's clock) and replies as over HTTP, with
        no socket. The control API is not served here: use ``faults`` and ``counts``."""
        try:
            endpoint, args = self.app.url_map.bind(req.url.host).match(req.url.path, req.method)
        except HTTPException as exc:
            return httpx.Response(exc.code or 404, json={"status": "NOT_FOUND"})
        builder = self._builders.get(endpoint)
        if builder is None:
            return httpx.Response(404, json={"status": "NOT_FOUND"})
        query = dict(req.url.params)
        base_url = f"{req.url.scheme}://{req.url.netloc.decode('ascii')}"
        auth = req.headers.get("Authorization")
        path = req.url.path
        reply = await self._reply(endpoint, builder, dict(args), query, path, base_url, auth)
        data = reply.body if isinstance(reply.body, bytes) else orjson.dumps(reply.body)
        headers = {"content-type": reply.content_type, **reply.headers}
        return httpx.Response(reply.status, content=data, headers=headers)

    async def _reply(
        self,
        endpoint: str,
        builder: Builder,
        args: dict[str, str],
        query: dict[str, str],
        path: str,
        base_url: str,
        authorization: str | None,
    ) -> _Reply:
        self.counts[endpoint] += 1
        rid = self._new_request_id()
        auth = self._auth_error(authorization, query.get("apiKey"))
        if auth is not None:
            reply = _Reply(401, {"status": "ERROR", "request_id": rid, "error": auth})
        else:
            delay, fault = self.faults.take(endpoint)
            if delay > 0:
                await trio.sleep(delay)
            ctx = _Ctx(args, query, path, base_url, 0, rid)
            reply = self._answer(builder, ctx, fault)
        self.requests.append(RequestLog(endpoint, path, query, reply.status))
        return reply

    def _auth_error(self, header: str | None, query_key: str | None) -> str | None:
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip() == self.api_key:
                return None
            return "Unknown API Key"
        if query_key is None:
            return "API Key was not provided"
        return None if query_key == self.api_key else "Unknown API Key"

    def _answer(self, builder: Builder, ctx: _Ctx, fault: Fault | None) -> _Reply:
        kind = fault.kind if fault is not None else None
        params = fault.params if fault is not None else {}
        rid = ctx.request_id
        if kind == "status":
            return _status_reply(int(params.get("code", 500)), params.get("body"), rid)
        if kind == "rate_limit":
            headers = {}
            if params.get("retry_after") is not None:
                headers["Retry-After"] = str(params["retry_after"])
            if params.get("body", "json") == "empty":
                return _Reply(429, b"", headers=headers)
            body = {"status": "ERROR", "request_id": rid, "error": _RATE_LIMITED}
            return _Reply(429, body, headers=headers)
        if kind == "unauthorized":
            message = params.get("message", "Unknown API Key")
            return _Reply(401, {"status": "ERROR", "request_id": rid, "error": message})
        if kind == "forbidden":
            message = params.get("message", _NOT_ENTITLED)
            return _Reply(403, {"status": "NOT_AUTHORIZED", "request_id": rid, "message": message})
        if kind == "not_found":
            return _not_found(rid, params.get("message", "Data not found."))
        if kind == "error_in_200":
            body = {
                "status": params.get("status", "NOT_AUTHORIZED"),
                "request_id": rid,
                "message": params.get("message", _NOT_ENTITLED),
            }
            return _Reply(200, body)
        ctx.delayed = kind == "delayed"
        ctx.loop = kind == "loop_next_url"
        ctx.now_ms = self.now_ms()
        try:
            reply = builder(ctx)
        except _BadRequest as exc:
            return _Reply(400, {"status": "ERROR", "request_id": rid, "error": str(exc)})
        except _NotFound:
            return _not_found(rid, "Data not found.")
        if reply.status != 200:
            return reply
        if ctx.delayed and isinstance(reply.body, dict) and "status" in reply.body:
            reply.body["status"] = "DELAYED"
        if kind in ("empty", "missing_results"):
            reply.body = _emptied(reply.body, missing=kind == "missing_results")
        elif kind == "malformed":
            data = orjson.dumps(reply.body)
            reply.body = data[: max(1, len(data) // 2)]
        return reply

    def _ok(self, ctx: _Ctx, **fields: Any) -> _Reply:
        body: dict[str, Any] = {"status": "OK", "request_id": ctx.request_id}
        body.update(fields)
        return _Reply(200, body)

    # -- aggregates ---------------------------------------------------------------------

    def _aggs(self, ctx: _Ctx) -> _Reply:
        a = ctx.args
        ticker, timespan = a["ticker"], a["timespan"]
        q = _effective_query(ctx.query)
        try:
            mult = int(a["multiplier"])
        except ValueError:
            raise _BadRequest("multiplier must be an integer") from None
        if mult < 1:
            raise _BadRequest("multiplier must be greater than 0")
        if timespan not in ("minute", "hour", "day"):
            raise _BadRequest(f"timespan {timespan!r} is not supported by the fake")
        lo = _range_bound(a["from_"], end=False)
        hi = min(_range_bound(a["to"], end=True), ctx.now_ms)
        limit = _limit(q, 5000, 50_000, clamp=True)
        desc = (q.get("sort") or "asc") == "desc"
        adjusted = q.get("adjusted", "true").lower() != "false"
        index = ticker.startswith("I:")
        known = ticker in STOCKS or ticker in INDEX_NAMES
        base: list[Row] = []
        if known and lo <= hi:
            minutes = self.market.minute_rows(ticker, lo, hi)
            base = aggregate(minutes, "day", 1) if timespan == "day" else minutes
            if timespan == "day":
                base = [r for r in base if lo <= r[0] <= hi]
        bucket = bucket_fn(timespan, mult, base)
        page, more_at = cut_page(base, limit, desc, bucket)
        cursor = {"limit": str(limit), "sort": "desc" if desc else "asc"}
        if not index:
            cursor["adjusted"] = "true" if adjusted else "false"
        fields: dict[str, Any] = {"ticker": ticker, "queryCount": len(page)}
        bars = aggregate(page, timespan, mult)
        if desc:
            bars.reverse()
        fields["resultsCount"] = len(bars)
        if not index:
            fields["adjusted"] = adjusted
        if bars:
            fields["results"] = [_bar_json(r, index) for r in bars]
        prefix = f"/v2/aggs/ticker/{quote(ticker, safe=':')}/range/{mult}/{timespan}"
        if ctx.loop:
            fields["next_url"] = _next_url(ctx, quote(ctx.path, safe="/:"), cursor)
        elif more_at is not None:
            path = f"{prefix}/{a['from_']}/{more_at}" if desc else f"{prefix}/{more_at}/{a['to']}"
            fields["next_url"] = _next_url(ctx, path, cursor)
        return self._ok(ctx, **fields)

    # -- last trade / NBBO --------------------------------------------------------------

    def _last_trade(self, ctx: _Ctx) -> _Reply:
        ticker = ctx.args["ticker"]
        if ticker not in STOCKS:
            raise _NotFound
        t = self.market.last_trade(ticker)
        salt = (t.seq * 7919 + 104_729) % 1_000_000
        t_ns = t.ts_ms * _MS_NS + salt
        results: dict[str, Any] = {
            "T": ticker,
            "c": [37] if t.size < 100 else [],
            "ds": str(int(t.size)),
            "i": str(50_000 + t.seq * 13),
            "p": t.price,
            "q": 1_000_000 + t.seq,
            "r": 0,
            "s": t.size,
            "t": t_ns,
            "x": _STOCK_X[t.seq % len(_STOCK_X)],
            "y": t_ns - 350_000 - salt % 200_000,
            "z": _TAPE.get(ticker, 2),
        }
        if not results["c"]:
            del results["c"]
        return self._ok(ctx, results=results)

    def _last_nbbo(self, ctx: _Ctx) -> _Reply:
        ticker = ctx.args["ticker"]
        if ticker not in STOCKS:
            raise _NotFound
        qt = self.market.last_quote(ticker)
        salt = (qt.ts_ms * 31 + 17) % 1_000_000
        t_ns = qt.ts_ms * _MS_NS + salt
        results = {
            "P": qt.ask,
            "S": max(1, int(qt.ask_size // 100)),
            "T": ticker,
            "X": _STOCK_X[(qt.ts_ms // 7) % len(_STOCK_X)],
            "p": qt.bid,
            "q": 2_000_000 + qt.ts_ms % 1_000_000_000,
            "s": max(1, int(qt.bid_size // 100)),
            "t": t_ns,
            "x": _STOCK_X[(qt.ts_ms // 3) % len(_STOCK_X)],
            "y": t_ns - 310_000,
            "z": _TAPE.get(ticker, 2),
        }
        return self._ok(ctx, results=results)

    # -- market status ------------------------------------------------------------------

    def _market_status(self, ctx: _Ctx) -> _Reply:
        return _Reply(200, market_status(ctx.now_ms))

    def _holidays(self, ctx: _Ctx) -> _Reply:
        return _Reply(200, upcoming_holidays(ctx.now_ms))

    # -- options ------------------------------------------------------------------------

    def _contract_page(
        self,
        ctx: _Ctx,
        contracts: list[Contract],
        q: dict[str, str],
        sorts: tuple[str, ...],
        max_limit: int,
        path: str,
    ) -> tuple[list[Contract], str | None]:
        sort = q.get("sort", "ticker")
        if sort not in sorts:
            raise _BadRequest(f"sort must be one of {', '.join(sorts)}")
        desc = _order(q)
        limit = _limit(q, 10, max_limit)
        after = _ticker_key(sort, q["ap"]) if "ap" in q else None
        contracts, keys = self._sorted(contracts, q, sort, path, ctx.now_ms)
        picked, more = _page(keys, after, desc, limit)
        page = [contracts[i] for i in picked]
        cursor = {k: v for k, v in q.items() if k != "ap"}
        if ctx.loop:
            if "ap" in q:
                cursor["ap"] = q["ap"]
            return page, _next_url(ctx, path, cursor)
        if more and page:
            cursor["ap"] = page[-1].ticker
            return page, _next_url(ctx, path, cursor)
        return page, None

    def _sorted(
        self, contracts: list[Contract], q: dict[str, str], sort: str, path: str, now_ms: int
    ) -> tuple[list[Contract], list[tuple[Any, ...]]]:
        """``contracts`` filtered by ``q``, in ``sort`` order, with their keys: computed once
        per walk (every page of a chain asks again with the same filters).

        Memo key: the filters, the sort, the New York day and how many contracts are alive.
        Within a day contracts only expire, so the alive sets are nested and equal sizes
        mean equal sets."""
        filters = tuple(sorted((k, v) for k, v in q.items() if k not in ("ap", "limit")))
        key = (path, filters, sort, ny_date(now_ms), len(contracts))
        got = self._sorted_memo.get(key)
        if got is None:
            if len(self._sorted_memo) >= 16:
                self._sorted_memo.clear()
            contracts = self._filtered(contracts, q)
            if sort != "ticker":
                contracts = sorted(contracts, key=lambda c: _contract_key(sort, c))
            got = self._sorted_memo[key] = (
                contracts,
                [_contract_key(sort, c) for c in contracts],
            )
        return got

    def _filtered(self, contracts: list[Contract], q: dict[str, str]) -> list[Contract]:
        ctype = q.get("contract_type")
        if ctype is not None and ctype not in ("call", "put"):
            raise _BadRequest("contract_type must be 'call' or 'put'")
        return filter_contracts(
            contracts,
            contract_type=ctype,
            expiration=_ops(q, "expiration_date", _parse_date),
            strike=_ops(q, "strike_price", float),
        )

    def _contracts(self, ctx: _Ctx) -> _Reply:
        q = _effective_query(ctx.query)
        if q.get("expired", "false").lower() == "true":
            contracts: list[Contract] = []  # the fake lists no expired contracts
        else:
            contracts = self.options.reference_listing(q.get("underlying_ticker"), ctx.now_ms)
        page, next_url = self._contract_page(
            ctx,
            contracts,
            q,
            ("ticker", "underlying_ticker", "expiration_date", "strike_price"),
            1000,
            "/v3/reference/options/contracts",
        )
        fields: dict[str, Any] = {"results": [contract_reference(c) for c in page]}
        if next_url is not None:
            fields["next_url"] = next_url
        return self._ok(ctx, **fields)

    def _chain(self, ctx: _Ctx) -> _Reply:
        underlying = ctx.args["underlying"]
        q = _effective_query(ctx.query)
        contracts = self.options.listing(underlying, ctx.now_ms)
        page, next_url = self._contract_page(
            ctx,
            contracts,
            q,
            ("ticker", "expiration_date", "strike_price"),
            250,
            f"/v3/snapshot/options/{quote(underlying, safe=':')}",
        )
        results: list[dict[str, Any]] = []
        if page:
            pricing = self.options.context(underlying, ctx.now_ms, delayed=ctx.delayed)
            results = [snapshot_json(self.options, c, pricing) for c in page]
        fields: dict[str, Any] = {"results": results}
        if next_url is not None:
            fields["next_url"] = next_url
        return self._ok(ctx, **fields)

    def _one_contract(self, ctx: _Ctx) -> _Reply:
        underlying, ticker = ctx.args["underlying"], ctx.args["contract"]
        c = self.options.contract(underlying, ticker, ctx.now_ms)
        if c is None:
            raise _NotFound
        pricing = self.options.context(underlying, ctx.now_ms, delayed=ctx.delayed)
        return self._ok(ctx, results=snapshot_json(self.options, c, pricing))

    # -- indices ------------------------------------------------------------------------

    def _indices(self, ctx: _Ctx) -> _Reply:
        q = _effective_query(ctx.query)
        limit = _limit(q, 10, 250)
        desc = _order(q)
        if q.get("sort", "ticker") != "ticker":
            raise _BadRequest("sort must be ticker")
        if "ticker.any_of" in q:
            wanted = list(dict.fromkeys(t for t in q["ticker.any_of"].split(",") if t))
            if len(wanted) > 250:
                raise _BadRequest("ticker.any_of takes at most 250 tickers")
        elif "ticker" in q:
            wanted = [q["ticker"]]
        else:
            bounds = _ops(q, "ticker", str)
            wanted = [t for t in sorted(INDEX_NAMES) if _in_bounds(t, bounds)]
            if desc:
                wanted.reverse()
        try:
            offset = int(q.get("ap", "0"))
        except ValueError:
            raise _BadRequest("invalid cursor") from None
        page = wanted[offset : offset + limit]
        fields: dict[str, Any] = {"results": [self._index_item(t, ctx) for t in page]}
        cursor = {k: v for k, v in q.items() if k != "ap"}
        if ctx.loop:
            if "ap" in q:
                cursor["ap"] = q["ap"]
            fields["next_url"] = _next_url(ctx, "/v3/snapshot/indices", cursor)
        elif offset + limit < len(wanted):
            cursor["ap"] = str(offset + limit)
            fields["next_url"] = _next_url(ctx, "/v3/snapshot/indices", cursor)
        return self._ok(ctx, **fields)

    def _index_item(self, ticker: str, ctx: _Ctx) -> dict[str, Any]:
        name = INDEX_NAMES.get(ticker)
        if name is None:
            return {"ticker": ticker, "error": "NOT_FOUND", "message": "Ticker not found."}
        market = self.market
        value = market.price(ticker)
        midnight = ny_midnight_ms(ny_date(ctx.now_ms))
        rows = market.minute_rows(ticker, midnight, ctx.now_ms)
        prev = market.price_before(ticker, midnight)
        open_ = rows[0][1] if rows else value
        high = max([r[2] for r in rows] + [value])
        low = min([r[3] for r in rows] + [value])
        change = round(value - prev, 2)
        return {
            "last_updated": market.last_trade(ticker).ts_ms * _MS_NS,
            "market_status": index_market_status(ctx.now_ms),
            "name": name,
            "session": {
                "change": change,
                "change_percent": round(change / prev * 100, 3),
                "close": value,
                "high": high,
                "low": low,
                "open": open_,
                "previous_close": prev,
            },
            "ticker": ticker,
            "timeframe": "DELAYED" if ctx.delayed else "REAL-TIME",
            "type": "indices",
            "value": value,
        }

    # -- control API --------------------------------------------------------------------

    def _control_routes(self) -> None:
        app = self.app

        async def add_fault() -> Response:
            try:
                spec = orjson.loads(await request.get_data())
                if not isinstance(spec, dict):
                    raise ValueError("expected a JSON object")
                params = spec.get("params") or {}
                if not isinstance(params, dict):
                    raise ValueError("params must be an object")
                fault = self.faults.add(
                    str(spec.get("endpoint")),
                    str(spec.get("kind")),
                    times=spec.get("times", 1),
                    **params,
                )
            except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
                return _Reply(400, {"error": str(exc)}).response()
            return _Reply(200, {"fault": fault.to_json(), "faults": self._faults_json()}).response()

        async def clear_faults() -> Response:
            return _Reply(200, {"cleared": self.faults.clear()}).response()

        async def list_faults() -> Response:
            return _Reply(200, {"faults": self._faults_json()}).response()

        async def stats() -> Response:
            body = {
                "counts": dict(self.counts),
                "total": sum(self.counts.values()),
                "faults": self._faults_json(),
            }
            return _Reply(200, body).response()

        app.add_url_rule("/__fake/faults", "fake_add", add_fault, methods=["POST"])
        app.add_url_rule("/__fake/faults", "fake_clear", clear_faults, methods=["DELETE"])
        app.add_url_rule("/__fake/faults", "fake_list", list_faults, methods=["GET"])
        app.add_url_rule("/__fake/stats", "fake_stats", stats, methods=["GET"])

    def _faults_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.faults.active]


_STOCK_X = (4, 8, 10, 11, 12, 15, 19, 21)
# Tape per stock: SPY lists on NYSE Arca (tape B), QQQ on Nasdaq (tape C).
_TAPE = {"SPY": 2, "QQQ": 3}


def _not_found(rid: str, message: str) -> _Reply:
    return _Reply(404, {"status": "NOT_FOUND", "request_id": rid, "message": message})


def _status_reply(code: int, body: str | None, rid: str) -> _Reply:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = {499: "Client Closed Request"}.get(code, "Error")
    kind = body or ("html" if code in (502, 503, 504) else "empty")
    if kind == "json":
        return _Reply(code, {"status": "ERROR", "request_id": rid, "error": phrase})
    if kind == "empty":
        return _Reply(code, b"", content_type="text/plain")
    html = (
        f"<html>\r\n<head><title>{code} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{code} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return _Reply(code, html.encode(), content_type="text/html")


def _emptied(body: Any, *, missing: bool) -> Any:
    if isinstance(body, list):
        return None if missing else []
    if not isinstance(body, dict):
        return body
    if "status" not in body:  # market status: a flat object
        return {}
    out = dict(body)
    results = out.pop("results", None)
    out.pop("next_url", None)
    for key in ("resultsCount", "queryCount", "count"):
        if key in out:
            out[key] = 0
    if not missing:
        out["results"] = {} if isinstance(results, dict) else []
    return out


def _in_bounds(value: str, bounds: dict[str, Any]) -> bool:
    return all(
        (op == "" and value == b)
        or (op == "gt" and value > b)
        or (op == "gte" and value >= b)
        or (op == "lt" and value < b)
        or (op == "lte" and value <= b)
        for op, b in bounds.items()
    )


def _range_bound(text: str, *, end: bool) -> int:
    """``from``/``to`` path segment to ms: a New York date (whole day) or Unix ms."""
    if _DATE_RE.fullmatch(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            raise _BadRequest(f"invalid date {text!r}") from None
        return ny_midnight_ms(d + timedelta(days=1)) - 1 if end else ny_midnight_ms(d)
    if text.isdigit():
        return int(text)
    raise _BadRequest(f"{text!r} is neither YYYY-MM-DD nor a Unix millisecond timestamp")


def _bar_json(r: Row, index: bool) -> dict[str, Any]:
    t, o, h, lo, c, v, vw, n = r
    if index:
        return {"c": c, "h": h, "l": lo, "o": o, "t": t}
    return {"c": c, "h": h, "l": lo, "n": n, "o": o, "t": t, "v": v, "vw": vw}


# ---------------------------------------------------------------------------------------
# Construction and the command line


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def create_fake_massive(
    *,
    api_key: str = "test-key",
    seed: int = 7,
    start_ms: int | None = None,
    clock: Callable[[], int] | None = None,
    faults: FaultPlan | None = None,
    control: bool = True,
    history_days: int = 10,
) -> FakeMassive:
    """A fake Massive REST server. ``clock`` returns Unix ms (default: wall time);
    ``start_ms`` (default: the clock now) is where simulated history ends and live ticks
    begin. Serve ``.app`` with hypercorn."""
    clock = clock or _wall_ms
    return FakeMassive(
        api_key=api_key,
        seed=seed,
        start_ms=clock() if start_ms is None else start_ms,
        clock=clock,
        faults=faults if faults is not None else FaultPlan(),
        control=control,
        history_days=history_days,
    )


async def _on_signal() -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


async def serve_fake_massive(
    fake: FakeMassive,
    host: str = "127.0.0.1",
    port: int = 5100,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``fake`` with hypercorn until ``shutdown_trigger`` returns; reports the URL.

    The market is brought up to the clock every second in the background, so a long idle
    spell never makes one request replay hours of simulated ticks."""
    config = Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("spotlight.fake_massive")
    config.graceful_timeout = 1.0

    async def server(task_status: trio.TaskStatus[list[str]]) -> None:
        await serve(fake.app, config, shutdown_trigger=shutdown_trigger, task_status=task_status)
        nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        urls: list[str] = await nursery.start(server)
        nursery.start_soon(_keep_in_sync, fake)
        task_status.started(urls[0])


async def _keep_in_sync(fake: FakeMassive) -> None:
    while True:
        fake.now_ms()
        await trio.sleep(1.0)


def run_fake_massive(
    host: str = "127.0.0.1", port: int = 5100, api_key: str = "test-key", seed: int = 7
) -> None:
    """``python -m spotlight fake-massive``: serve until SIGINT/SIGTERM."""
    fake = create_fake_massive(api_key=api_key, seed=seed)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(
                partial(serve_fake_massive, fake, host, port, shutdown_trigger=_on_signal)
            )
            print(
                f"fake Massive on {url} (key {api_key!r}, seed {seed}); Ctrl+C stops it\n"
                f"  point spotlight at it:  MASSIVE_API_KEY={api_key} "
                f"SPOTLIGHT_MASSIVE_BASE_URL={url} python -m spotlight serve\n"
                f"  inject a fault:         curl -X POST {url}/__fake/faults "
                """-d '{"endpoint":"options_chain","kind":"rate_limit","times":3}'""",
                flush=True,
            )

    trio.run(main)
