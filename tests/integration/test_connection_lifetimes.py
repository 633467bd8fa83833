"""Connection lifetimes and limits like a front-line server (issue 21, part 2).

Connections served through hypercorn and Quart used to stay open for ever (a quart-trio
cancellation cut hypercorn's end-of-response step short: web/http_guard.py), so 1,004 idle
clients could exhaust the descriptors. These tests talk raw HTTP/1.x over real sockets.
"""

from __future__ import annotations

import time

import orjson
import pytest
import trio
from support import RunningServer, http, running_server, wait_for


def _addr(srv: RunningServer) -> tuple[str, int]:
    host, port = srv.url.removeprefix("http://").split(":")
    return host, int(port)


async def _open(srv: RunningServer, source: str | None = None) -> trio.SocketStream:
    if source is None:
        return await trio.open_tcp_stream(*_addr(srv))
    sock = trio.socket.socket()
    await sock.bind((source, 0))
    await sock.connect(_addr(srv))
    return trio.SocketStream(sock)


async def _read_until_eof(stream: trio.SocketStream, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes; fails if it does not within ``limit_s``."""
    start = time.monotonic()
    data = b""
    with trio.fail_after(limit_s):
        while True:
            chunk = await stream.receive_some(65536)
            if not chunk:
                return data, time.monotonic() - start
            data += chunk


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _body(response: bytes) -> object:
    return orjson.loads(response.partition(b"\r\n\r\n")[2])


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /health HTTP/1.0\r\n\r\n",
        b"HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /no/such/page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ],
    ids=["connection-close", "http-1.0", "head", "json-route", "404"],
)
async def test_the_server_closes_when_the_request_asks_it_to(request_bytes: bytes) -> None:
    async with running_server() as srv:
        stream = await _open(srv)
        await stream.send_all(request_bytes)
        response, took = await _read_until_eof(stream, 5)
        assert _status(response) in (200, 404)
        assert took < 2


async def test_an_idle_keep_alive_connection_is_closed_after_keepalive_s() -> None:
    async with running_server(keepalive_s=1.0) as srv:
        stream = await _open(srv)
        await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        response, took = await _read_until_eof(stream, 5)
        assert _status(response) == 200
        assert 0.8 < took < 3


async def test_a_trickled_second_request_head_is_cut_at_the_keep_alive_timeout() -> None:
    async with running_server(keepalive_s=1.0) as srv:
        stream = await _open(srv)
        await stream.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        with trio.move_on_after(0.2):
            while True:
                await stream.receive_some(65536)  # the first response
        cut = False
        with trio.fail_after(5):
            for byte in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 100:
                try:
                    await stream.send_all(bytes([byte]))
                except trio.BrokenResourceError:
                    cut = True
                    break
                await trio.sleep(0.05)
        assert cut, "a head trickled for 5 s was never cut"


async def test_a_first_request_head_must_arrive_within_request_timeout_s() -> None:
    async with running_server(request_timeout_s=1.0) as srv:
        stream = await _open(srv)
        await stream.send_all(b"GET /health HTTP/1.1\r\n")
        response, took = await _read_until_eof(stream, 5)
        assert response == b"" and took < 3


async def test_a_trickled_request_body_is_cut_at_request_timeout_s() -> None:
    async with running_server(auth="pin", pin="2468", request_timeout_s=1.0) as srv:
        stream = await _open(srv)
        await stream.send_all(
            b"POST /api/auth/pin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        response, took = await _read_until_eof(stream, 5)
        assert _status(response) == 408
        assert _body(response)["error"] == "request_timeout"  # type: ignore[index]
        assert took < 3


async def test_idle_connections_make_room_at_the_cap_and_health_still_answers() -> None:
    """At the cap, the oldest idle connection (nothing sent yet, or keep-alive between
    requests) is closed for a new one: a flood of idle connections cannot lock anyone out."""
    async with running_server(max_connections=20) as srv:
        idle = [await _open(srv) for _ in range(40)]
        async with http(srv.url) as client:
            for _ in range(3):
                assert (await client.get("/health")).status_code == 200
        table = srv.service.connections
        assert table.evicted >= 20
        assert len(table) <= 21
        diag = table.stats()
        assert diag["refused"] == {"total": 0, "address": 0}
        for s in idle:
            await s.aclose()


async def test_past_the_per_address_cap_a_busy_address_is_refused_with_json() -> None:
    async with running_server(max_connections_per_address=3) as srv:
        streams = []
        for _ in range(3):  # three SSE streams: busy, never evicted
            s = await _open(srv, "127.0.0.2")
            await s.send_all(b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in await s.receive_some(65536)
            streams.append(s)
        extra = await _open(srv, "127.0.0.2")
        response, _ = await _read_until_eof(extra, 5)
        assert _status(response) == 429
        assert _body(response)["error"] == "too_many_connections_from_address"  # type: ignore[index]
        assert b"retry-after: 1" in response.lower()
        # Another address is not affected.
        other = await _open(srv, "127.0.0.3")
        await other.send_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response, _ = await _read_until_eof(other, 5)
        assert _status(response) == 200
        assert srv.service.connections.refused["address"] == 1
        for s in streams:
            await s.aclose()


async def test_past_the_total_cap_with_nothing_idle_a_connection_is_refused_with_json() -> None:
    async with running_server(max_connections=3, max_connections_per_address=0) as srv:
        streams = []
        for _ in range(3):
            s = await _open(srv)
            await s.send_all(b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in await s.receive_some(65536)
            streams.append(s)
        extra = await _open(srv)
        response, _ = await _read_until_eof(extra, 5)
        assert _status(response) == 503
        assert _body(response) == {
            "error": "too_many_connections",
            "detail": "the server holds its maximum of 3 connections "
            "(SPOTLIGHT_MAX_CONNECTIONS); retry shortly",
        }
        for s in streams:
            await s.aclose()
        await wait_for(lambda: len(srv.service.connections) == 0)


async def test_the_diag_and_metrics_show_connections_and_failures() -> None:
    async with running_server() as srv, http(srv.url) as client:
        diag = (await client.get("/api/diag")).json()
        conns = diag["connections"]
        assert conns["open"] >= 1 and conns["byState"]["http"] >= 1
        assert set(conns) >= {"maxTotal", "maxPerAddress", "refused", "evicted", "failures"}
        metrics = (await client.get("/api/metrics")).text
        assert 'spotlight_open_connections{state="http"}' in metrics
