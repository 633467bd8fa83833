"""MassiveClient endpoints: paths, parameters, ticker rules, pagination, parsing, lifecycle,
the request budget and keeping the key secret."""

from __future__ import annotations

import gzip
import math

import httpx
import orjson
import pytest
import trio
import trio.testing
from massive_fixtures import (
    BASE,
    CONTRACT,
    HOLIDAYS,
    INDICES,
    KEY,
    LAST_NBBO,
    LAST_TRADE,
    MARKET_STATUS,
    SPX_BARS,
    Upstream,
    always,
    chain_item,
    ok,
    raw,
    replies,
)

from spotlight.market.massive import (
    AggBar,
    MassiveClient,
    RequestBudget,
    market_ticker,
    reference_ticker,
)
from spotlight.market.massive.endpoints import ENDPOINTS

AUTH = f"Bearer {KEY}"


def page(results: list[object], next_url: str | None = None, **extra: object) -> httpx.Response:
    body: dict[str, object] = {"status": "OK", "request_id": "x", "results": results, **extra}
    if next_url is not None:
        body["next_url"] = next_url
    return ok(body)


async def test_headers_identify_us_and_carry_the_key_only_in_authorization() -> None:
    up = Upstream(always(ok(LAST_TRADE)))
    async with up.client() as client:
        await client.last_trade("SPY")
    request = up.requests[0]
    assert request.headers["Authorization"] == AUTH
    assert request.headers["Accept-Encoding"] == "gzip"
    assert request.headers["User-Agent"].startswith("spotlight/")
    assert str(request.url) == f"{BASE}/v2/last/trade/SPY"


async def test_last_trade_and_nbbo_convert_ns_to_ms_exactly() -> None:
    up = Upstream(lambda r: ok(LAST_TRADE if "trade" in r.url.path else LAST_NBBO))
    async with up.client() as client:
        trade = await client.last_trade("SPY")
        quote = await client.last_nbbo("SPY")
    assert trade is not None and quote is not None
    assert trade.ts_ms == 1766159982123  # 1766159982123456789 // 1e6, not float-rounded
    assert (trade.ticker, trade.price, trade.size) == ("SPY", 598.71, 100.0)
    assert quote.ts_ms == 1766159982200
    assert (quote.bid, quote.ask, quote.bid_size, quote.ask_size) == (598.70, 598.71, 3.0, 5.0)
    assert up.requests[1].url.path == "/v2/last/nbbo/SPY"


async def test_ns_near_int64_max_stays_exact() -> None:
    body = b'{"status":"OK","results":{"T":"SPY","p":1.5,"s":1,"t":9223372036854775807}}'
    up = Upstream(always(raw(body)))
    async with up.client() as client:
        trade = await client.last_trade("SPY")
    assert trade is not None and trade.ts_ms == 9223372036854


async def test_index_bars_have_no_volume() -> None:
    up = Upstream(always(ok(SPX_BARS)))
    async with up.client() as client:
        aggs = await client.aggregates("SPX", 1, "minute", "2025-12-19", "2025-12-19")
    assert up.requests[0].url.path == "/v2/aggs/ticker/I:SPX/range/1/minute/2025-12-19/2025-12-19"
    assert dict(up.requests[0].url.params) == {"limit": "50000", "sort": "asc"}
    assert aggs.ticker == "I:SPX" and not aggs.delayed
    assert aggs.bars[0] == AggBar(
        1766154600000, 6004.12, 6007.88, 6001.35, 6006.40, 0.0, None, None
    )


async def test_stock_bars_keep_volume_vwap_and_count() -> None:
    bar = {
        "o": 598.41,
        "h": 598.77,
        "l": 598.30,
        "c": 598.70,
        "v": 412803,
        "vw": 598.5512,
        "n": 3921,
        "t": 1766154600000,
    }
    up = Upstream(always(page([bar], ticker="SPY")))
    async with up.client() as client:
        aggs = await client.aggregates("SPY", 5, "minute", 1766154600000, 1766158200000, limit=10)
    assert aggs.bars[0].v == 412803.0 and aggs.bars[0].vw == 598.5512 and aggs.bars[0].n == 3921
    assert up.requests[0].url.path.endswith("/range/5/minute/1766154600000/1766158200000")


async def test_delayed_status_is_data_and_flagged() -> None:
    up = Upstream(always(ok({**SPX_BARS, "status": "DELAYED"})))
    async with up.client() as client:
        aggs = await client.aggregates("I:SPX", 1, "day", "2025-12-01", "2025-12-19")
        chain_up = Upstream(always(ok({"status": "DELAYED", "results": [chain_item()]})))
        async with chain_up.client() as chain_client:
            chain = await chain_client.options_chain("SPX")
    assert aggs.delayed and len(aggs.bars) == 2
    assert chain[0].delayed


async def test_missing_results_is_empty_and_counted() -> None:
    up = Upstream(
        always(
            ok(
                {
                    "ticker": "SPY",
                    "queryCount": 0,
                    "resultsCount": 0,
                    "status": "OK",
                    "request_id": "x",
                }
            )
        )
    )
    async with up.client() as client:
        aggs = await client.aggregates("SPY", 1, "minute", "2025-12-20", "2025-12-20")
        assert await client.options_contracts("SPX") == []
        assert await client.last_trade("SPY") is None
    assert aggs.bars == []
    assert up.empties == ["aggs", "options_contracts", "last_trade"]
    assert up.outcomes() == ["empty"] * 3


async def test_next_url_pages_are_concatenated_on_our_base_with_auth() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if cursor is None:
            return page(
                [chain_item("O:A", 1)],
                "https://api.massive.com/v3/snapshot/options/I:SPX?cursor=c2",
            )
        if cursor == "c2":
            return page(
                [chain_item("O:B", 2)],
                "https://elsewhere.example/v3/snapshot/options/I:SPX?cursor=c3&apiKey=leak",
            )
        return page([chain_item("O:C", 3)])

    up = Upstream(handler)
    async with up.client() as client:
        chain = await client.options_chain(
            "SPX", expiration_date="2025-12-19", strike_price_gte=5900
        )
    assert [o.ticker for o in chain] == ["O:A", "O:B", "O:C"]
    assert [r.url.host for r in up.requests] == ["api.test"] * 3
    assert all(r.headers["Authorization"] == AUTH for r in up.requests)
    first, second, third = (dict(r.url.params) for r in up.requests)
    assert first == {"expiration_date": "2025-12-19", "strike_price.gte": "5900", "limit": "250"}
    assert second == {"cursor": "c2"}  # the cursor carries the filters; nothing is re-sent
    assert third == {"cursor": "c3"}  # an echoed apiKey is dropped, never requested
    assert up.outcomes() == ["ok"] * 3


async def test_aggregate_pages_concatenate_bars() -> None:
    bars = SPX_BARS["results"]
    assert isinstance(bars, list)

    def handler(request: httpx.Request) -> httpx.Response:
        if "cursor" in request.url.params:
            return ok({"ticker": "I:SPX", "status": "DELAYED", "results": bars[1:]})
        nxt = "https://api.massive.com/v2/aggs/ticker/I:SPX/range/1/minute/1766154660000/2025-12-19?cursor=x"
        return ok({"ticker": "I:SPX", "status": "OK", "results": bars[:1], "next_url": nxt})

    up = Upstream(handler)
    async with up.client() as client:
        aggs = await client.aggregates("I:SPX", 1, "minute", "2025-12-19", "2025-12-19")
    assert [b.t_ms for b in aggs.bars] == [1766154600000, 1766154660000]
    assert aggs.delayed  # any delayed page makes the result delayed
    assert (
        up.requests[1].url.path == "/v2/aggs/ticker/I:SPX/range/1/minute/1766154660000/2025-12-19"
    )


async def test_a_looping_next_url_keeps_the_contracts_once_and_says_so() -> None:
    # Upstream's known bug: from page 2 on, next_url points back at itself. The walk stops at
    # the repeated cursor, keeps what it fetched (each contract once) and marks the result;
    # throwing it away left GEX empty for as long as upstream looped.
    loop = "https://api.massive.com/v3/snapshot/options/I:SPX?cursor=same"
    put = chain_item("O:SPXW251219P06000000")
    put["details"]["contract_type"] = "put"
    first: list[object] = [chain_item()]
    second: list[object] = [chain_item(), put]
    up = Upstream(replies([page(first, loop), page(second, loop), page(second, loop)]))
    stops: list[object] = []
    async with up.client(on_walk=stops.append) as client:
        walk = await client.options_chain_walk("SPX")
        assert [o.ticker for o in walk.items] == ["O:SPXW251219C06000000", "O:SPXW251219P06000000"]
        assert (walk.looped, walk.partial, walk.pages, walk.duplicates) == (True, False, 2, 1)
        assert client.walk_stops() == {"options_chain": {"looped": 1}}
    assert up.calls == 3 - 1  # the repeated cursor is never requested again
    assert stops == [walk]


async def test_the_page_cap_ends_an_endless_walk_with_partial_data() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor", "0")) + 1
        return page(
            [CONTRACT], f"https://api.massive.com/v3/reference/options/contracts?cursor={n}"
        )

    up = Upstream(handler)
    async with up.client(max_pages=5) as client:
        contracts = await client.options_contracts("SPX")
        assert len(contracts) == 5  # five pages fetched, kept, and counted as cut short
        assert client.walk_stops() == {"options_contracts": {"page_cap": 1}}
    assert up.calls == 5


def test_ticker_forms() -> None:
    assert [market_ticker(t) for t in ("SPX", "I:SPX", "XSP", "SPY", "O:SPXW251219C06000000")] == [
        "I:SPX",
        "I:SPX",
        "I:XSP",
        "SPY",
        "O:SPXW251219C06000000",
    ]
    assert [reference_ticker(t) for t in ("I:SPX", "SPX", "I:NDX", "SPY")] == [
        "SPX",
        "SPX",
        "NDX",
        "SPY",
    ]


async def test_index_prefix_rules_per_endpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if (
            request.url.path.startswith("/v3/snapshot/options/")
            and request.url.path.count("/") == 5
        ):
            return ok({"status": "OK", "results": chain_item()})
        return page([])

    up = Upstream(handler)
    async with up.client() as client:
        for underlying in ("SPX", "I:SPX"):
            await client.options_contracts(underlying, contract_type="call", expired=False)
            await client.options_chain(underlying)
            await client.option_contract(underlying, "SPXW251219C06000000")
        await client.indices_snapshot(["SPX", "I:VIX", "I:SPX", "NDX"])
        for index in ("I:SPX", "SPX", "VIX"):
            with pytest.raises(ValueError, match="indices have no"):
                await client.last_trade(index)
            with pytest.raises(ValueError, match="indices have no"):
                await client.last_nbbo(index)
    contracts = [r for r in up.requests if r.url.path == "/v3/reference/options/contracts"]
    assert [dict(r.url.params) for r in contracts] == [
        {"contract_type": "call", "expired": "false", "underlying_ticker": "SPX", "limit": "1000"}
    ] * 2
    chains = [r.url.path for r in up.requests if r.url.path.startswith("/v3/snapshot/options")]
    assert (
        chains
        == ["/v3/snapshot/options/I:SPX", "/v3/snapshot/options/I:SPX/O:SPXW251219C06000000"] * 2
    )
    indices = up.requests[-1]
    assert indices.url.path == "/v3/snapshot/indices"
    assert indices.url.params["ticker.any_of"] == "I:SPX,I:VIX,I:NDX"
    assert up.calls == 7  # the index last_trade/last_nbbo calls never reached upstream


async def test_indices_snapshot_keeps_per_item_errors() -> None:
    up = Upstream(always(ok(INDICES)))
    async with up.client() as client:
        spx, vix, foo = await client.indices_snapshot(["I:SPX", "I:VIX", "I:FOO"])
    assert (spx.ticker, spx.value, spx.ts_ms, spx.delayed) == (
        "I:SPX",
        5998.70,
        1766159999000,
        False,
    )
    assert (spx.session_open, spx.session_previous_close) == (6004.12, 6001.94)
    assert spx.error is None
    assert vix.delayed and vix.session_open is None
    assert foo.error == "NOT_FOUND" and foo.message == "Ticker not found." and math.isnan(foo.value)


async def test_option_contract_snapshot_parses_every_block() -> None:
    up = Upstream(always(ok({"status": "OK", "results": chain_item()})))
    async with up.client() as client:
        snap = await client.option_contract("I:SPX", "O:SPXW251219C06000000")
    assert snap is not None
    assert (snap.ticker, snap.contract_type, snap.strike, snap.shares_per_contract) == (
        "O:SPXW251219C06000000",
        "call",
        6000.0,
        100.0,
    )
    assert (snap.delta, snap.gamma, snap.theta, snap.vega) == (0.521, 0.00812, -38.4, 0.95)
    assert (snap.implied_volatility, snap.open_interest) == (0.142, 18342.0)
    assert (snap.bid, snap.ask, snap.mid) == (12.20, 12.50, 12.35)
    assert snap.quote_ts_ms == 1766159999812 and snap.trade_ts_ms == 1766159998700
    assert (snap.last_price, snap.last_size, snap.last_exchange) == (12.40, 5.0, 302)
    assert snap.last_conditions == (209,)
    assert (snap.day_volume, snap.day_vwap, snap.underlying_value) == (48211.0, 13.87, 5998.70)
    assert not snap.delayed


async def test_market_status_and_holidays() -> None:
    up = Upstream(lambda r: ok(MARKET_STATUS if r.url.path.endswith("/now") else HOLIDAYS))
    async with up.client() as client:
        status = await client.market_status()
        holidays = await client.upcoming_holidays()
    assert (status.market, status.server_time) == ("open", "2025-12-19T11:00:02-05:00")
    assert not status.early_hours and not status.after_hours
    assert status.raw_exchanges == {"nasdaq": "open", "nyse": "open", "otc": "open"}
    assert [h.status for h in holidays] == ["early-close", "closed"]
    assert holidays[0].close == "2025-12-24T18:00:00.000Z" and holidays[1].open is None
    assert [r.url.path for r in up.requests] == [
        "/v1/marketstatus/now",
        "/v1/marketstatus/upcoming",
    ]


async def test_filters_map_modifiers_and_refuse_reserved_names() -> None:
    up = Upstream(always(page([])))
    async with up.client() as client:
        await client.options_chain(
            "SPX",
            strike_price_gte=5900,
            strike_price_lte=6100.5,
            expiration_date_lt="2026-01-01",
            contract_type="put",
            order="asc",
            sort="strike_price",
        )
        for bad in ({"limit": 10}, {"cursor": "x"}, {"apiKey": "k"}, {"strike_price_gt": math.inf}):
            with pytest.raises(ValueError):
                await client.options_chain("SPX", **bad)
        with pytest.raises(ValueError, match="underlying_ticker"):
            await client.options_contracts("SPX", underlying_ticker="QQQ")
    assert dict(up.requests[0].url.params) == {
        "strike_price.gte": "5900",
        "strike_price.lte": "6100.5",
        "expiration_date.lt": "2026-01-01",
        "contract_type": "put",
        "order": "asc",
        "sort": "strike_price",
        "limit": "250",
    }
    assert up.calls == 1


@pytest.mark.parametrize(
    "args",
    [
        ("SPY", 0, "minute", "2025-12-19", "2025-12-19"),
        ("SPY", 1, "fortnight", "2025-12-19", "2025-12-19"),
        ("SPY", 1, "minute", "19/12/2025", "2025-12-19"),
        ("SPY", 1, "minute", "2025-12-19", "../../v1/x"),
    ],
)
async def test_aggregates_validate_their_arguments(args: tuple[str, int, str, str, str]) -> None:
    up = Upstream(always(ok(SPX_BARS)))
    async with up.client() as client:
        with pytest.raises(ValueError):
            await client.aggregates(*args)
        with pytest.raises(ValueError):
            await client.aggregates("SPY", 1, "minute", "2025-12-19", "2025-12-19", limit=0)
    assert up.calls == 0


async def test_lifecycle_refuses_use_outside_async_with() -> None:
    up = Upstream(always(ok(LAST_TRADE)))
    client = up.client()
    with pytest.raises(RuntimeError, match="async with"):
        await client.last_trade("SPY")
    async with client:
        with pytest.raises(RuntimeError, match="entered once"):
            await client.__aenter__()
        await client.last_trade("SPY")
    with pytest.raises(RuntimeError, match="closed"):
        await client.last_trade("SPY")
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass


def test_constructor_validates_without_echoing_the_key() -> None:
    for bad_key in ("", "has space", "line\nbreak"):
        with pytest.raises(ValueError, match="MASSIVE_API_KEY") as info:
            MassiveClient(bad_key)
        assert bad_key.strip() == "" or bad_key not in str(info.value)
    with pytest.raises(ValueError, match="query"):
        MassiveClient(KEY, base_url=f"https://api.massive.com/?apiKey={KEY}")
    with pytest.raises(ValueError, match="absolute"):
        MassiveClient(KEY, base_url="api.massive.com")
    with pytest.raises(ValueError):
        MassiveClient(KEY, timeout_s=0)


async def test_the_key_never_shows_in_repr_urls_or_records() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/now"):
            return ok(MARKET_STATUS)
        if path.endswith("/upcoming"):
            return ok(HOLIDAYS)
        if path.startswith("/v2/last/trade"):
            return ok(LAST_TRADE)
        if path.startswith("/v2/last/nbbo"):
            return ok(LAST_NBBO)
        if path.startswith("/v3/snapshot/indices"):
            return ok(INDICES)
        if path.count("/") == 5:
            return ok({"status": "OK", "results": chain_item()})
        nxt = f"https://api.massive.com{path}?cursor=abc"
        return page([], None if "cursor" in request.url.params else nxt)

    up = Upstream(handler)
    client = up.client()
    assert KEY not in repr(client)
    async with client:
        assert KEY not in repr(client) and "open" in repr(client)
        await client.aggregates("SPY", 1, "minute", "2025-12-19", "2025-12-19")
        await client.last_trade("SPY")
        await client.last_nbbo("SPY")
        await client.market_status()
        await client.upcoming_holidays()
        await client.options_contracts("SPX")
        await client.options_chain("SPX")
        await client.option_contract("SPX", "O:SPXW251219C06000000")
        await client.indices_snapshot(["SPX"])
    assert up.calls == 12
    for request in up.requests:
        assert KEY not in str(request.url)
        assert request.headers["Authorization"] == AUTH
    assert all(KEY not in repr(r) for r in up.records)
    # Every endpoint the fake (and the metrics) know by name, and no other.
    assert {r.endpoint for r in up.records} == set(ENDPOINTS)


async def test_the_free_budget_paces_and_serializes_requests(
    autojump_clock: trio.testing.MockClock,
) -> None:
    in_flight = peak = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await trio.sleep(0.1)
        in_flight -= 1
        return ok(LAST_TRADE)

    budget = RequestBudget(per_minute=5, burst=5, concurrency=1)
    up = Upstream(handler)
    async with up.client(budget=budget) as client:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for _ in range(6):
                nursery.start_soon(client.last_trade, "SPY")
        elapsed = trio.current_time() - start
    assert up.calls == 6
    assert elapsed >= 12.0  # five from the burst, the sixth waits a whole token (60 s / 5)
    assert peak == 1
    # latency excludes budget waits: every record is the handler's 0.1 s.
    assert all(r.latency_s == pytest.approx(0.1) for r in up.records)


async def test_retries_spend_budget_tokens(autojump_clock: trio.testing.MockClock) -> None:
    budget = RequestBudget(per_minute=60, burst=1, concurrency=1)
    up = Upstream(lambda r: ok(LAST_TRADE) if len(up.requests) > 2 else raw(b"", 503))
    async with up.client(budget=budget) as client:
        await client.last_trade("SPY")
    assert up.calls == 3 and budget.stats()["acquired"] == 3.0


async def test_gzip_bodies_are_decoded() -> None:
    body = gzip.compress(orjson.dumps(LAST_TRADE))
    up = Upstream(always(raw(body, headers={"Content-Encoding": "gzip"})))
    async with up.client() as client:
        trade = await client.last_trade("SPY")
    assert trade is not None and trade.ts_ms == 1766159982123
