"""The seed clients' URLs and shapes on the real server (issue 15, item 5): the stream URL
with ``sinceSeq=0`` and no epoch, a browser's malformed Last-Event-ID, and the seed's field
names in /api/diag. (The replay API's id-less shapes are in test_replay_api.py.)"""

from __future__ import annotations

import re

from support import http, sse, virtual_server
from trio.testing import MockClock

from spotlight.web.seed_diag import human_bytes, human_duration


async def test_since_seq_zero_without_epoch_is_a_fresh_stream(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        url = "/realtime/sse?symbols=SPY&timeframe=1m&sinceSeq=0"  # the seed's URL
        async with sse(c, url) as stream:
            first = await stream.next()
            assert first.event == "retry"
            snapshot = await stream.next()
            assert snapshot.event == "snapshot", snapshot  # fresh: no reset, no 400
            assert snapshot.epoch == srv.service.epoch.id and "SPY" in snapshot.json()["symbols"]
            tick = await stream.until(lambda f: f.event == "tick")
            assert tick.json()["s"] == "SPY" and tick.seq > snapshot.seq - 1
        # A non-zero position without its epoch still means something else after a restart.
        r = await c.get("/realtime/sse?symbols=SPY&sinceSeq=7")
        assert r.status_code == 400 and r.json()["error"] == "missing_epoch"


async def test_a_malformed_last_event_id_gets_reset_with_a_reason_not_400(
    mock_clock: MockClock,
) -> None:
    """A 400 ends a browser's EventSource for good; after an id format change its stored id
    is unreadable, so the stream starts fresh and says why."""
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        for header in ("garbage", "abc:", ":12", "abc:-1", "abc:1:2", "x" * 500):
            async with sse(c, "/realtime/sse?symbols=SPY", {"Last-Event-ID": header}) as stream:
                assert (await stream.next()).event == "retry"
                reset = await stream.next()
                assert reset.event == "reset", (header, reset)
                body = reset.json()
                assert body["reason"] == "malformed-id", body
                assert body["requested"] == header[:80] and body["epoch"]["id"] == reset.epoch
                assert (await stream.next()).event == "snapshot"
        # A well-formed id from another server run is still "epoch-changed".
        async with sse(c, "/realtime/sse?symbols=SPY", {"Last-Event-ID": "abc:5"}) as stream:
            await stream.next()
            assert (await stream.next()).json()["reason"] == "epoch-changed"


async def test_diag_carries_the_seed_field_names_beside_ours(mock_clock: MockClock) -> None:
    human = re.compile(r"^\d+(\.\d)? (B|KB|MB|GB)$")
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        diag = (await c.get("/api/diag")).json()
    assert isinstance(diag["uptimeS"], float) and diag["memory"]["rssBytes"] > 0  # ours
    assert re.fullmatch(r"(\d+d )?(\d+h )?(\d+m )?\d+s", diag["uptime"]), diag["uptime"]
    memory = diag["memory"]
    for name in ("rss", "heapTotal", "heapUsed"):
        assert human.match(memory[name]), (name, memory[name])
    used, total, rss = (_bytes(memory[k]) for k in ("heapUsed", "heapTotal", "rss"))
    assert 0 < used <= total <= rss * 1.01  # (one decimal of rounding)


def _bytes(text: str) -> float:
    value, unit = text.split()
    return float(value) * {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}[unit]


def test_human_figures() -> None:
    assert [human_bytes(n) for n in (0, 512, 1536, 84.2 * (1 << 20), 3 << 30)] == [
        "0 B",
        "512 B",
        "1.5 KB",
        "84.2 MB",
        "3.0 GB",
    ]
    assert [human_duration(s) for s in (0, 42.9, 307, 3723, 3 * 86_400 + 4 * 3600 + 306)] == [
        "0s",
        "42s",
        "5m 07s",
        "1h 02m 03s",
        "3d 4h 05m 06s",
    ]
