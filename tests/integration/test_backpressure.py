"""Slow and stalled clients on the real server: cut off, counted, never costing the others."""

from __future__ import annotations

import socket
import struct
from typing import Any

import trio
from prometheus_client.parser import text_string_to_metric_families
from support import Frame, http, parse_frames, running_server, sse, wait_for

from spotlight.clients.socket_stream import STALL_GRACE_S

HOT: dict[str, Any] = {"trades_per_second": 400.0, "sim_burst_ms": 10}


async def _raw_stream(port: int, path: str, rcvbuf: int) -> trio.SocketStream:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    await stream.send_all(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return stream


def _counter(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


async def test_stalled_client_is_cut_off_as_slow_while_a_healthy_one_misses_nothing() -> None:
    async with running_server(client_queue_bytes=64 * 1024, **HOT) as srv, http(srv.url) as c:
        port = int(srv.url.rsplit(":", 1)[1])
        path = "/realtime/sse?symbols=SPY,QQQ,I:SPX"
        stalled = await _raw_stream(port, path, rcvbuf=4096)
        async with sse(c, path) as healthy:
            await healthy.until(lambda f: f.event == "snapshot")
            # The stalled peer reads nothing: its queue passes 64 KiB and the hub drops it.
            await wait_for(
                lambda: any(s.inbox.closed_reason == "slow-bytes" for s in srv.service.clients),
                timeout=20,
            )
            # It reads again within the grace period: what was buffered, then `slow`, then EOF.
            buf = b""
            with trio.fail_after(20):
                while chunk := await stalled.receive_some(65536):
                    buf += chunk
            head, _, body = buf.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head
            frames, _ = parse_frames(body)
            slow = [f for f in frames if f.event == "slow"]
            assert len(slow) == 1 and frames[-1].event == "slow"
            info = slow[0].json()
            assert info["reason"] == "slow-bytes" and info["reconnect"] is True
            assert info["dropped"] > 0
            # Its id is the last event it got: the resume point for its reconnect.
            last_market = [f for f in frames if f.event in {"tick", "quote", "bar:update"}][-1]
            assert slow[0].seq == last_market.seq
            await stalled.aclose()
            # Meanwhile the healthy client sees every tick, in order, with no gap.
            ticks: list[Frame] = []
            with trio.fail_after(10):
                while len(ticks) < 300:
                    f = await healthy.next()
                    assert f.event not in {"slow", "reset"}
                    if f.event == "tick":
                        ticks.append(f)
            seqs = [f.seq for f in ticks]
            wanted = {"tick:SPY", "tick:QQQ", "tick:I:SPX"}
            hub_ticks = [
                e.seq
                for e in srv.service.hub.history.since(seqs[0] - 1, wanted)
                if e.seq <= seqs[-1]
            ]
            assert hub_ticks == seqs
            await wait_for(lambda: len(srv.service.clients) == 1)
            metrics = (await c.get("/api/metrics")).text
    assert _counter(metrics, "spotlight_sse_dropped_total", reason="slow-bytes") > 0
    assert _counter(metrics, "spotlight_client_disconnects_total", reason="slow-bytes") == 1


async def test_peer_that_never_reads_again_is_cut_after_the_grace_period() -> None:
    # TCP_USER_TIMEOUT off: the server's own bound (STALL_GRACE_S after `slow`) frees it.
    async with (
        running_server(client_queue_bytes=64 * 1024, tcp_user_timeout_ms=0, **HOT) as srv,
        http(srv.url) as c,
    ):
        port = int(srv.url.rsplit(":", 1)[1])
        stalled = await _raw_stream(port, "/realtime/sse?symbols=SPY,QQQ,I:SPX", rcvbuf=4096)
        await wait_for(lambda: len(srv.service.clients) == 1)
        await wait_for(lambda: any(s.inbox.closed_reason for s in srv.service.clients), 20)
        with trio.fail_after(STALL_GRACE_S + 3):
            await wait_for(lambda: len(srv.service.clients) == 0)
        metrics = (await c.get("/api/metrics")).text
        await stalled.aclose()
    assert _counter(metrics, "spotlight_sse_connections") == 0
    assert _counter(metrics, "spotlight_client_disconnects_total", reason="slow-bytes") == 1


async def test_stream_on_a_reused_keepalive_connection_uses_the_asgi_fallback() -> None:
    """A stream request on a connection hypercorn already serves still works, chunked."""
    async with running_server(client_queue_bytes=64 * 1024, **HOT) as srv:
        port = int(srv.url.rsplit(":", 1)[1])
        stream = await _raw_stream(port, "/health", rcvbuf=1 << 20)
        buf = b""
        with trio.fail_after(10):
            while b'"live":true' not in buf:
                buf += await stream.receive_some(65536)
        await stream.send_all(b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: t\r\n\r\n")
        buf = b""
        with trio.fail_after(10):
            while buf.count(b"event: tick") < 3:
                buf += await stream.receive_some(65536)
        head, _, body = buf.partition(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        frames, _ = parse_frames(b"".join(_dechunk(body)))
        assert [f.event for f in frames[:2]] == ["retry", "snapshot"]
        assert len(srv.service.clients) == 1
        await stream.aclose()
        await wait_for(lambda: len(srv.service.clients) == 0)


def _dechunk(body: bytes) -> list[bytes]:
    out = []
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.append(rest[:size])
        body = rest[size + 2 :]
    return out


async def test_clients_vanishing_mid_write_never_take_the_server_down() -> None:
    """Connections reset (RST) while data flows: each ends quietly, the server stays up."""
    async with running_server(**HOT) as srv, http(srv.url) as c:
        port = int(srv.url.rsplit(":", 1)[1])
        for _ in range(80):
            stream = await _raw_stream(port, "/realtime/sse?symbols=SPY,QQQ,I:SPX", 4096)
            await stream.receive_some(1024)  # the stream is flowing
            # SO_LINGER 0: close() sends RST, so the server's next write fails at once.
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await stream.aclose()
        await wait_for(lambda: len(srv.service.clients) == 0)
        assert (await c.get("/health")).status_code == 200
        async with sse(c, "/realtime/sse?symbols=SPY") as s:
            await s.until(lambda f: f.event == "tick")
