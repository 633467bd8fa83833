"""The fake Massive server: wire shapes and units, self-consistency, pagination, faults,
auth, the control API, determinism and speed, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
import trio
from trio.testing import MockClock

from spotlight.market.massive.models import parse_option_snapshot
from spotlight.market.simulated_listings import day_listing
from spotlight.testing.fake_massive import (
    FakeMassive,
    FaultPlan,
    create_fake_massive,
    serve_fake_massive,
)
from spotlight.testing.fake_massive_data import chain_json, market_status, upcoming_holidays

NY = ZoneInfo("America/New_York")
T0 = int(datetime(2025, 12, 17, 11, 0, tzinfo=NY).timestamp() * 1000)  # a Wednesday
NOW = T0 + 10 * 60_000 + 30_000
TODAY = "2025-12-17"
AUTH = {"Authorization": "Bearer test-key"}
BASE = "http://127.0.0.1:9"  # never dialled: the MockTransport answers


def _ny(y: int, m: int, d: int, hh: int, mm: int) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=NY).timestamp() * 1000)


@cache
def _shared() -> FakeMassive:
    # One fake for the read-only tests (history generation is the slow part); its clock is
    # frozen ten minutes after the start so live bars exist.
    return create_fake_massive(seed=7, start_ms=T0, clock=lambda: NOW)


@dataclass
class Env:
    fake: FakeMassive
    client: httpx.AsyncClient
    url: str

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params or None)

    async def ok(self, path: str, **params: Any) -> Any:
        r = await self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json()

    async def follow(self, next_url: str) -> Any:
        # As the official client does: path + query of next_url, on our own base URL.
        parts = urlsplit(next_url)
        r = await self.client.get(f"{parts.path}?{parts.query}")
        assert r.status_code == 200, r.text
        return r.json()

    async def collect(self, path: str, **params: Any) -> tuple[list[Any], list[str]]:
        body = await self.ok(path, **params)
        results, urls = list(body.get("results", [])), []
        while "next_url" in body:
            urls.append(body["next_url"])
            assert len(urls) < 200
            body = await self.follow(body["next_url"])
            results += body.get("results", [])
        return results, urls


async def _serve(fake: FakeMassive, nursery: trio.Nursery) -> str:
    url: str = await nursery.start(serve_fake_massive, fake, "127.0.0.1", 0)
    return url


@pytest.fixture
async def env(nursery: trio.Nursery) -> AsyncIterator[Env]:
    fake = _shared()
    fake.faults.clear()
    fake.counts.clear()
    fake.requests.clear()
    url = await _serve(fake, nursery)
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client:
        yield Env(fake, client, url)


def _is_ns(x: object) -> bool:
    return isinstance(x, int) and 1_600_000_000_000_000_000 < x < 2_000_000_000_000_000_000


def _is_ms(x: object) -> bool:
    return isinstance(x, int) and 1_600_000_000_000 < x < 2_000_000_000_000


# ---------------------------------------------------------------------------------------
# Aggregates


async def test_index_minute_bars_have_only_ohlct_in_ms(env: Env) -> None:
    body = await env.ok(f"/v2/aggs/ticker/I:SPX/range/1/minute/{TODAY}/{TODAY}")
    assert body["status"] == "OK" and body["ticker"] == "I:SPX"
    assert isinstance(body["request_id"], str) and "adjusted" not in body
    bars = body["results"]
    assert body["resultsCount"] == len(bars) == body["queryCount"]
    # The 09:30 open to now, one bar a minute: the index keeps NYSE regular hours.
    assert len(bars) == (NOW - _ny(2025, 12, 17, 9, 30)) // 60_000 + 1
    for bar in bars:
        assert set(bar) == {"o", "h", "l", "c", "t"}
        assert _is_ms(bar["t"]) and bar["t"] % 60_000 == 0
        assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
    assert [b["t"] for b in bars] == sorted(b["t"] for b in bars)
    assert bars[-1]["t"] == NOW - NOW % 60_000  # the live minute is included


async def test_stock_bars_add_volume_vwap_and_trade_count(env: Env) -> None:
    body = await env.ok(f"/v2/aggs/ticker/SPY/range/5/minute/{TODAY}/{TODAY}", adjusted="true")
    assert body["adjusted"] is True
    for bar in body["results"]:
        assert set(bar) == {"o", "h", "l", "c", "t", "v", "vw", "n"}
        assert bar["t"] % 300_000 == 0 and bar["v"] > 0 and bar["n"] > 0
        assert bar["l"] <= bar["vw"] <= bar["h"]
    assert 500 < body["results"][-1]["c"] < 700  # SPY ~ SPX / 10


async def test_hour_and_day_bars_roll_up_minutes_on_new_york_boundaries(env: Env) -> None:
    minutes = (await env.ok("/v2/aggs/ticker/SPY/range/1/minute/2025-12-16/2025-12-16"))["results"]
    hours = (await env.ok("/v2/aggs/ticker/SPY/range/1/hour/2025-12-16/2025-12-16"))["results"]
    days = (await env.ok("/v2/aggs/ticker/SPY/range/1/day/2025-12-10/2025-12-16"))["results"]
    assert len(hours) == 24 and hours[0]["t"] == _ny(2025, 12, 16, 0, 0)
    ten = [m for m in minutes if hours[10]["t"] <= m["t"] < hours[10]["t"] + 3_600_000]
    assert hours[10]["h"] == max(m["h"] for m in ten) and hours[10]["o"] == ten[0]["o"]
    assert hours[10]["v"] == pytest.approx(sum(m["v"] for m in ten))
    assert [d["t"] for d in days] == [_ny(2025, 12, day, 0, 0) for day in range(10, 17)]
    assert days[-1]["c"] == minutes[-1]["c"] and days[-1]["n"] == sum(m["n"] for m in minutes)


async def test_unknown_ticker_has_no_results_key(env: Env) -> None:
    body = await env.ok(f"/v2/aggs/ticker/NOPE/range/1/minute/{TODAY}/{TODAY}")
    assert body["status"] == "OK" and body["resultsCount"] == 0 and "results" not in body


async def test_bad_aggs_request_is_a_400_error_body(env: Env) -> None:
    r = await env.get(f"/v2/aggs/ticker/SPY/range/1/minute/yesterday/{TODAY}")
    assert r.status_code == 400 and r.json()["status"] == "ERROR" and r.json()["error"]


@pytest.mark.parametrize(
    ("span", "limit", "sort"),
    [("minute", 100, "asc"), ("hour", 90, "asc"), ("minute", 150, "desc")],
)
async def test_aggs_pages_through_next_url_to_the_unpaged_result(
    env: Env, span: str, limit: int, sort: str
) -> None:
    path = f"/v2/aggs/ticker/I:SPX/range/1/{span}/2025-12-16/{TODAY}"
    whole = (await env.ok(path, sort=sort))["results"]
    paged, urls = await env.collect(path, sort=sort, limit=limit)
    assert len(urls) >= 3 and paged == whole
    first = urlsplit(urls[0]).path.split("/")
    # The cursor rewrites `from` (ascending) or `to` (descending) to a ms timestamp.
    assert first[-2 if sort == "asc" else -1].isdigit()
    assert "cursor=" in urls[0] and "limit" not in urlsplit(urls[0]).query


# ---------------------------------------------------------------------------------------
# Last trade, NBBO


async def test_last_trade_is_ns_and_near_the_last_bar(env: Env) -> None:
    body = await env.ok("/v2/last/trade/SPY")
    t = body["results"]
    assert body["status"] == "OK" and t["T"] == "SPY"
    assert _is_ns(t["t"]) and _is_ns(t["y"]) and t["y"] <= t["t"]
    assert isinstance(t["q"], int) and isinstance(t["x"], int) and t["z"] == 2 and t["s"] > 0
    bars = (await env.ok(f"/v2/aggs/ticker/SPY/range/1/minute/{TODAY}/{TODAY}"))["results"]
    assert t["p"] == bars[-1]["c"]
    assert t["t"] // 1_000_000 // 60_000 * 60_000 == bars[-1]["t"]


async def test_last_nbbo_has_bid_below_ask(env: Env) -> None:
    q = (await env.ok("/v2/last/nbbo/SPY"))["results"]
    assert q["T"] == "SPY" and 0 < q["p"] < q["P"] and q["s"] >= 1 and q["S"] >= 1
    assert _is_ns(q["t"])
    last = (await env.ok("/v2/last/trade/SPY"))["results"]["p"]
    assert abs(q["p"] - last) < 0.5


@pytest.mark.parametrize("path", ["/v2/last/trade/I:SPX", "/v2/last/nbbo/I:SPX"])
async def test_indices_have_no_last_trade_or_nbbo(env: Env, path: str) -> None:
    r = await env.get(path)
    assert r.status_code == 404
    assert r.json()["status"] == "NOT_FOUND" and r.json()["message"]


# ---------------------------------------------------------------------------------------
# Market status and holidays


async def test_market_status_is_a_flat_object_in_new_york_time(env: Env) -> None:
    body = await env.ok("/v1/marketstatus/now")
    assert "status" not in body and "results" not in body
    assert body["market"] == "open" and body["earlyHours"] is False
    assert body["serverTime"] == "2025-12-17T11:10:30-05:00"
    assert body["exchanges"] == {"nasdaq": "open", "nyse": "open", "otc": "open"}
    assert body["currencies"]["crypto"] == "open" and body["indicesGroups"]["s_and_p"] == "open"


def test_market_status_follows_the_clock_and_the_calendar() -> None:
    pre = market_status(_ny(2025, 12, 17, 8, 0))
    assert pre["market"] == "extended-hours" and pre["earlyHours"] and not pre["afterHours"]
    post = market_status(_ny(2025, 12, 17, 17, 0))
    assert post["market"] == "extended-hours" and post["afterHours"]
    assert market_status(_ny(2025, 12, 20, 11, 0))["market"] == "closed"  # Saturday
    assert market_status(_ny(2025, 12, 25, 11, 0))["market"] == "closed"  # Christmas
    assert market_status(_ny(2025, 12, 24, 14, 0))["market"] == "extended-hours"  # early close
    assert market_status(_ny(2025, 7, 1, 11, 0))["serverTime"].endswith("-04:00")  # EDT


async def test_upcoming_holidays_is_a_bare_array_with_an_early_close(env: Env) -> None:
    days = await env.ok("/v1/marketstatus/upcoming")
    assert isinstance(days, list) and days
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    assert all(d["date"] >= TODAY and d["status"] in ("closed", "early-close") for d in days)
    early = next(d for d in days if d["status"] == "early-close")
    assert early["date"] == "2025-12-24" and early["close"] == "2025-12-24T18:00:00.000Z"
    assert early["open"] == "2025-12-24T14:30:00.000Z"
    names = {d["name"] for d in days}
    assert {"Christmas", "Good Friday", "Thanksgiving", "Juneteenth"} <= names
    # Good Friday 2026 is April 3.
    assert any(d["date"] == "2026-04-03" for d in upcoming_holidays(NOW))


# ---------------------------------------------------------------------------------------
# Options: reference contracts


async def test_reference_contracts_take_the_bare_underlying(env: Env) -> None:
    body = await env.ok(
        "/v3/reference/options/contracts",
        underlying_ticker="SPX",
        expiration_date="2025-12-19",
        contract_type="put",
        **{"strike_price.gte": 5800, "strike_price.lte": 5900},
        limit=1000,
    )
    items = body["results"]
    assert "next_url" not in body and items
    roots = {c["ticker"][2:6] for c in items}
    assert roots == {"SPXW", "SPX2"}  # the third Friday: PM SPXW and AM SPX monthlies
    for c in items:
        assert c["underlying_ticker"] == "SPX" and c["contract_type"] == "put"
        assert c["expiration_date"] == "2025-12-19" and 5800 <= c["strike_price"] <= 5900
        assert c["exercise_style"] == "european" and c["shares_per_contract"] == 100
        assert c["ticker"] == f"O:{c['ticker'][2:-15]}251219P{round(c['strike_price'] * 1000):08d}"
    prefixed = await env.ok("/v3/reference/options/contracts", underlying_ticker="I:SPX")
    assert prefixed["results"] == []


async def test_reference_contracts_paginate_and_cap_the_limit(env: Env) -> None:
    params: dict[str, Any] = {"underlying_ticker": "SPY", "expiration_date.lte": "2025-12-19"}
    whole = (await env.ok("/v3/reference/options/contracts", limit=1000, **params))["results"]
    paged, urls = await env.collect(
        "/v3/reference/options/contracts", limit=150, sort="strike_price", **params
    )
    assert len(urls) >= 2 and len(paged) == len(whole)
    assert {c["ticker"] for c in paged} == {c["ticker"] for c in whole}
    keys = [(c["strike_price"], c["ticker"]) for c in paged]
    assert keys == sorted(keys)
    r = await env.get("/v3/reference/options/contracts", limit=1001)
    assert r.status_code == 400 and r.json()["status"] == "ERROR"


# ---------------------------------------------------------------------------------------
# Options: chain snapshot


async def test_chain_items_have_the_documented_shape_and_units(env: Env) -> None:
    body = await env.ok(
        "/v3/snapshot/options/I:SPX", expiration_date=TODAY, contract_type="call", limit=150
    )
    items = body["results"]
    assert body["status"] == "OK" and len(items) == 150 and "next_url" in body
    spot = items[0]["underlying_asset"]["value"]
    near = [i for i in items if abs(i["details"]["strike_price"] - spot) < 30]
    assert near
    for item in items:
        d = item["details"]
        assert set(d) == {
            "ticker",
            "contract_type",
            "exercise_style",
            "expiration_date",
            "strike_price",
            "shares_per_contract",
        }
        assert d["ticker"].startswith("O:SPXW251217C") and d["expiration_date"] == TODAY
        ua = item["underlying_asset"]
        assert ua["ticker"] == "I:SPX" and "price" not in ua and ua["value"] == spot
        assert _is_ns(ua["last_updated"]) and ua["timeframe"] == "REAL-TIME"
        q = item["last_quote"]
        assert 0 <= q["bid"] <= q["midpoint"] <= q["ask"] and q["ask"] > 0
        assert _is_ns(q["last_updated"]) and q["timeframe"] == "REAL-TIME"
        t = item["last_trade"]
        assert _is_ns(t["sip_timestamp"]) and t["size"] >= 1 and t["price"] > 0
        assert _is_ns(item["day"]["last_updated"]) and item["day"]["volume"] >= 0
        assert item["open_interest"] >= 0
        assert item["break_even_price"] == pytest.approx(d["strike_price"] + q["midpoint"])
        if "greeks" in item:
            g = item["greeks"]
            assert set(g) == {"delta", "gamma", "theta", "vega"}
            assert 0 <= g["delta"] < 1 and g["gamma"] >= 0 and g["theta"] <= 0 and g["vega"] >= 0
            assert 0.03 < item["implied_volatility"] < 2
        else:  # only deep in-the-money contracts lose their greeks
            assert d["strike_price"] < spot * 0.99
    assert any("greeks" not in i for i in items)
    assert all("greeks" in i for i in near)


async def test_chain_is_realistic_smile_gamma_and_open_interest(env: Env) -> None:
    items, _ = await env.collect(
        "/v3/snapshot/options/I:SPX",
        expiration_date="2025-12-24",
        contract_type="put",
        limit=250,
    )
    spot = items[0]["underlying_asset"]["value"]
    by_strike = {i["details"]["strike_price"]: i for i in items}
    atm = min(by_strike, key=lambda k: abs(k - spot))
    low = min(k for k in by_strike if k >= spot * 0.9)
    high = max(k for k in by_strike if k <= spot * 1.04 and "greeks" in by_strike[k])
    iv = {k: by_strike[k]["implied_volatility"] for k in (low, atm, high)}
    assert iv[low] > iv[atm] > 0.05  # skew: puts below the money are richer
    gammas = {k: i["greeks"]["gamma"] for k, i in by_strike.items() if "greeks" in i}
    assert abs(max(gammas, key=lambda k: gammas[k]) - spot) < spot * 0.01
    oi = {k: i["open_interest"] for k, i in by_strike.items()}
    near = [k for k in oi if abs(k - spot) < spot * 0.03]
    assert sum(oi[k] for k in near if k % 100 == 0) / len([k for k in near if k % 100 == 0]) > (
        sum(oi[k] for k in near if k % 25) / len([k for k in near if k % 25])
    )  # round strikes carry more open interest
    puts_otm = by_strike[atm - 50]["last_quote"]["midpoint"]
    assert 0 < puts_otm < by_strike[atm + 50]["last_quote"]["midpoint"]


async def test_chain_pagination_collects_every_contract_once(env: Env) -> None:
    params = {"expiration_date.gte": TODAY, "expiration_date.lte": "2025-12-18"}
    items, urls = await env.collect("/v3/snapshot/options/I:SPX", limit=250, **params)
    tickers = [i["details"]["ticker"] for i in items]
    listing = [
        c.ticker
        for c in env.fake.options.listing("I:SPX", NOW)
        if TODAY <= c.expiration <= "2025-12-18"
    ]
    assert len(urls) >= 2 and tickers == sorted(listing) and len(set(tickers)) == len(tickers)
    for url in urls:  # an opaque base64 cursor, and nothing else
        query = urlsplit(url).query
        assert query.startswith("cursor=") and "&" not in query
        base64.urlsafe_b64decode(query[7:] + "==")
    r = await env.get("/v3/snapshot/options/I:SPX", limit=251)
    assert r.status_code == 400


async def test_chain_for_a_stock_has_underlying_price(env: Env) -> None:
    body = await env.ok("/v3/snapshot/options/SPY", expiration_date=TODAY, limit=5)
    ua = body["results"][0]["underlying_asset"]
    assert ua["ticker"] == "SPY" and "value" not in ua and 500 < ua["price"] < 700
    assert body["results"][0]["details"]["exercise_style"] == "american"
    # Snapshot paths take the prefixed index: a bare SPX matches nothing.
    assert (await env.ok("/v3/snapshot/options/SPX"))["results"] == []


async def test_single_contract_snapshot(env: Env) -> None:
    chain = await env.ok("/v3/snapshot/options/I:SPX", expiration_date=TODAY, limit=3)
    ticker = chain["results"][1]["details"]["ticker"]
    body = await env.ok(f"/v3/snapshot/options/I:SPX/{ticker}")
    assert body["status"] == "OK" and isinstance(body["results"], dict)
    assert body["results"] == chain["results"][1]
    r = await env.get("/v3/snapshot/options/I:SPX/O:SPXW251217C09999000")
    assert r.status_code == 404 and r.json()["status"] == "NOT_FOUND"


# ---------------------------------------------------------------------------------------
# Indices and self-consistency


async def test_indices_snapshot_and_per_item_errors(env: Env) -> None:
    body = await env.ok("/v3/snapshot/indices", **{"ticker.any_of": "I:SPX,I:VIX,I:FOO"})
    assert body["status"] == "OK"
    spx, vix, foo = body["results"]
    assert foo == {"ticker": "I:FOO", "error": "NOT_FOUND", "message": "Ticker not found."}
    for item in (spx, vix):
        assert item["type"] == "indices" and item["market_status"] == "regular_trading"
        assert item["timeframe"] == "REAL-TIME" and _is_ns(item["last_updated"])
        s = item["session"]
        assert s["low"] <= item["value"] <= s["high"] and s["close"] == item["value"]
        assert s["change"] == pytest.approx(item["value"] - s["previous_close"], abs=0.011)
    assert spx["ticker"] == "I:SPX" and spx["name"] == "S&P 500" and 5000 < spx["value"] < 7000
    assert vix["ticker"] == "I:VIX" and 10 < vix["value"] < 25


async def test_spx_value_agrees_across_endpoints(env: Env) -> None:
    idx = await env.ok("/v3/snapshot/indices", **{"ticker.any_of": "I:SPX"})
    value = idx["results"][0]["value"]
    bars = (await env.ok(f"/v2/aggs/ticker/I:SPX/range/1/minute/{TODAY}/{TODAY}"))["results"]
    chain = await env.ok("/v3/snapshot/options/I:SPX", limit=1)
    assert value == bars[-1]["c"] == chain["results"][0]["underlying_asset"]["value"]
    spy = (await env.ok("/v2/last/trade/SPY"))["results"]["p"]
    assert 10.0 < value / spy < 10.1


async def test_live_bars_advance_with_the_clock(nursery: trio.Nursery) -> None:
    now = [T0]
    fake = create_fake_massive(start_ms=T0, clock=lambda: now[0], history_days=1)
    url = await _serve(fake, nursery)
    async with httpx.AsyncClient(base_url=url, headers=AUTH) as c:
        path = f"/v2/aggs/ticker/I:SPX/range/1/minute/{TODAY}/{TODAY}"
        before = (await c.get(path)).json()["results"]
        now[0] = T0 + 3 * 60_000 + 30_000
        after = (await c.get(path)).json()["results"]
        assert len(after) == len(before) + 4 and after[: len(before)] == before
        value = (await c.get("/v3/snapshot/indices?ticker=I:SPX")).json()["results"][0]["value"]
        assert value == after[-1]["c"]


# ---------------------------------------------------------------------------------------
# Auth


async def test_every_endpoint_requires_the_key(env: Env) -> None:
    async with httpx.AsyncClient(base_url=env.url) as anon:
        r = await anon.get("/v3/snapshot/indices?ticker.any_of=I:SPX")
        assert r.status_code == 401
        assert r.json()["status"] == "ERROR" and r.json()["error"] == "API Key was not provided"
        r = await anon.get("/v1/marketstatus/now", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"] == "Unknown API Key"
        r = await anon.get("/v1/marketstatus/now?apiKey=nope")
        assert r.status_code == 401 and r.json()["error"] == "Unknown API Key"
        r = await anon.get("/v1/marketstatus/now?apiKey=test-key")
        assert r.status_code == 200
    assert [e.status for e in env.fake.requests] == [401, 401, 401, 200]


# ---------------------------------------------------------------------------------------
# Faults


CHAIN: tuple[str, dict[str, Any]] = (
    "/v3/snapshot/options/I:SPX",
    {"expiration_date": TODAY, "limit": 10},
)


async def test_fault_status_codes_and_bodies(env: Env) -> None:
    plan = env.fake.faults
    plan.add("options_chain", "status", code=502)
    plan.add("options_chain", "status", code=499)
    plan.add("options_chain", "status", code=500, body="json")
    r = await env.get(CHAIN[0], **CHAIN[1])
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html")
    assert "<html>" in r.text
    r = await env.get(CHAIN[0], **CHAIN[1])
    assert r.status_code == 499 and r.content == b""
    r = await env.get(CHAIN[0], **CHAIN[1])
    assert r.status_code == 500 and r.json()["status"] == "ERROR"
    assert (await env.get(CHAIN[0], **CHAIN[1])).status_code == 200


async def test_fault_rate_limit(env: Env) -> None:
    env.fake.faults.add("indices", "rate_limit", retry_after=2)
    env.fake.faults.add("indices", "rate_limit", body="empty")
    r = await env.get("/v3/snapshot/indices")
    assert r.status_code == 429 and r.headers["retry-after"] == "2"
    assert r.json()["status"] == "ERROR" and "exceeded the maximum requests" in r.json()["error"]
    r = await env.get("/v3/snapshot/indices")
    assert r.status_code == 429 and r.content == b"" and "retry-after" not in r.headers


@pytest.mark.parametrize(
    ("kind", "code", "status", "field", "text"),
    [
        ("unauthorized", 401, "ERROR", "error", "Unknown API Key"),
        ("forbidden", 403, "NOT_AUTHORIZED", "message", "not entitled"),
        ("not_found", 404, "NOT_FOUND", "message", "Data not found."),
        ("error_in_200", 200, "NOT_AUTHORIZED", "message", "not entitled"),
    ],
)
async def test_fault_error_bodies(
    env: Env, kind: str, code: int, status: str, field: str, text: str
) -> None:
    env.fake.faults.add("last_trade", kind)
    r = await env.get("/v2/last/trade/SPY")
    body = r.json()
    assert r.status_code == code and body["status"] == status and text in body[field]
    assert "results" not in body and body["request_id"]
    assert (await env.get("/v2/last/trade/SPY")).json()["status"] == "OK"


async def test_fault_empty_and_missing_results(env: Env) -> None:
    plan = env.fake.faults
    plan.add("aggs", "empty")
    plan.add("aggs", "missing_results")
    plan.add("options_chain", "empty")
    plan.add("market_status", "empty")
    plan.add("holidays", "missing_results")
    path = f"/v2/aggs/ticker/SPY/range/1/minute/{TODAY}/{TODAY}"
    empty = await env.ok(path, limit=5)
    assert empty["status"] == "OK" and empty["results"] == [] and empty["resultsCount"] == 0
    assert empty["queryCount"] == 0 and "next_url" not in empty
    missing = await env.ok(path, limit=5)
    assert missing["status"] == "OK" and "results" not in missing and missing["resultsCount"] == 0
    chain = await env.ok(CHAIN[0], **CHAIN[1])
    assert chain == {"status": "OK", "request_id": chain["request_id"], "results": []}
    assert await env.ok("/v1/marketstatus/now") == {}
    assert await env.ok("/v1/marketstatus/upcoming") is None


async def test_fault_malformed(env: Env) -> None:
    env.fake.faults.add("option_contract", "malformed")
    ticker = (await env.ok(CHAIN[0], **CHAIN[1]))["results"][0]["details"]["ticker"]
    r = await env.get(f"/v3/snapshot/options/I:SPX/{ticker}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(r.content)
    assert r.content.startswith(b'{"status":"OK"')


async def test_fault_delayed(env: Env) -> None:
    env.fake.faults.add("options_chain", "delayed")
    env.fake.faults.add("indices", "delayed")
    env.fake.faults.add("aggs", "delayed")
    chain = await env.ok(CHAIN[0], **CHAIN[1])
    assert chain["status"] == "DELAYED" and chain["results"]
    for item in chain["results"]:
        assert item["last_quote"]["timeframe"] == item["last_trade"]["timeframe"] == "DELAYED"
        assert item["underlying_asset"]["timeframe"] == "DELAYED"
    idx = await env.ok("/v3/snapshot/indices", ticker="I:SPX")
    assert idx["status"] == "DELAYED" and idx["results"][0]["timeframe"] == "DELAYED"
    aggs = await env.ok(f"/v2/aggs/ticker/SPY/range/1/day/{TODAY}/{TODAY}")
    assert aggs["status"] == "DELAYED" and aggs["results"]


@pytest.mark.parametrize(
    ("endpoint", "path", "params"),
    [
        ("options_chain", *CHAIN),
        ("options_contracts", "/v3/reference/options/contracts", {"underlying_ticker": "SPY"}),
        ("aggs", f"/v2/aggs/ticker/SPY/range/1/minute/{TODAY}/{TODAY}", {"limit": 50}),
        ("indices", "/v3/snapshot/indices", {"limit": 1}),
    ],
)
async def test_fault_loop_next_url_points_back_forever(
    env: Env, endpoint: str, path: str, params: dict[str, Any]
) -> None:
    env.fake.faults.add(endpoint, "loop_next_url", times=None)
    first = await env.ok(path, **params)
    seen = [first["next_url"]]
    for _ in range(3):
        body = await env.follow(seen[-1])
        seen.append(body["next_url"])
        assert body["results"] == first["results"]
    assert len(set(seen[1:])) == 1 and seen[1] == seen[0]
    env.fake.faults.clear()
    resumed = await env.follow(seen[-1])  # normal paging resumes
    assert resumed["results"] == first["results"] and resumed["next_url"] != seen[-1]


async def test_latency_fault_delays_the_answer(autojump_clock: MockClock) -> None:
    # On Trio's clock (the fake's request handlers behind a MockTransport): exact delays.
    fake = _shared()
    fake.faults.clear()
    fake.faults.add("market_status", "latency", seconds=0.3)
    fake.faults.add("market_status", "latency", seconds=0.2)
    fake.faults.add("market_status", "status", code=503)
    transport = httpx.MockTransport(fake.handle)
    async with httpx.AsyncClient(base_url=BASE, headers=AUTH, transport=transport) as c:
        t = trio.current_time()
        r = await c.get("/v1/marketstatus/now")
        assert trio.current_time() - t == pytest.approx(0.5) and r.status_code == 503  # stacked
        t = trio.current_time()
        assert (await c.get("/v1/marketstatus/now")).status_code == 200
        assert trio.current_time() == t  # one request consumed the faults


async def test_times_count_down_star_matches_all_and_none_lasts(env: Env) -> None:
    plan = env.fake.faults
    plan.add("indices", "status", code=503, times=2)
    codes = [(await env.get("/v3/snapshot/indices")).status_code for _ in range(3)]
    assert codes == [503, 503, 200] and len(plan) == 0
    plan.add("*", "not_found", times=None)
    for path in ("/v1/marketstatus/now", "/v2/last/trade/SPY", "/v3/snapshot/indices"):
        assert (await env.get(path)).status_code == 404
    assert len(plan) == 1 and plan.active[0].times is None
    plan.clear()
    assert (await env.get("/v1/marketstatus/now")).status_code == 200
    counts = env.fake.counts
    assert counts["indices"] == 4 and counts["market_status"] == 2 and counts["last_trade"] == 1
    assert [e.endpoint for e in env.fake.requests][-2:] == ["indices", "market_status"]


async def test_the_mock_transport_answers_as_http_does(env: Env) -> None:
    """``fake.handle`` behind ``httpx.MockTransport`` (the virtual-time tests' Massive): the
    same statuses, headers and bodies as the fake over HTTP, faults and next_url included."""
    direct = httpx.AsyncClient(
        base_url=env.url, headers=AUTH, transport=httpx.MockTransport(env.fake.handle)
    )
    paths = [
        "/v2/aggs/ticker/SPY/range/1/minute/2025-12-17/2025-12-17?limit=7",
        "/v2/aggs/ticker/I:SPX/range/5/minute/2025-12-17/2025-12-17",
        "/v2/last/trade/QQQ",
        "/v3/snapshot/options/I:SPX?limit=3&strike_price.gte=6000",
        "/v3/snapshot/indices?ticker.any_of=I:SPX,I:NOPE",
        "/v1/marketstatus/now",
        "/v2/aggs/ticker/SPY/range/1/fortnight/2025-12-17/2025-12-17",
        "/no/such/endpoint",
    ]
    async with direct:
        for path in [*paths, "503", "429"]:
            if path == "503":
                env.fake.faults.add("last_trade", "status", times=2, code=503)
                path = "/v2/last/trade/SPY"
            elif path == "429":
                env.fake.faults.add("last_nbbo", "rate_limit", times=2, retry_after=3)
                path = "/v2/last/nbbo/SPY"
            over_http, in_memory = await env.client.get(path), await direct.get(path)
            assert in_memory.status_code == over_http.status_code, path
            if path == "/no/such/endpoint":
                continue  # a 404 either way (over HTTP, Quart's own HTML page)
            for header in ("content-type", "retry-after"):
                assert in_memory.headers.get(header) == over_http.headers.get(header), path
            if over_http.headers.get("content-type", "").startswith("application/json"):
                assert _no_id(in_memory.json()) == _no_id(over_http.json()), path
            else:
                assert in_memory.content == over_http.content, path
        unauthorized = await direct.get("/v2/last/trade/SPY", headers={"Authorization": "x"})
        assert unauthorized.status_code == 401


def _no_id(body: Any) -> Any:
    """A reply without its request id (each request draws the next one)."""
    return {k: v for k, v in body.items() if k != "request_id"} if isinstance(body, dict) else body


def test_fault_plan_validates() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="unknown endpoint"):
        plan.add("chain", "empty")
    with pytest.raises(ValueError, match="unknown fault kind"):
        plan.add("aggs", "explode")
    with pytest.raises(ValueError, match="times"):
        plan.add("aggs", "empty", times=0)
    with pytest.raises(ValueError, match="takes"):
        plan.add("aggs", "empty", code=1)
    with pytest.raises(ValueError, match="code"):
        plan.add("aggs", "status", code=42)
    assert len(plan) == 0


# ---------------------------------------------------------------------------------------
# Control API


async def test_control_api(env: Env) -> None:
    c = env.client
    r = await c.post(
        "/__fake/faults",
        json={
            "endpoint": "last_nbbo",
            "kind": "rate_limit",
            "times": 2,
            "params": {"retry_after": 1},
        },
    )
    assert r.status_code == 200 and r.json()["fault"]["kind"] == "rate_limit"
    assert (await c.get("/v2/last/nbbo/SPY")).status_code == 429
    stats = (await c.get("/__fake/stats")).json()
    assert stats["counts"] == {"last_nbbo": 1} and stats["faults"][0]["times"] == 1
    r = await c.post("/__fake/faults", json={"endpoint": "*", "kind": "empty", "times": None})
    assert r.status_code == 200 and len(r.json()["faults"]) == 2
    assert (await c.delete("/__fake/faults")).json() == {"cleared": 2}
    assert (await c.get("/v2/last/nbbo/SPY")).status_code == 200
    bad = await c.post("/__fake/faults", json={"endpoint": "aggs", "kind": "nope"})
    assert bad.status_code == 400 and "unknown fault kind" in bad.json()["error"]
    assert (await c.post("/__fake/faults", content=b"{not json")).status_code == 400


async def test_control_api_can_be_disabled(nursery: trio.Nursery) -> None:
    fake = create_fake_massive(start_ms=T0, clock=lambda: NOW, history_days=0, control=False)
    url = await _serve(fake, nursery)
    async with httpx.AsyncClient(base_url=url) as c:
        assert (await c.get("/__fake/stats")).status_code == 404
        assert (await c.post("/__fake/faults", json={})).status_code == 404


# ---------------------------------------------------------------------------------------
# Determinism and speed


def test_same_seed_same_chain_other_seed_other_chain() -> None:
    def chain(seed: int) -> list[dict[str, Any]]:
        fake = create_fake_massive(seed=seed, start_ms=T0, clock=lambda: NOW, history_days=1)
        return chain_json(fake.options, "I:SPX", NOW)

    a, b, c = chain(11), chain(11), chain(12)
    assert a == b and len(a) > 2000
    assert a != c


def test_full_spx_chain_generates_in_well_under_a_second() -> None:
    fake = create_fake_massive(start_ms=T0, clock=lambda: NOW, history_days=1)
    day_listing.cache_clear()  # cold: the day's listing is built here too
    # CPU time, not wall time: the bound holds on a busy machine (about 0.5 s here).
    t = time.process_time()
    chain = chain_json(fake.options, "I:SPX", NOW)
    elapsed = time.process_time() - t
    assert len(chain) > 3000 and elapsed < 1.0, elapsed
    roots = {i["details"]["ticker"][2:6] for i in chain}
    assert roots == {"SPXW", "SPX2"}
    expiries = sorted({i["details"]["expiration_date"] for i in chain})
    assert expiries[0] == TODAY and len(expiries) >= 11


def test_the_fake_serves_exactly_the_simulators_option_snapshots() -> None:
    # One option book, two renderings: Massive's JSON (the fake) and the domain snapshot
    # (the simulated source). Parsed through the real Massive parser they must agree on
    # every field of every contract, so analytics see the same chain from either.
    fake = create_fake_massive(start_ms=T0, clock=lambda: NOW, history_days=1)
    for underlying in ("I:SPX", "SPY"):
        items = chain_json(fake.options, underlying, NOW)
        direct = fake.options.chain(underlying, NOW)
        assert len(items) == len(direct) > 500
        assert [parse_option_snapshot(i) for i in items] == direct


# ---------------------------------------------------------------------------------------
# Command line


def test_cli_prints_the_url_and_serves_until_interrupted() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotlight", "fake-massive", "--port", "0", "--key", "k1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("fake Massive on http://127.0.0.1:"), line
        url = line.split()[3]
        r = httpx.get(f"{url}/v1/marketstatus/now", headers={"Authorization": "Bearer k1"})
        assert r.status_code == 200 and r.json()["market"] in ("open", "closed", "extended-hours")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
