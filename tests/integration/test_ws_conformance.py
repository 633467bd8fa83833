"""/ws/prices on the raw-socket path against independent clients and against what a broken
or hostile client sends: the right close code every time, and never a traceback.

Clients: websockets (its Trio client), trio-websocket (tests/integration/test_ws_prices.py),
headless Chromium's WebSocket (test below), and a raw client (tests/ws_raw.py) for what no
real client sends.
"""

from __future__ import annotations

import gc
import logging
import socket
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import trio
from support import RunningServer, running_server, wait_for
from websockets.trio.client import connect as websockets_connect
from ws_raw import RawWS, masked, read_response_head, upgrade_request
from wsproto.events import Ping, TextMessage
from wsproto.frame_protocol import FrameProtocol

from spotlight.clients.socket_stream import STALL_GRACE_S

SUBSCRIBE = {"type": "subscribe", "symbols": ["SPY"], "timeframe": "1m"}


def ws_url(srv: RunningServer) -> str:
    return srv.url.replace("http://", "ws://") + "/ws/prices"


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing a client does may make the server log an error (a traceback, a crash)."""
    caplog.set_level(logging.WARNING)
    yield
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [r.getMessage() for r in bad]


async def ws_sessions(srv: RunningServer) -> int:
    await trio.lowlevel.checkpoint()
    return srv.service.clients.count("ws")


async def test_websockets_trio_client_streams_and_gets_the_shutdown_code(
    no_tracebacks: None,
) -> None:
    async with running_server() as srv:
        async with websockets_connect(ws_url(srv), compression="deflate") as ws:
            # The client offered permessage-deflate; the server declined it (same bytes for
            # every client), and the client is fine with that.
            assert ws.response is not None
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            await ws.send(orjson.dumps(SUBSCRIBE).decode())
            first = orjson.loads(await ws.recv())
            assert (
                first["type"] == "snapshot"
                and first["id"] == f"{srv.service.epoch.id}:{first['seq']}"
            )
            seqs: list[int] = []
            while len(seqs) < 5:
                m = orjson.loads(await ws.recv())
                if m["type"] in ("tick", "quote", "bar:update"):
                    seqs.append(m["seq"])
            assert seqs == sorted(set(seqs))
            pong_waiter = await ws.ping(b"are you there")
            with trio.fail_after(5):
                await pong_waiter.wait()  # pings are answered with the same payload
            srv.stop.set()  # graceful shutdown: a shutdown message, then close 1012
            last: dict[str, Any] = {}
            with pytest.raises(Exception) as info:
                while True:
                    last = orjson.loads(await ws.recv())
            assert last["type"] == "shutdown" and last["payload"]["reconnect"] is True
            assert ws.close_code == 1012, (ws.close_code, info.value)


async def test_an_upgrade_on_a_reused_keep_alive_connection_runs_on_the_raw_path(
    no_tracebacks: None,
) -> None:
    async with running_server() as srv:
        host, port = srv.url.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        status, headers, rest = await read_response_head(stream)
        assert status == 200 and headers.get("connection", "keep-alive") != "close"
        body = rest
        while len(body) < int(headers["content-length"]):
            body += await stream.receive_some(65536)
        ws = RawWS(stream)
        await ws.handshake(f"{host}:{port}")  # same TCP connection, hypercorn served it so far
        await ws.send_json(SUBSCRIBE)
        assert (await ws.next())["type"] == "snapshot"
        await ws.until("tick")
        (session,) = [s for s in srv.service.clients if s.transport == "ws"]
        assert session.writes >= 1  # written by our raw transport, counted in its metrics
        assert srv.service.metrics.writes["ws"].delivered >= 1
        await ws.send_raw(masked(0x8, (1000).to_bytes(2, "big") + b"done"))
        close = await ws.until_closed()
        assert close.code == 1000
        await wait_for(lambda: srv.service.clients.count("ws") == 0)


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (masked(0x1, b'{"type": "ping"}', mask=False), 1002),  # unmasked client frame
        (masked(0x3, b"x"), 1002),  # a reserved opcode
        (masked(0x9, b"p" * 126), 1002),  # a control frame over 125 bytes
        (masked(0x1, b"\xff\xfe not utf-8"), 1007),
        (masked(0x2, b"x" * (1 << 20 | 1)), 1009),  # over the endpoint's 1 MiB
        (masked(0x0, b"continuation without a start"), 1002),
    ],
    ids=["unmasked", "opcode", "long-control", "utf8", "too-big", "continuation"],
)
async def test_broken_frames_get_their_close_code(
    frame: bytes, code: int, no_tracebacks: None
) -> None:
    async with running_server() as srv:
        ws = await RawWS.connect(srv.url)
        await ws.send_json(SUBSCRIBE)
        assert (await ws.next())["type"] == "snapshot"
        await ws.send_raw(frame)
        with trio.fail_after(10):
            close = await ws.until_closed()
        assert close.code == code
        await wait_for(lambda: srv.service.clients.count("ws") == 0)
        assert srv.service.ready


async def test_handshake_errors_are_json_and_the_version_is_named() -> None:
    async with running_server() as srv:
        host, port = srv.url.removeprefix("http://").split(":")
        for extra, status in (
            ({"Sec-WebSocket-Version": "8"}, 426),
            ({"Sec-WebSocket-Key": ""}, 400),
        ):
            stream = await trio.open_tcp_stream(host, int(port))
            request, _ = upgrade_request(f"{host}:{port}", extra=extra)
            await stream.send_all(request)
            got, headers, rest = await read_response_head(stream)
            assert got == status
            body = rest
            while len(body) < int(headers["content-length"]):
                body += await stream.receive_some(65536)
            assert orjson.loads(body)["error"] == "bad_websocket_request"
            if status == 426:
                assert headers["sec-websocket-version"] == "13"
            await stream.aclose()


async def test_a_peer_that_never_answers_pings_is_closed_as_idle(no_tracebacks: None) -> None:
    async with running_server(heartbeat_s=0.2) as srv:
        ws = await RawWS.connect(srv.url)
        await ws.send_json({"type": "subscribe", "channels": ["regime:update"]})
        # It reads, but never answers a ping: after three heartbeats it is gone.
        with trio.fail_after(10):
            close = await ws.until_closed()
        assert close.code == 4010 and ws.pings >= 2


async def test_the_heartbeat_ping_follows_its_message_and_keeps_the_client_in_its_group(
    no_tracebacks: None,
) -> None:
    # At 1,000 clients a heartbeat pings them all at once: the ping must ride the group's
    # pass (right after the client's heartbeat message) rather than take every client out of
    # its shared-chunk group, and the answering pongs (6 bytes each) keep the peer alive.
    async with running_server(heartbeat_s=0.2) as srv:
        ws = await RawWS.connect(srv.url)
        await ws.send_json({"type": "subscribe", "channels": ["regime:update"]})
        kinds: list[str] = []
        with trio.fail_after(10):
            while kinds.count("ping") < 5:
                data = await ws.stream.receive_some(65536)
                assert data, "the server closed the connection"
                ws.parser.receive_data(data)
                for event in ws.parser.events():
                    if isinstance(event, Ping):
                        kinds.append("ping")
                        await ws.send_raw(masked(0xA, event.payload))
                    elif isinstance(event, TextMessage):
                        kinds.append(orjson.loads(event.data)["type"])
        assert kinds[0] == "snapshot"
        assert all(kinds[i - 1] == "heartbeat" for i, k in enumerate(kinds) if k == "ping")
        assert kinds.count("heartbeat") >= 5
        stats = srv.service.clients.groups.stats()
        assert stats["members"] == 1 and stats["leaves"] == 0, stats
        assert await ws_sessions(srv) == 1  # answered pings: never closed as idle


async def test_a_connection_leaves_no_parser_for_the_cyclic_gc() -> None:
    # The handshake's wsproto parser and the one that read the subscribe are reference
    # cycles; both must be freed when released (nothing else needs them once the subscribe is
    # read), not left as garbage until a collection that the server's GC policy makes rare.
    async with running_server() as srv:
        gc.collect()
        gc.disable()  # no collection may free them before we look
        try:
            ws = await RawWS.connect(srv.url)
            await ws.send_json(SUBSCRIBE)
            assert (await ws.next())["type"] == "snapshot"
            servers = [
                o
                for o in gc.get_objects()
                if isinstance(o, FrameProtocol) and not o.client  # the client's is RawWS's
            ]
        finally:
            gc.enable()
        assert servers == []


async def test_half_closed_and_vanished_peers_are_cleaned_up(no_tracebacks: None) -> None:
    async with running_server() as srv:
        half = await RawWS.connect(srv.url)
        await half.send_json(SUBSCRIBE)
        assert (await half.next())["type"] == "snapshot"
        await half.stream.send_eof()  # FIN without a close frame
        gone = await RawWS.connect(srv.url)
        await gone.send_json(SUBSCRIBE)
        gone.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        await gone.stream.aclose()  # a reset: the client crashed
        await wait_for(lambda: srv.service.clients.count("ws") == 0, timeout=STALL_GRACE_S + 8)
        assert srv.service.hub.subscriber_count == 0


async def test_a_flood_of_commands_is_dropped_and_said_once(no_tracebacks: None) -> None:
    async with running_server() as srv:
        ws = await RawWS.connect(srv.url)
        await ws.send_raw(
            b"".join(masked(0x1, b'{"type": "ping", "id": %d}' % i) for i in range(200))
        )
        pongs, errors = 0, []
        with trio.move_on_after(2):
            while True:
                m = await ws.next()
                if m["type"] == "pong":
                    pongs += 1
                elif m["type"] == "error":
                    errors.append(m["payload"]["error"])
        assert 0 < pongs < 200 and errors == ["rate_limited"]


def _chromium_websocket(page_url: str, url: str) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    script = """async (url) => {
        const ws = new WebSocket(url);
        const got = [];
        await new Promise((resolve, reject) => {
            setTimeout(() => reject(new Error("no messages within 10 s")), 10000);
            ws.onerror = () => reject(new Error("websocket error"));
            ws.onclose = (e) => reject(new Error("closed early: " + e.code + " " + e.reason));
            ws.onopen = () => ws.send(JSON.stringify(
                {type: "subscribe", symbols: ["SPY"], timeframe: "1m"}));
            ws.onmessage = (e) => { got.push(JSON.parse(e.data)); if (got.length >= 4) resolve(); };
        });
        const closed = new Promise((r) => { ws.onclose = (e) => r(e.code); });
        ws.close(1000, "bye");
        return {extensions: ws.extensions, protocol: ws.protocol, got, code: await closed};
    }"""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(page_url)  # the server's own origin, as the dashboard's
            result: dict[str, Any] = page.evaluate(script, url)
            return result
        finally:
            browser.close()


async def test_headless_chromium_streams_and_deflate_is_declined(no_tracebacks: None) -> None:
    async with running_server() as srv:
        page = srv.url + "/health"
        result = await trio.to_thread.run_sync(_chromium_websocket, page, ws_url(srv))
        assert result["extensions"] == ""  # Chromium always offers permessage-deflate
        types = [m["type"] for m in result["got"]]
        assert types[0] == "snapshot" and len(types) == 4
        assert all(set(m) == {"type", "seq", "id", "payload"} for m in result["got"])
        assert result["code"] == 1000
        await wait_for(lambda: srv.service.clients.count("ws") == 0)


async def test_websocket_clients_in_step_share_chunks_with_the_same_bytes_as_alone() -> None:
    async with running_server() as srv:
        a, b = await RawWS.connect(srv.url), await RawWS.connect(srv.url)
        for ws in (a, b):
            await ws.send_json({"type": "subscribe", "symbols": ["SPY", "QQQ"]})
            assert (await ws.next())["type"] == "snapshot"
        groups = srv.service.clients.groups
        await wait_for(lambda: groups.stats()["members"] == 2)
        assert srv.service.hub.subscriber_count == 1  # one group for both, per framing
        seen: dict[str, list[tuple[int, str]]] = {"a": [], "b": []}
        with trio.fail_after(10):
            for name, ws in (("a", a), ("b", b)):
                while len(seen[name]) < 60:
                    m = await ws.next()
                    if m["type"] in ("tick", "quote", "bar:update", "bar:close"):
                        seen[name].append((m["seq"], orjson.dumps(m["payload"]).decode()))
        lo = max(seen["a"][0][0], seen["b"][0][0])
        hi = min(seen["a"][-1][0], seen["b"][-1][0])
        assert hi - lo > 30
        assert [x for x in seen["a"] if lo <= x[0] <= hi] == [
            x for x in seen["b"] if lo <= x[0] <= hi
        ]
        # A command takes its client out of the group for its reply, and it comes back.
        await a.send_json({"type": "ping", "id": 1})
        assert (await a.until("pong"))["payload"] == {"id": 1}
        await wait_for(lambda: groups.stats()["members"] == 2)
