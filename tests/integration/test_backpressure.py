"""Slow and stalled clients on the real server: cut off, counted, never costing the others."""

from __future__ import annotations

import socket

import trio
from prometheus_client.parser import text_string_to_metric_families
from support import Frame, http, parse_frames, running_server, sse, wait_for

HOT = {"trades_per_second": 400.0, "sim_burst_ms": 10}


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
            # Meanwhile the healthy client saw every tick, in order, with no gap.
            ticks: list[Frame] = []
            with trio.fail_after(10):
                while len(ticks) < 300:
                    f = await healthy.next()
                    assert f.event not in {"slow", "reset"}
                    if f.event == "tick":
                        ticks.append(f)
            seqs = [f.seq for f in ticks]
            assert seqs == sorted(set(seqs))
            hub_ticks = [
                e.seq
                for e in srv.service.hub.history.since(
                    seqs[0] - 1, {"tick:SPY", "tick:QQQ", "tick:I:SPX"}
                )
                if e.seq <= seqs[-1]
            ]
            assert hub_ticks == seqs
            # Now the stalled peer reads again: what was buffered, then a `slow` event and the
            # end of the response (the zero-length chunk; HTTP/1.1 keeps the connection).
            buf = b""
            with trio.fail_after(20):
                while not buf.endswith(b"\r\n0\r\n\r\n"):
                    chunk = await stalled.receive_some(65536)
                    assert chunk, "connection closed before the response ended"
                    buf += chunk
            body = buf.split(b"\r\n\r\n", 1)[1]
            # Chunked transfer encoding: strip the chunk-size lines before parsing frames.
            text = b"".join(_dechunk(body))
            frames, _ = parse_frames(text)
            slow = [f for f in frames if f.event == "slow"]
            assert len(slow) == 1 and frames[-1].event == "slow"
            info = slow[0].json()
            assert info["reason"] == "slow-bytes" and info["reconnect"] is True
            assert info["dropped"] > 0
            # Its last id is the resume point: reconnecting resumes (or resets) explicitly.
            last_market = [f for f in frames if f.event in {"tick", "quote", "bar:update"}][-1]
            assert slow[0].seq == last_market.seq
            await stalled.aclose()
            await wait_for(lambda: len(srv.service.clients) == 1)
            metrics = (await c.get("/api/metrics")).text
    assert _counter(metrics, "spotlight_sse_dropped_total", reason="slow-bytes") > 0
    assert _counter(metrics, "spotlight_client_disconnects_total", reason="slow-bytes") == 1


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


async def test_peer_that_never_reads_again_is_freed_by_tcp_user_timeout() -> None:
    async with (
        running_server(client_queue_bytes=64 * 1024, tcp_user_timeout_ms=1000, **HOT) as srv,
        http(srv.url) as c,
    ):
        port = int(srv.url.rsplit(":", 1)[1])
        stalled = await _raw_stream(port, "/realtime/sse?symbols=SPY,QQQ,I:SPX", rcvbuf=4096)
        await wait_for(lambda: len(srv.service.clients) == 1)
        # Never read: the writer blocks in hypercorn's shielded write until the kernel gives
        # up on the unacknowledged data and the connection (and its session) is freed.
        await wait_for(lambda: len(srv.service.clients) == 0, timeout=60)
        metrics = (await c.get("/api/metrics")).text
        await stalled.aclose()
    assert _counter(metrics, "spotlight_sse_connections") == 0
    assert _counter(metrics, "spotlight_client_disconnects_total", transport="sse") == 1
