"""The live path end to end: Spotlight polling the shipped fake Massive, on virtual time.

Spotlight and the fake share one wall clock, stated: a Wednesday at 11:00 New York time
unless a test says otherwise, so market status and backfill dates are the same whatever
the real date is. The fake answers through ``httpx.MockTransport`` (its request handlers,
no socket); everything on Spotlight's side is the real server (support.virtual_server).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
import trio
from support import (
    FAKE_MASSIVE_URL,
    MASSIVE_KEY,
    SATURDAY_11,
    WEDNESDAY_11,
    Frame,
    VirtualServer,
    http,
    sse,
    virtual_server,
    wait_for,
)
from trio.testing import MockClock
from trio_websocket import open_websocket_url

from spotlight.domain.nytime import NY
from spotlight.market.massive.source import MassiveSource
from spotlight.runtime.clock import TrioWallClock
from spotlight.testing.fake_massive import FakeMassive, create_fake_massive

KEY = MASSIVE_KEY
ANCHOR_MS = WEDNESDAY_11


@asynccontextmanager
async def live_server(
    clock: MockClock,
    *,
    key: str = KEY,
    at: int = ANCHOR_MS,
    faults: Sequence[tuple[str, str]] = (),
    **extra: Any,
) -> AsyncIterator[tuple[VirtualServer, FakeMassive]]:
    """The fake Massive and Spotlight polling it, from ``at``; ``faults`` (endpoint, kind)
    are in force, until cleared, before Spotlight starts (so its backfill meets them too)."""
    wall = TrioWallClock(at)
    fake = create_fake_massive(api_key=KEY, seed=11, clock=wall.now_ms)
    for endpoint, kind in faults:
        fake.faults.add(endpoint, kind, times=None, **({"code": 503} if kind == "status" else {}))
    settings = {
        "massive_api_key": key,
        "massive_prices_s": 1.0,
        "massive_status_s": 5.0,
        # Option chains are thousands of contracts a poll: once a minute unless a test is
        # about them (the first poll is at start).
        "massive_chain_s": 60.0,
        "massive_max_retries": 0,
        "sim_history_days": 0,
        **extra,
    }
    async with virtual_server(clock, at=at, massive=fake, **settings) as srv:
        yield srv, fake


def source_of(srv: VirtualServer) -> MassiveSource:
    source = srv.service.source
    assert isinstance(source, MassiveSource), source
    return source


def upstream(fake: FakeMassive) -> httpx.AsyncClient:
    """A client of the fake itself (what Spotlight's Massive client sees)."""
    return httpx.AsyncClient(base_url=FAKE_MASSIVE_URL, transport=httpx.MockTransport(fake.handle))


async def _until_status(s: Any, state: str, *, settled: bool = False) -> Frame:
    """The next status with ``state``: a ``status`` event, or the snapshot's current status.
    ``settled``: and every feed has answered (none still ``starting``), so a fault added
    next meets every feed's next poll, not a first one still under way."""

    def matches(status: Any) -> bool:
        if status is None or status["state"] != state:
            return False
        return not settled or all(v != "starting" for v in status["feeds"].values())

    def match(f: Frame) -> bool:
        if f.event == "status":
            return matches(f.json())
        if f.event == "snapshot":
            return matches(f.json()["status"])
        return False

    frame: Frame = await s.until(match)
    return frame


async def test_live_path_backfills_and_streams_massive_prices(mock_clock: MockClock) -> None:
    async with live_server(mock_clock) as (srv, fake), http(srv.url) as c:
        assert source_of(srv).kind == "massive"
        # Backfill: today's and the previous session's 1-minute bars.
        bars = (await c.get("/api/history?symbol=SPY&limit=5000")).json()["bars"]
        days = {dt.datetime.fromtimestamp(b["t"] / 1000, NY).date() for b in bars}
        assert len(days) == 2 and max(days) == dt.date(2025, 12, 17)
        spx = (await c.get("/api/history?symbol=I:SPX&limit=100")).json()["bars"]
        assert spx and all(b["v"] == 0.0 for b in spx)
        async with sse(c, "/realtime/sse?symbols=SPY,I:SPX") as s:
            with trio.fail_after(20):
                await _until_status(s, "live")
                spy = await s.until(lambda f: f.event == "tick" and f.json()["s"] == "SPY")
                idx = await s.until(lambda f: f.event == "tick" and f.json()["s"] == "I:SPX")
        assert 300 < spy.json()["p"] < 1500 and idx.json()["v"] == 0.0
        assert idx.json()["p"] / spy.json()["p"] > 9
        diag = (await c.get("/api/diag")).json()
        assert diag["market"]["source"] == "massive"
        assert diag["market"]["feeds"]["prices"]["state"] == "ok"
        assert diag["market"]["feeds"]["prices"]["lastSuccessMs"]
        assert fake.counts["last_trade"] > 0 and fake.counts["indices"] > 0
        metrics = (await c.get("/api/metrics")).text
        assert (
            'spotlight_massive_requests_total{endpoint="last_trade",outcome="ok",status="200"}'
            in metrics
            or 'spotlight_massive_requests_total{endpoint="last_trade",status="200",outcome="ok"}'
            in metrics
        )


async def test_failures_degrade_without_substitution_then_recover(mock_clock: MockClock) -> None:
    async with live_server(mock_clock) as (srv, fake), http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY,I:SPX") as s:
            with trio.fail_after(20):
                await _until_status(s, "live")
            fake.faults.add("*", "status", times=None, code=503)
            with trio.fail_after(20):
                degraded = await _until_status(s, "degraded")
            assert "503" in degraded.json()["reason"]
            # While Massive fails nothing moves: no price events at all for a while.
            seen: list[str] = []
            with trio.move_on_after(1.5):
                while True:
                    seen.append((await s.next()).event)
            assert not {"tick", "quote"} & set(seen)
            diag = (await c.get("/api/diag")).json()
            assert diag["market"]["feeds"]["prices"]["state"] == "degraded"
            assert diag["market"]["feeds"]["prices"]["failures"] >= 1
            fake.faults.clear()
            with trio.fail_after(20):
                await _until_status(s, "live")
                await s.until(lambda f: f.event == "tick")


async def test_massive_failing_from_the_start_never_shows_made_up_prices(
    mock_clock: MockClock,
) -> None:
    async with (
        live_server(mock_clock, faults=[("*", "status")]) as (srv, _fake),
        http(srv.url) as c,
    ):
        assert (await c.get("/api/history?symbol=SPY")).json()["bars"] == []
        async with sse(c, "/realtime/sse?symbols=SPY,QQQ,I:SPX") as s:
            snap = await s.until(lambda f: f.event == "snapshot")
            body = snap.json()
            assert all(v["trade"] is None and v["quote"] is None for v in body["symbols"].values())
            if (body["status"] or {}).get("state") != "degraded":
                with trio.fail_after(20):
                    await _until_status(s, "degraded")
            events: list[str] = []
            with trio.move_on_after(1.5):
                while True:
                    events.append((await s.next()).event)
            assert not {"tick", "quote", "bar:update", "bar:close"} & set(events)


async def test_a_refused_key_is_shown_as_a_configuration_error(mock_clock: MockClock) -> None:
    async with live_server(mock_clock, key="wrong-key") as (srv, _fake), http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY") as s:
            with trio.fail_after(20):
                st = await _until_status(s, "unauthorized")
        reason = (st.json().get("status") or st.json())["reason"]
        assert "MASSIVE_API_KEY" in reason and "wrong-key" not in reason
        diag = (await c.get("/api/diag")).json()
        assert diag["market"]["feeds"]["prices"]["state"] == "unauthorized"
        assert "wrong-key" not in (await c.get("/api/diag")).text


async def test_concurrent_subscribers_share_one_upstream_fetch(mock_clock: MockClock) -> None:
    """Ten streams opening at once on a stale symbol cause one last-trade request."""
    async with live_server(mock_clock, massive_prices_s=30.0) as (srv, fake):
        source = source_of(srv)
        # The prices poller fetched SPY once at start and will not again for 30 s; wait until
        # that fetch is no longer fresh, so the next subscriber must go upstream.
        await wait_for(lambda: source.is_fresh("SPY"))
        await wait_for(lambda: not source.is_fresh("SPY"))
        before = fake.counts["last_trade"]
        snapshots: list[Frame] = []

        async def subscribe() -> None:
            async with http(srv.url) as c, sse(c, "/realtime/sse?symbols=SPY") as s:
                snapshots.append(await s.until(lambda f: f.event == "snapshot"))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for _ in range(10):
                    nursery.start_soon(subscribe)
        assert fake.counts["last_trade"] - before == 1
        assert source.refreshes == 1
        for snap in snapshots:
            assert snap.json()["symbols"]["SPY"]["trade"]["p"] > 0


async def test_websocket_subscribers_refresh_stale_prices_like_sse_ones(
    mock_clock: MockClock,
) -> None:
    """The same snapshot path on /ws/prices: five subscribes on a stale symbol cause one
    upstream fetch, and every snapshot carries the fresh trade, not the 30 s old one."""
    async with live_server(mock_clock, massive_prices_s=30.0) as (srv, fake):
        source = source_of(srv)
        await wait_for(lambda: source.is_fresh("SPY"))
        await wait_for(lambda: not source.is_fresh("SPY"))
        before = fake.counts["last_trade"]
        url = srv.url.replace("http://", "ws://") + "/ws/prices"
        trades: list[dict[str, Any]] = []

        async def subscribe() -> None:
            async with open_websocket_url(url) as ws:
                await ws.send_message('{"type": "subscribe", "symbols": ["SPY"]}')
                while True:
                    m = orjson.loads(await ws.get_message())
                    if m["type"] == "snapshot":
                        trades.append(m["payload"]["symbols"]["SPY"]["trade"])
                        return

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for _ in range(5):
                    nursery.start_soon(subscribe)
        assert fake.counts["last_trade"] - before == 1 and source.refreshes == 1
        # All five got the one trade fetched for them, ingested before their snapshots.
        assert len(trades) == 5 and all(t == trades[0] for t in trades) and trades[0]["p"] > 0


@pytest.mark.parametrize(
    ("endpoint", "kind", "params", "expected_state", "reason_has"),
    [
        ("*", "delayed", {}, "delayed", "delayed"),
        ("last_trade", "rate_limit", {"retry_after": 1}, "degraded", "prices"),
        ("*", "malformed", {}, "degraded", "answered HTTP 200"),
        ("*", "latency", {"seconds": 15.0}, "degraded", "took over"),
    ],
)
async def test_each_fault_class_is_reported_and_recovers(
    mock_clock: MockClock,
    endpoint: str,
    kind: str,
    params: dict[str, Any],
    expected_state: str,
    reason_has: str,
) -> None:
    extra: dict[str, Any] = {"massive_timeout_s": 1.0} if kind == "latency" else {}
    async with live_server(mock_clock, **extra) as (srv, fake), http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY,I:SPX") as s:
            with trio.fail_after(20):
                await _until_status(s, "live", settled=True)
            fake.faults.add(endpoint, kind, times=None, **params)
            with trio.fail_after(20):
                st = await _until_status(s, expected_state)
            assert reason_has in st.json()["reason"], st.json()
            if kind == "malformed":  # a bad 200 body is a counted error, not a success
                samples = next(iter(srv.service.metrics.massive_requests.collect())).samples
                assert (
                    sum(
                        x.value
                        for x in samples
                        if x.name.endswith("_total")
                        and x.labels["status"] == "200"
                        and x.labels["outcome"] == "error"
                    )
                    >= 1
                )
            fake.faults.clear()
            # Every feed that saw the fault polls again within its cadence (minute bars: 30 s).
            with trio.fail_after(40):
                await _until_status(s, "live")


@pytest.mark.parametrize(
    ("endpoint", "kind"), [("indices", "forbidden"), ("indices", "error_in_200")]
)
async def test_not_entitled_is_reported_and_not_retried_hot(
    mock_clock: MockClock, endpoint: str, kind: str
) -> None:
    async with live_server(mock_clock) as (srv, fake), http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY,I:SPX") as s:
            with trio.fail_after(20):
                await _until_status(s, "live")
            fake.faults.add(endpoint, kind, times=None)
            with trio.fail_after(20):
                st = await _until_status(s, "degraded")
        assert "indices" in st.json()["reason"] and "entitled" in st.json()["reason"]
        feeds = (await c.get("/api/diag")).json()["market"]["feeds"]
        assert feeds["indices"]["state"] == "not-entitled"
        assert feeds["prices"]["state"] == "ok"  # other feeds carry on
        # Not retried hot: no further index requests while the plan says no.
        before = fake.counts["indices"]
        await trio.sleep(1.5)
        assert fake.counts["indices"] == before


async def test_empty_answers_are_counted_and_show_nothing(mock_clock: MockClock) -> None:
    async with live_server(mock_clock) as (srv, fake), http(srv.url) as c:
        fake.faults.add("last_trade", "missing_results", times=None)
        fake.faults.add("last_nbbo", "missing_results", times=None)
        empty = srv.service.metrics.massive_empty
        await wait_for(lambda: empty.labels("last_trade")._value.get() >= 3, timeout=20)
        metrics = (await c.get("/api/metrics")).text
        assert 'spotlight_massive_empty_total{endpoint="last_trade"}' in metrics
        assert 'spotlight_massive_empty_total{endpoint="last_nbbo"}' in metrics
        # Nothing was invented for the empty answers: the feed is fine, SPY just has no print.
        diag = (await c.get("/api/diag")).json()
        assert diag["market"]["feeds"]["prices"]["state"] == "ok"


async def test_a_looping_next_url_during_backfill_keeps_the_bars_and_reports_it(
    mock_clock: MockClock,
) -> None:
    async with (
        live_server(mock_clock, faults=[("aggs", "loop_next_url")]) as (srv, _fake),
        http(srv.url) as c,
    ):
        diag = (await c.get("/api/diag")).json()
        backfill = diag["market"]["feeds"]["backfill"]
        assert backfill["state"] == "degraded" and "repeated a cursor" in backfill["reason"]
        assert diag["market"]["pagination"]["aggs"]["looped"] >= 1
        # The history is there: the loop only repeated a page already fetched.
        bars = (await c.get("/api/history?symbol=SPY&limit=500")).json()["bars"]
        assert any(b["t"] < ANCHOR_MS - 3_600_000 for b in bars)
        metrics = (await c.get("/api/metrics")).text
        assert (
            'spotlight_massive_pagination_stops_total{endpoint="aggs",reason="looped"}' in metrics
        )
        async with sse(c, "/realtime/sse?symbols=SPY") as s:
            with trio.fail_after(20):
                await _until_status(s, "live")  # prices are unaffected


async def test_a_looping_chain_walk_still_gives_gex_and_says_so(mock_clock: MockClock) -> None:
    faults = [("options_chain", "loop_next_url")]
    async with (
        live_server(mock_clock, faults=faults, gex_s=1.0) as (srv, _fake),
        http(srv.url) as c,
    ):
        async with sse(c, "/realtime/sse?channels=gex:SPX") as s:
            with trio.fail_after(30):
                frame = await s.until(lambda f: f.event == "gex:SPX")
        gex = frame.json()
        assert gex["chain"]["looped"] and not gex["chain"]["partial"]
        assert gex["chain"]["source"] == "massive" and gex["chain"]["contracts"] > 0
        assert gex["buckets"]["all"]["contracts"] > 0
        diag = (await c.get("/api/diag")).json()["market"]
        assert diag["chains"]["I:SPX"]["looped"] and diag["pagination"]["options_chain"]["looped"]


async def test_late_revisions_replace_bars_built_from_polled_prices(mock_clock: MockClock) -> None:
    """The minute that closes while we poll is replaced by Massive's authoritative bar."""
    # 10:59:50 ET: 10:59 closes in ~10 s. Prices are polled every 2 s, so the live-built
    # 10:59 bar misses the trades between polls (its volume is short) until the bars poller
    # replaces it with Massive's.
    minute = ANCHOR_MS - 60_000  # the 10:59 bar
    settings: dict[str, Any] = {"massive_prices_s": 2.0, "massive_bars_s": 1.0}
    async with live_server(mock_clock, at=ANCHOR_MS - 10_000, **settings) as (srv, fake):
        wall = srv.wall
        async with upstream(fake) as massive, http(srv.url) as c:

            async def ours() -> dict[str, Any] | None:
                bars = (await c.get("/api/history?symbol=SPY&limit=5")).json()["bars"]
                return next((b for b in bars if b["t"] == minute), None)

            async def theirs() -> dict[str, Any]:
                r = await massive.get(
                    f"/v2/aggs/ticker/SPY/range/1/minute/{minute}/{minute}",
                    headers={"Authorization": f"Bearer {KEY}"},
                )
                return r.json()["results"][0]  # type: ignore[no-any-return]

            # Before the minute closes, ours is short of trades: revisions are needed at all.
            await trio.sleep(max(0.0, (ANCHOR_MS - 1_000 - wall.now_ms()) / 1000))
            before, true = await ours(), await theirs()
            assert before is not None and before["v"] < true["v"]
            with trio.fail_after(20):
                while True:
                    await trio.sleep(0.2)
                    if wall.now_ms() < ANCHOR_MS + 1_500:
                        continue  # let 10:59 close and the bars poller run once after it
                    mine, true = await ours(), await theirs()
                    if mine and all(mine[k] == true[k] for k in ("o", "h", "l", "c", "v")):
                        break
            assert srv.service.pipeline.revisions >= 1


async def test_a_closed_market_slows_polling_and_says_so(mock_clock: MockClock) -> None:
    at, prices_s = SATURDAY_11, 0.2
    async with live_server(mock_clock, at=at, massive_prices_s=prices_s) as (srv, fake):
        async with http(srv.url) as c, sse(c, "/realtime/sse?symbols=SPY") as s:
            with trio.fail_after(20):
                st = await _until_status(s, "closed")
        body = st.json().get("status") or st.json()
        assert "closed" in body["reason"]
        source = source_of(srv)
        assert source.market == "closed"
        assert source._price_interval() == prices_s * source.cadence.closed_factor
        # Slowed down for real: over 2 s at most one poll, i.e. two last-trade requests (SPY,
        # QQQ), where 0.2 s polling would have made about twenty.
        before = fake.counts["last_trade"]
        await trio.sleep(2.0)
        assert fake.counts["last_trade"] - before <= 2


async def test_replay_of_an_unrecorded_day_is_rebuilt_from_massive_aggregates(
    mock_clock: MockClock,
) -> None:
    async with (
        live_server(mock_clock) as (srv, _fake),
        http(srv.url) as c,
    ):
        listing = (await c.get("/api/replay")).json()
        assert listing["dates"][0] == {
            "date": "2025-12-17",
            "origin": "massive",
            "origins": ["massive"],
        }
        wrong = await c.post(
            "/api/replay/start", json={"date": "2025-12-16", "origin": "simulated"}
        )
        assert wrong.status_code == 400 and wrong.json()["error"] == "bad_origin"
        assert "2025-12-13" not in {d["date"] for d in listing["dates"]}  # a Saturday
        closed = await c.post("/api/replay/start", json={"date": "2025-12-13"})
        assert closed.status_code == 400 and closed.json()["error"] == "market_closed"
        window = {"from": "2025-12-16T14:30:00Z", "to": "2025-12-16T14:50:00Z"}  # 09:30-09:50 NY
        r = await c.post("/api/replay/start", json={**window, "symbols": ["SPY"], "speed": 1000})
        assert r.status_code == 201, r.text
        replay = r.json()["replay"]
        assert replay["origin"] == "massive"
        pipeline = srv.service.replays.feed(replay["id"]).pipeline  # kept after it ends
        await wait_for(
            lambda: srv.service.replays.get("local", replay["id"])["state"] == "ended", timeout=30
        )
        done = srv.service.replays.get("local", replay["id"])
        assert done["error"] is None and done["progress"] == 1.0
        # The replay rebuilt every minute of the window from the fake's aggregates.
        async with upstream(_fake) as direct:
            aggs = await direct.get(
                "/v2/aggs/ticker/SPY/range/1/minute/2025-12-16/2025-12-16",
                params={"apiKey": KEY, "limit": 50000},
            )
        start_ms, end_ms = (
            int(dt.datetime.fromisoformat(window[k].replace("Z", "+00:00")).timestamp() * 1000)
            for k in ("from", "to")
        )
        expected = [b for b in aggs.json()["results"] if start_ms <= b["t"] < end_ms]
        assert len(expected) == 20
        rebuilt = [b for b in pipeline.bars["SPY"].history("1m", 5000) if b.start_ms >= start_ms]
        assert [(b.start_ms, b.open, b.high, b.low, b.close, b.volume) for b in rebuilt] == [
            (b["t"], b["o"], b["h"], b["l"], b["c"], b["v"]) for b in expected
        ]
