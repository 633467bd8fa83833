"""SSE against the real server: ids, snapshot, live events, resume, reset, heartbeat."""

from __future__ import annotations

import trio
from support import Frame, http, sse, virtual_server, wait_for
from trio.testing import MockClock

MARKET = {"tick", "quote", "bar:update", "bar:close", "status"}


async def test_first_connection_gets_retry_snapshot_then_live_events_with_ids(
    mock_clock: MockClock,
) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY,I:SPX&timeframe=5m") as s:
            first = await s.next()
            assert first.event == "retry" and first.retry == srv.service.settings.streams.retry_ms
            snap = await s.next()
            assert snap.event == "snapshot"
            assert snap.epoch == srv.service.epoch.id
            body = snap.json()
            assert set(body["symbols"]) == {"SPY", "I:SPX"}
            assert body["timeframe"] == "5m"
            assert body["symbols"]["SPY"]["bars"]["5m"]["tf"] == "5m"
            assert body["symbols"]["I:SPX"]["quote"] is None  # an index has no quotes
            # The source's state is part of every snapshot (and a `status` event on change).
            assert body["status"]["source"] == "simulated"
            assert body["status"]["state"] == "simulated"
            seen: list[Frame] = []
            with trio.fail_after(10):
                while len(seen) < 40:
                    f = await s.next()
                    assert f.event in MARKET, f
                    seen.append(f)
            seqs = [f.seq for f in seen]
            assert seqs == sorted(set(seqs)) and seqs[0] > snap.seq
            for f in seen:
                p = f.json()
                assert p["s"] in {"SPY", "I:SPX"}
                if f.event.startswith("bar:"):
                    assert p["tf"] == "5m"
                if p["s"] == "I:SPX" and f.event == "tick":
                    assert p["v"] == 0.0


async def _collect_market(s: object, n: int) -> list[Frame]:
    out: list[Frame] = []
    while len(out) < n:
        f = await s.next()  # type: ignore[attr-defined]
        if f.event in MARKET:
            out.append(f)
    return out


async def test_resume_with_last_event_id_is_exact(mock_clock: MockClock) -> None:
    """A reconnecting client gets exactly what a never-disconnected client got."""
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        url = "/realtime/sse?symbols=SPY,QQQ"
        async with sse(c, url) as ref:
            await ref.until(lambda f: f.event == "snapshot")
            async with sse(c, url) as a:
                await a.until(lambda f: f.event == "snapshot")
                first = await _collect_market(a, 10)
            resume_id = first[-1].id
            assert resume_id is not None
            # While disconnected, the market moves on.
            target = srv.service.hub.last_seq + 30
            await wait_for(lambda: srv.service.hub.last_seq >= target)
            async with sse(c, url, {"Last-Event-ID": resume_id}) as b:
                assert (await b.next()).event == "retry"
                resumed = await _collect_market(b, 40)
            ref_frames = await _collect_market(ref, 10 + 40 + 200)
    ref_by_seq = [f for f in ref_frames if f.seq > first[0].seq - 1]
    got = first + resumed
    # Compare the overlapping range by (seq, event, data): no gaps, no duplicates.
    last = got[-1].seq
    expected = [(f.seq, f.event, f.data) for f in ref_by_seq if f.seq <= last]
    actual = [(f.seq, f.event, f.data) for f in got]
    # The reference drains live and may conflate superseded bar updates and quotes;
    # the resumed client replays from history. Every event the reference saw must be there,
    # in order, and every extra one must be a superseded (conflatable) event.
    assert [x for x in actual if x in set(expected)] == expected
    extras = [x for x in actual if x not in set(expected)]
    assert all(e[1] in {"bar:update", "quote"} for e in extras)
    seqs = [f.seq for f in got]
    assert seqs == sorted(set(seqs))


async def test_resume_with_since_seq_and_epoch_query(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=QQQ") as a:
            await a.until(lambda f: f.event == "snapshot")
            got = await _collect_market(a, 5)
        epoch, seq = srv.service.epoch.id, got[-1].seq
        await wait_for(lambda: srv.service.hub.last_seq >= seq + 20)
        url = f"/realtime/sse?symbols=QQQ&sinceSeq={seq}&epoch={epoch}"
        async with sse(c, url) as b:
            assert (await b.next()).event == "retry"
            nxt = await b.next()
            assert nxt.event in MARKET  # replay, not a reset or snapshot
            assert nxt.seq > seq
            expected = srv.service.hub.history.since(seq, {"tick:QQQ", "quote:QQQ", "bar:QQQ:1m"})
            assert nxt.seq == expected[0].seq


async def test_reset_when_epoch_changed(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY", {"Last-Event-ID": "abcdef:12"}) as s:
            assert (await s.next()).event == "retry"
            reset = await s.next()
            assert reset.event == "reset"
            body = reset.json()
            assert body["reason"] == "epoch-changed"
            assert body["epoch"]["id"] == srv.service.epoch.id
            snap = await s.next()
            assert snap.event == "snapshot" and snap.epoch == srv.service.epoch.id


async def test_reset_when_too_old_and_when_ahead(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock, history_events=50) as srv, http(srv.url) as c:
        epoch = srv.service.epoch.id
        await wait_for(lambda: srv.service.hub.last_seq > 120)
        async with sse(c, "/realtime/sse?symbols=SPY", {"Last-Event-ID": f"{epoch}:1"}) as s:
            await s.next()
            reset = await s.next()
            assert (reset.event, reset.json()["reason"]) == ("reset", "too-old")
            assert (await s.next()).event == "snapshot"
        ahead = f"{epoch}:{srv.service.hub.last_seq + 10_000}"
        async with sse(c, "/realtime/sse?symbols=SPY", {"Last-Event-ID": ahead}) as s:
            await s.next()
            reset = await s.next()
            assert (reset.event, reset.json()["reason"]) == ("reset", "unknown-seq")


async def test_heartbeat_carries_backpressure_stats_and_advances_resume_id(
    mock_clock: MockClock,
) -> None:
    async with virtual_server(mock_clock, heartbeat_s=0.2) as srv, http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=SPY") as s:
            hb = await s.until(lambda f: f.event == "heartbeat")
            body = hb.json()
            for key in ("queuedEvents", "queuedBytes", "dropped", "conflated", "delivered"):
                assert key in body and body[key] >= 0
            # The heartbeat id is the hub's position: everything before it was delivered.
            assert hb.epoch == srv.service.epoch.id
            assert hb.seq <= srv.service.hub.last_seq


async def test_timeframe_selects_bar_topic_and_unknown_topics_are_not_sent(
    mock_clock: MockClock,
) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        async with sse(c, "/realtime/sse?symbols=I:SPX&timeframe=1h") as s:
            await s.until(lambda f: f.event == "snapshot")
            frames = await _collect_market(s, 30)
    assert {f.json()["s"] for f in frames} == {"I:SPX"}
    assert {f.json()["tf"] for f in frames if f.event.startswith("bar:")} == {"1h"}
    assert "quote" not in {f.event for f in frames}


async def test_clients_of_one_subscription_share_chunks_and_get_the_same_events(
    mock_clock: MockClock,
) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        url = "/realtime/sse?symbols=SPY,QQQ"
        async with sse(c, url) as a, sse(c, url) as b:
            await a.until(lambda f: f.event == "snapshot")
            await b.until(lambda f: f.event == "snapshot")
            # Once caught up, both are members of one group: one hub subscriber for the two.
            groups = srv.service.clients.groups
            await wait_for(lambda: groups.stats()["members"] == 2)
            diag = (await c.get("/api/diag")).json()
            assert [x["sharedChunk"] for x in diag["clients"]["list"]] == [True, True]
            node = next(n for n in diag["actors"]["children"] if n["name"] == "clients")
            assert node["stats"]["sharedChunks"]["groups"] == 1
            assert diag["hub"]["subscribers"] == 1
            with trio.fail_after(10):
                got_a = await _collect_market(a, 60)
                got_b = await _collect_market(b, 60)
            lo = max(got_a[0].seq, got_b[0].seq)
            hi = min(got_a[-1].seq, got_b[-1].seq)
            assert hi - lo > 30

            def window(frames: list[Frame]) -> list[tuple[int, str, str]]:
                return [(f.seq, f.event, f.data) for f in frames if lo <= f.seq <= hi]

            assert window(got_a) == window(got_b)
