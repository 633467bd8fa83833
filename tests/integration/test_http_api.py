"""HTTP API on the real server: history with rollups and paging, ops endpoints, 4xx errors."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support import http, sse, virtual_server
from trio.testing import MockClock

from spotlight.domain.bars import Bar, rollup

BAD_REQUESTS = [
    ("/api/history?symbol=NOPE", "unknown_symbol"),
    ("/api/history", "missing_symbols"),
    ("/api/history?symbol=SPY&timeframe=7m", "bad_timeframe"),
    ("/api/history?symbol=SPY&limit=0", "bad_limit"),
    ("/api/history?symbol=SPY&limit=100000", "bad_limit"),
    ("/api/history?symbol=SPY&limit=abc", "bad_limit"),
    ("/api/history?symbol=SPY&before=-5", "bad_before"),
    ("/realtime/sse?symbols=SPY,NOPE", "unknown_symbol"),
    ("/realtime/sse?symbols=", "missing_symbols"),
    ("/realtime/sse?symbols=SPY&timeframe=2h", "bad_timeframe"),
    ("/realtime/sse?symbols=SPY&sinceSeq=5", "missing_epoch"),
    ("/realtime/sse?symbols=SPY&sinceSeq=x&epoch=ab", "bad_sinceseq"),
    ("/realtime/sse?symbols=SPY&sinceSeq=5&epoch=not-hex!", "bad_epoch"),
]


async def test_bad_input_gets_400_json_and_the_server_stays_up(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        for path, code in BAD_REQUESTS:
            r = await c.get(path)
            assert r.status_code == 400, (path, r.text)
            body = r.json()
            assert body["error"] == code, (path, body)
            assert isinstance(body["detail"], str) and body["detail"]
        # (A malformed Last-Event-ID is a reset, not a 400: test_seed_clients.py.)
        r = await c.get("/no/such/page")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = await c.post("/api/history?symbol=SPY")
        assert r.status_code == 405 and "error" in r.json()
        assert (await c.get("/health")).status_code == 200


def _bars(body: dict[str, object]) -> list[Bar]:
    out = []
    for b in body["bars"]:  # type: ignore[attr-defined]
        out.append(Bar(b["s"], b["tf"], b["t"], b["o"], b["h"], b["l"], b["c"], b["v"], b["n"]))
    return out


@pytest.mark.parametrize("tf", ["5m", "15m", "30m", "1h", "1d"])
async def test_history_rollups_equal_aggregation_of_served_minute_bars(
    mock_clock: MockClock, tf: str
) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        minutes = _bars((await c.get("/api/history?symbol=SPY&timeframe=1m&limit=5000")).json())
        rolled = _bars((await c.get(f"/api/history?symbol=SPY&timeframe={tf}&limit=5000")).json())
    assert len(minutes) > 1000
    # The oldest rolled bar may span minutes older than the 1m page, and the newest is still
    # in progress (the market moves between the two requests); every bar between is closed.
    expected = rollup(minutes, tf)
    assert len(rolled) >= 2
    by_start = {b.start_ms: b for b in expected}
    for bar in rolled[1:-1]:
        assert by_start[bar.start_ms] == bar
    assert [b.start_ms for b in rolled] == sorted(b.start_ms for b in rolled)


async def test_history_paging_with_before(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        page1 = (await c.get("/api/history?symbol=QQQ&timeframe=5m&limit=50")).json()
        assert len(page1["bars"]) == 50 and page1["nextBefore"] == page1["bars"][0]["t"]
        page2 = (
            await c.get(
                f"/api/history?symbol=QQQ&timeframe=5m&limit=50&before={page1['nextBefore']}"
            )
        ).json()
        assert len(page2["bars"]) == 50
        assert page2["bars"][-1]["t"] < page1["bars"][0]["t"]
        assert page2["bars"][-1]["t"] + 300_000 == page1["bars"][0]["t"]  # no gap between pages
        spx = (await c.get("/api/history?symbol=I:SPX&limit=10")).json()
        assert all(b["v"] == 0.0 for b in spx["bars"])


async def test_health_metrics_and_diag(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        h = (await c.get("/health")).json()
        assert h["live"] and h["ready"] and h["epoch"]["id"] == srv.service.epoch.id
        async with sse(c, "/realtime/sse?symbols=SPY") as s:
            await s.until(lambda f: f.event == "tick")
            diag = (await c.get("/api/diag")).json()
            text = (await c.get("/api/metrics")).text
    assert diag["epoch"] == srv.service.epoch.to_json()
    assert diag["market"]["source"] == "simulated"
    assert diag["market"]["reason"] == "no MASSIVE_API_KEY"
    assert diag["market"]["ticks"] > 0
    assert diag["memory"]["rssBytes"] > 0 and diag["uptimeS"] > 0 and diag["timestamp"] > 0
    assert diag["clients"]["count"] == 1
    client = diag["clients"]["list"][0]
    assert client["transport"] == "sse" and "queuedBytes" in client and "dropped" in client
    tree = diag["actors"]
    names = {n["name"]: n for n in tree["children"]}
    assert {"hub", "clients", "market"} <= set(names)
    market = {n["name"]: n for n in names["market"]["children"]}
    assert market["pipeline:live"]["state"] == "running"
    assert market["source:simulated"]["state"] == "running"
    assert names["clients"]["children"][0]["kind"] == "client:sse"
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for name in (
        "spotlight_sse_connections",
        "spotlight_sse_dropped",
        "spotlight_massive_empty",
        "spotlight_events_published",
        "spotlight_events_delivered",
        "spotlight_client_queue_events",
        "spotlight_client_queue_bytes",
        "spotlight_publish_to_write_seconds",
        "spotlight_client_write_batch_events",
        "spotlight_actor_restarts",
        "spotlight_ticks_rejected",
    ):
        assert name in families, name
    # No "_created" series (issue 15): a timestamp per counter and histogram child that no
    # dashboard needs, and that doubles the series a scrape carries.
    created = [line for line in text.splitlines() if "_created" in line]
    assert created == [], created[:5]
    assert not any(s.name.endswith("_created") for f in families.values() for s in f.samples)
    restarts = {s.labels["actor"]: s.value for s in families["spotlight_actor_restarts"].samples}
    assert restarts["pipeline:live"] == 0 and "source:simulated" in restarts
    assert not any(a.startswith("sse-") for a in restarts)  # no per-connection series
    assert families["spotlight_sse_connections"].type == "gauge"
    assert families["spotlight_sse_dropped"].type == "counter"
    conns = [s.value for s in families["spotlight_sse_connections"].samples]
    assert conns == [1.0]
    published = sum(
        s.value for s in families["spotlight_events_published"].samples if s.name.endswith("_total")
    )
    assert published > 0
