"""Replays through the real server: API, streams attached with replay=<id>, end, errors,
scoping, diag and metrics (issue #6)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import trio
from support import VirtualServer, http, ny_ms, sse, virtual_server, wait_for
from trio.testing import MockClock
from trio_websocket import ConnectionClosed, open_websocket_url

from spotlight.domain.nytime import NY
from spotlight.protocol.close import close_reason

MIN = 60_000


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")


def last_minutes(srv: VirtualServer, n: int) -> dict[str, str]:
    """The ``n`` whole minutes before the server's (virtual, stated) now."""
    now = srv.wall.now_ms()
    end = now - now % MIN
    return {"from": iso(end - n * MIN), "to": iso(end)}


async def start(client: Any, **body: Any) -> dict[str, Any]:
    r = await client.post("/api/replay/start", json=body)
    assert r.status_code == 201, r.text
    replay: dict[str, Any] = r.json()["replay"]
    return replay


async def test_replay_streams_rebuilt_bars_in_the_live_format_then_ends(
    mock_clock: MockClock,
) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as client:
        live = srv.service
        replay = await start(client, **last_minutes(srv, 20), symbols=["SPY", "I:SPX"], speed=1)
        rid = replay["id"]
        assert replay["state"] in ("starting", "running") and replay["origin"] == "simulated"
        assert replay["epoch"]["id"] != live.epoch.id and replay["symbols"] == ["SPY", "I:SPX"]
        url = f"/realtime/sse?replay={rid}&symbols=SPY,I:SPX&timeframe=1m&channels=levels:update"
        async with sse(client, url) as stream:
            first = await stream.until(lambda f: f.event == "snapshot")
            assert first.epoch == replay["epoch"]["id"]
            r = await client.post("/api/replay/speed", json={"id": rid, "speed": "max"})
            assert r.status_code == 200 and r.json()["replay"]["speed"] == "max"
            with trio.fail_after(60):
                frames = await stream.rest()
        control = {"snapshot", "reset", "heartbeat", "end", "slow", "shutdown", "error"}
        events = [f for f in frames if f.id is not None and f.event not in control]
        seqs = [f.seq for f in events]
        assert seqs == sorted(set(seqs)) and {f.epoch for f in events} == {replay["epoch"]["id"]}
        status = first.json()["status"]  # the replay's status came before the stream attached
        assert status["source"] == "replay" and status["replay"]["id"] == rid
        assert status["replay"]["origin"] == "simulated" and status["state"] in (
            "starting",
            "replay",
        )
        end = next(f for f in frames if f.event == "replay:end")
        assert end.json()["reason"] == "finished"
        assert frames[-1].event == "end" and frames[-1].json()["reconnect"] is False
        # Every closed 1-minute bar equals the live bar it was rebuilt from (OHLCV; the trade
        # count is the number of rebuilt prints, docs/replay.md).
        closes = [f.json() for f in frames if f.event == "bar:close" and f.json()["tf"] == "1m"]
        assert len(closes) >= 30
        for bar in closes:
            (match,) = live.pipeline.bars[bar["s"]].history("1m", 1, bar["t"] + MIN)
            rebuilt = bar["t"] >= replay["fromMs"]  # else: the loaded minute before the range
            assert {**match.to_json(), **({"n": 4} if rebuilt else {})} == bar
        assert any(f.event == "levels:update" for f in frames)  # analytics ran in the replay
        # It ended and freed itself: the id is gone for streams, its final state remains.
        state = (await client.get(f"/api/replay/{rid}")).json()["replay"]
        assert state["state"] == "ended" and state["progress"] == 1.0
        gone = await client.get(f"/realtime/sse?replay={rid}")
        assert gone.status_code == 404 and gone.json()["error"] == "replay_not_found"
        assert (await client.get(f"/api/history?replay={rid}&symbol=SPY")).status_code == 404
        diag = (await client.get("/api/diag")).json()
        assert diag["replays"]["active"] == [] and diag["replays"]["recent"][-1]["id"] == rid
        metrics = (await client.get("/api/metrics")).text
        assert 'spotlight_replays_total{outcome="finished"} 1.0' in metrics
        assert "spotlight_replays_active 0.0" in metrics


async def test_pause_resume_speed_and_stop(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as client:
        replay = await start(client, **last_minutes(srv, 30), speed=2)
        rid = replay["id"]
        await wait_for(lambda: srv.service.replays.feed(rid).hub.last_seq > 0)
        history = await client.get(f"/api/history?replay={rid}&symbol=SPY&timeframe=5m")
        assert history.status_code == 200 and history.json()["bars"]
        paused = (await client.post("/api/replay/pause", json={"id": rid})).json()["replay"]
        assert paused["state"] == "paused"
        await trio.sleep(0.3)
        again = (await client.get(f"/api/replay/{rid}")).json()["replay"]
        assert again["positionMs"] == paused["positionMs"]  # time stands still while paused
        resumed = (await client.post("/api/replay/resume", json={"id": rid})).json()["replay"]
        assert resumed["state"] == "running"
        fast = await client.post("/api/replay/speed", json={"id": rid, "speed": 50})
        assert fast.json()["replay"]["speed"] == 50
        bad = await client.post("/api/replay/speed", json={"id": rid, "speed": 0})
        assert bad.status_code == 400 and bad.json()["error"] == "bad_speed"
        async with sse(client, f"/realtime/sse?replay={rid}&symbols=SPY") as stream:
            await stream.until(lambda f: f.event == "snapshot")
            stop = await client.post("/api/replay/stop", json={"id": rid})
            assert stop.status_code == 200
            with trio.fail_after(10):
                frames = await stream.rest()
        end = next(f for f in frames if f.event == "replay:end")
        assert end.json()["reason"] == "stopped"
        listing = (await client.get("/api/replay")).json()
        assert listing["replays"] == [] and listing["limits"]["maxConcurrent"] == 2
        assert listing["dates"] and listing["dates"][0]["origin"] == "simulated"
        again_stop = await client.post("/api/replay/stop", json={"id": rid})
        assert again_stop.status_code == 404
        assert (await client.get(f"/api/replay/{rid}")).json()["replay"]["state"] == "stopped"


async def test_bad_requests_and_limits(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock, replay_max=1) as srv, http(srv.url) as c:
        cases = [
            (b"not json", "bad_json"),
            (orjson.dumps({"date": "2026-02-30"}), "bad_date"),
            (orjson.dumps({"date": "2999-01-01"}), "bad_date"),
            (orjson.dumps({"date": "2026-11-20", "speed": -1}), "bad_speed"),
            (orjson.dumps({"date": "2026-11-20", "symbols": ["NOPE"]}), "unknown_symbol"),
            (
                orjson.dumps({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}),
                "bad_range",
            ),
            (orjson.dumps({"date": "2001-09-10"}), "no_data"),
            (orjson.dumps({"date": "2026-11-20", "origin": "tape"}), "bad_origin"),
            (orjson.dumps({**last_minutes(srv, 5), "origin": "massive"}), "bad_origin"),
            (orjson.dumps({**last_minutes(srv, 5), "origin": "recorded"}), "no_data"),
        ]
        for body, code in cases:
            r = await c.post("/api/replay/start", content=body)
            assert r.status_code == 400 and r.json()["error"] == code, (body, r.text)
            assert r.json()["detail"]
        await start(c, **last_minutes(srv, 30))
        full = await c.post("/api/replay/start", json=last_minutes(srv, 30))
        assert full.status_code == 429 and full.json()["error"] == "too_many_replays"
        assert (await c.post("/api/replay/pause", json={"id": 7})).status_code == 400
        assert (await c.post("/api/replay/pause", json={"id": "feedbeef"})).status_code == 404
        assert (await c.post("/api/replay/speed", json={"id": "x"})).json()["error"] == "bad_speed"
        assert (await c.get("/realtime/sse?replay=NOT-AN-ID")).json()["error"] == "bad_replay"
        assert (await c.get("/api/replay/feedbeef")).status_code == 404
        ws = srv.url.replace("http://", "ws://") + "/ws/prices?replay=feedbeef"
        async with open_websocket_url(ws) as conn:
            message = orjson.loads(await conn.get_message())
            assert message["payload"]["error"] == "replay_not_found"
            with pytest.raises(ConnectionClosed) as closed:
                await conn.get_message()
            reason = closed.value.reason
            assert reason is not None and reason.code == close_reason("replay-ended").ws_code


# (stated now, the session a replay without a body plays): the newest NYSE session that has
# opened, whatever the weekday, the hour or the holiday before it.
LATEST_SESSION = [
    (ny_ms(2025, 12, 17, 11, 0), "2025-12-17"),  # a Wednesday in session: today
    (ny_ms(2025, 12, 17, 8, 0), "2025-12-16"),  # before the open: yesterday
    (ny_ms(2026, 12, 7, 8, 0), "2026-12-04"),  # a Monday before the open: Friday
    (ny_ms(2026, 12, 7, 17, 0), "2026-12-07"),  # a Monday after the close: today
    (ny_ms(2026, 12, 5, 12, 0), "2026-12-04"),  # a Saturday: Friday
    (ny_ms(2026, 1, 20, 8, 0), "2026-01-16"),  # the day after MLK day, before the open
]


@pytest.mark.parametrize(
    ("at", "session"),
    LATEST_SESSION,
    ids=["wed-11h", "wed-8h", "mon-8h", "mon-17h", "sat-12h", "after-holiday-8h"],
)
async def test_the_seed_clients_start_and_control_a_replay_without_ids(
    mock_clock: MockClock, at: int, session: str
) -> None:
    """Issue 15: ``POST /api/replay/start`` with no body replays the newest session that has
    opened (from the open: the replay includes I:SPX); stop, pause and speed without an id
    act on the caller's one running replay, and say so plainly when there are several."""
    async with (
        virtual_server(mock_clock, at=at, replay_max=3) as srv,
        http(srv.url) as c,
    ):
        assert (await c.post("/api/replay/stop")).json()["error"] == "replay_not_found"
        r = await c.post("/api/replay/start")  # no body, no content type
        assert r.status_code == 201, r.text
        replay = r.json()["replay"]
        assert replay["date"] == session
        assert replay["start"] == "open" and replay["speed"] == 1
        open_at = dt.datetime.fromtimestamp(replay["fromMs"] / 1000, NY)
        assert (open_at.hour, open_at.minute) == (9, 30)
        # One replay of mine: id-less controls act on it.
        faster = await c.post("/api/replay/speed", json={"speed": 50})
        assert faster.status_code == 200 and faster.json()["replay"]["id"] == replay["id"]
        assert faster.json()["replay"]["speed"] == 50
        paused = await c.post("/api/replay/pause", content=b"")
        assert paused.status_code == 200 and paused.json()["replay"]["state"] == "paused"
        # Two: ambiguous, a clear 409 naming them; with the id it works.
        other = await start(c, **last_minutes(srv, 20))
        for path, body in (("stop", None), ("speed", {"speed": 2}), ("resume", {})):
            r = await c.post(f"/api/replay/{path}", json=body)
            assert r.status_code == 409 and r.json()["error"] == "ambiguous_replay", r.text
            assert replay["id"] in r.json()["detail"] and other["id"] in r.json()["detail"]
        stopped = await c.post("/api/replay/stop", json={"id": other["id"]})
        assert stopped.status_code == 200
        await wait_for(lambda: len(srv.service.replays.listing("local")["replays"]) == 1)
        last = await c.post("/api/replay/stop")
        assert last.status_code == 200 and last.json()["replay"]["id"] == replay["id"]
        # A body that is there but is not JSON is still refused.
        assert (await c.post("/api/replay/stop", content=b"{nope")).json()["error"] == "bad_json"


async def test_a_replay_reports_its_position_and_the_speed_it_reaches(
    mock_clock: MockClock,
) -> None:
    """The position is that of the newest item played, progress counts from the first data
    in range, and once it has run for a while the speed it reached is reported."""
    async with virtual_server(mock_clock) as srv, http(srv.url) as c:
        replay = await start(c, **last_minutes(srv, 60), symbols=["SPY"], speed=20)
        rid = replay["id"]
        feed = srv.service.replays.feed(rid)
        await wait_for(lambda: feed.hub.last_seq > 50)

        async def described() -> dict[str, Any]:
            r: dict[str, Any] = (await c.get(f"/api/replay/{rid}")).json()["replay"]
            return r

        with trio.fail_after(10):
            state = await described()
            while state["speedReached"] is None:
                await trio.sleep(0.2)
                state = await described()
        assert 10 <= state["speedReached"] <= 25, state
        # The position is an item played (a print or a levels step), never the schedule's
        # guess beyond it: the unit tests check it against every tick (tests/replay).
        assert state["fromMs"] <= state["dataFromMs"] <= state["positionMs"] < state["toMs"]
        assert 0 < state["progress"] < 1 and isinstance(state["stepsSkipped"], dict)
        await c.post("/api/replay/stop", json={"id": rid})


async def test_ws_attaches_to_a_replay(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, http(srv.url) as client:
        replay = await start(client, **last_minutes(srv, 30), speed=5)
        url = srv.url.replace("http://", "ws://") + f"/ws/prices?replay={replay['id']}"
        async with open_websocket_url(url) as ws:
            await ws.send_message(orjson.dumps({"type": "subscribe", "symbols": ["SPY"]}).decode())
            snap = orjson.loads(await ws.get_message())
            assert snap["type"] == "snapshot" and "SPY" in snap["payload"]["symbols"]
            with trio.fail_after(20):
                while (m := orjson.loads(await ws.get_message()))["type"] != "bar:update":
                    pass
            assert m["payload"]["s"] == "SPY" and m["seq"] > 0


async def test_replays_are_scoped_to_the_session_that_started_them(
    mock_clock: MockClock, tmp_path: Path
) -> None:
    async with (
        virtual_server(mock_clock, auth="pin", pin="24680", data_dir=str(tmp_path)) as srv,
        http(srv.url) as alice,
        http(srv.url) as bob,
    ):
        for c in (alice, bob):
            assert (await c.post("/api/auth/pin", json={"pin": "24680"})).status_code == 200
        rid = (await start(alice, **last_minutes(srv, 30)))["id"]
        assert [r["id"] for r in (await alice.get("/api/replay")).json()["replays"]] == [rid]
        assert (await bob.get("/api/replay")).json()["replays"] == []
        assert (await bob.get(f"/api/replay/{rid}")).status_code == 404
        assert (await bob.post("/api/replay/stop", json={"id": rid})).status_code == 404
        assert (await alice.get(f"/api/replay/{rid}")).json()["replay"]["state"] == "running"
        async with http(srv.url) as nobody:
            assert (
                await nobody.post("/api/replay/start", json=last_minutes(srv, 5))
            ).status_code == 401


async def test_a_recorded_session_replays_from_disk(mock_clock: MockClock, tmp_path: Path) -> None:
    async with (
        virtual_server(mock_clock, record=True, record_fsync=False, data_dir=str(tmp_path)) as srv,
        http(srv.url) as client,
    ):
        recorder = srv.service.recorder
        assert recorder is not None
        await wait_for(lambda: recorder.bytes_written > 0 and srv.service.hub.last_seq > 50)
        live_first = srv.service.recordings.segments()[0].start_ms
        replay = await start(client, **{"from": live_first, "to": srv.wall.now_ms()}, speed="max")
        assert replay["origin"] == "recorded"
        await wait_for(
            lambda: srv.service.replays.get("local", replay["id"])["state"] == "ended", timeout=30
        )
        done = (await client.get(f"/api/replay/{replay['id']}")).json()["replay"]
        assert done["lastSeq"] > 10 and done["error"] is None
        diag = (await client.get("/api/diag")).json()
        assert diag["recording"]["enabled"] and diag["recording"]["bytesWritten"] > 0
        dates = (await client.get("/api/replay")).json()["dates"]
        assert dates[0]["origin"] == "recorded" and dates[0]["origins"] == ["recorded", "simulated"]
        # Today rebuilt from the simulator's history instead, on request.
        rebuilt = await start(client, date=dates[0]["date"], origin="simulated", speed="max")
        assert rebuilt["origin"] == "simulated"


async def test_recording_off_writes_nothing(mock_clock: MockClock, tmp_path: Path) -> None:
    async with (
        virtual_server(mock_clock, record=False, data_dir=str(tmp_path)) as srv,
        http(srv.url) as client,
    ):
        await wait_for(lambda: srv.service.hub.last_seq > 100)
        diag = (await client.get("/api/diag")).json()
        assert diag["recording"]["enabled"] is False
        assert srv.service.recorder is None
    assert not (tmp_path / "recordings").exists()


async def test_a_replayed_monday_has_fridays_levels(mock_clock: MockClock) -> None:
    """A rebuilt replay loads the two sessions before its range, not two calendar days: on a
    Monday that reaches Friday, whose regular session gives PDH, PDL and PDC."""
    at = ny_ms(2026, 12, 7, 17, 0)  # Monday after the close
    async with virtual_server(mock_clock, at=at, sim_history_days=2) as srv, http(srv.url) as c:
        spx = (await c.get("/api/history?symbol=I:SPX&limit=5000")).json()["bars"]
        session = [
            b for b in spx if ny_ms(2026, 12, 4, 9, 30) <= b["t"] < ny_ms(2026, 12, 4, 16, 0)
        ]
        assert len(session) == 390  # Friday's regular session, whole
        window = {"from": ny_ms(2026, 12, 7, 9, 30), "to": ny_ms(2026, 12, 7, 9, 45)}
        replay = await start(c, **window, symbols=["I:SPX", "SPY"], speed="max")
        url = f"/realtime/sse?replay={replay['id']}&channels=levels:update"
        async with sse(c, url) as stream:
            with trio.fail_after(60):
                frame = await stream.until(lambda f: f.event == "levels:update")
    named = {lv["name"]: lv["price"] for lv in frame.json()["levels"]}
    assert named["PDH"] == round(max(b["h"] for b in session), 2)
    assert named["PDL"] == round(min(b["l"] for b in session), 2)
    assert named["PDC"] == round(session[-1]["c"], 2)
