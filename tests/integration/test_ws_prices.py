"""/ws/prices over a real WebSocket: subscribe, snapshot at once, resume, errors, channels."""

from __future__ import annotations

from typing import Any

import orjson
import trio
from support import running_server, virtual_server, wait_for
from trio.testing import MockClock
from trio_websocket import WebSocketConnection, open_websocket_url

from spotlight.analytics.channels import CHANNELS


async def send(ws: WebSocketConnection, obj: object) -> None:
    await ws.send_message(orjson.dumps(obj).decode())


async def recv(ws: WebSocketConnection) -> dict[str, Any]:
    message = await ws.get_message()
    body: dict[str, Any] = orjson.loads(message)
    assert {"type", "seq", "payload"} <= set(body), body
    return body


async def until(ws: WebSocketConnection, type: str, limit: int = 10_000) -> dict[str, Any]:
    for _ in range(limit):
        m = await recv(ws)
        if m["type"] == type:
            return m
    raise AssertionError(f"no {type} message")


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://") + "/ws/prices"


async def test_subscribe_gets_a_snapshot_at_once_then_live_events_and_all_channels(
    mock_clock: MockClock,
) -> None:
    async with virtual_server(mock_clock, gex_s=1.0, levels_s=1.0, sim_history_days=2) as srv:
        async with open_websocket_url(ws_url(srv.url)) as ws:
            await send(
                ws, {"type": "subscribe", "symbols": ["SPY", "I:SPX"], "channels": list(CHANNELS)}
            )
            first = await recv(ws)
            assert first["type"] == "snapshot"  # at once: no waiting for a timer
            assert set(first["payload"]["symbols"]) == {"SPY", "I:SPX"}
            seen = {
                c
                for c, p in first["payload"]["channels"].items()
                if p is not None and p.get("state") not in ("warming", "waiting")
            }
            seqs: list[int] = []
            with trio.fail_after(30):
                while len(seen) < len(CHANNELS) or len(seqs) < 5:
                    m = await recv(ws)
                    if m["type"] in CHANNELS:
                        seen.add(m["type"])
                    if m["type"] in {"tick", "bar:update", "quote"} | set(CHANNELS):
                        seqs.append(m["seq"])
            assert seen == set(CHANNELS)
            assert seqs == sorted(set(seqs)) and seqs[0] > first["seq"] - 1
            await send(ws, {"type": "ping", "id": 7})
            pong = await until(ws, "pong")
            assert pong["payload"] == {"id": 7}


async def test_bad_commands_get_errors_and_the_connection_stays_up(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv, open_websocket_url(ws_url(srv.url)) as ws:
        cases: list[tuple[str, str]] = [
            ("{not json", "bad_json"),
            ('{"type": "dance"}', "unknown_type"),
            ("[1, 2]", "bad_command"),
            ("x" * 20_000, "too_large"),
            ('{"type": "subscribe", "symbols": ["NOPE"]}', "unknown_symbol"),
            ('{"type": "subscribe", "channels": ["gex:MOON"]}', "unknown_channel"),
            ('{"type": "subscribe"}', "missing_symbols"),
            ('{"type": "subscribe", "symbols": ["SPY"], "timeframe": "7m"}', "bad_timeframe"),
        ]
        for raw, code in cases:
            await ws.send_message(raw)
            err = await until(ws, "error")
            assert err["payload"]["error"] == code, (raw[:30], err)
            assert err["payload"]["detail"]
        await send(ws, {"type": "ping", "id": "still here"})
        assert (await until(ws, "pong"))["payload"]["id"] == "still here"
        # Binary-safe: the same command in a binary frame (UTF-8 JSON) works too.
        await ws.send_message(orjson.dumps({"type": "ping", "id": "bytes ✓"}))
        assert (await until(ws, "pong"))["payload"]["id"] == "bytes ✓"
        assert srv.service.ready  # the server took all of it in its stride


async def test_resume_with_since_seq_replays_without_a_snapshot(mock_clock: MockClock) -> None:
    async with virtual_server(mock_clock) as srv:
        url = ws_url(srv.url)
        async with open_websocket_url(url) as ws:
            await send(ws, {"type": "subscribe", "symbols": ["QQQ"]})
            await until(ws, "snapshot")
            tick = await until(ws, "tick")
        epoch = srv.service.epoch.id
        target = srv.service.hub.last_seq + 20
        await wait_for(lambda: srv.service.hub.last_seq >= target)
        async with open_websocket_url(url) as ws:
            await send(
                ws,
                {"type": "subscribe", "symbols": ["QQQ"], "sinceSeq": tick["seq"], "epoch": epoch},
            )
            first = await recv(ws)
            assert first["type"] != "snapshot" and first["seq"] > tick["seq"]
            await send(
                ws, {"type": "subscribe", "symbols": ["QQQ"], "sinceSeq": 1, "epoch": "abcdef"}
            )
            reset = await until(ws, "reset")
            assert reset["payload"]["reason"] == "epoch-changed"
            assert (await recv(ws))["type"] == "snapshot"


async def test_a_stalled_websocket_client_is_cut_off_as_slow() -> None:
    """Same per-client bound as SSE: the hub stops offering to it and the socket is freed."""
    hot: dict[str, Any] = {"trades_per_second": 400.0, "sim_burst_ms": 10}
    async with running_server(client_queue_bytes=64 * 1024, tcp_user_timeout_ms=1000, **hot) as srv:
        # message_queue_size=1: once one message waits unread, the client stops reading the
        # socket, so the server's sends back up exactly as with a stalled browser tab.
        async with open_websocket_url(ws_url(srv.url), message_queue_size=1) as ws:
            await send(ws, {"type": "subscribe", "symbols": ["SPY", "QQQ", "I:SPX"]})
            await wait_for(
                lambda: any(s.inbox.closed_reason == "slow-bytes" for s in srv.service.clients),
                timeout=30,
            )
            assert srv.service.hub.subscriber_count == 0  # dropped at once, memory freed
            await wait_for(lambda: len(srv.service.clients) == 0, timeout=30)
