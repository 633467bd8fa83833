"""A connection is a failure boundary (issue 21): whatever one client does ends that client's
connection only, counted, while the server and every other client carry on.

Each test keeps a bystander on an SSE stream and checks, after the fault, that the server is
still serving and that the bystander's ticks have no gap and no duplicate (every tick the hub
published for its symbol between its first and last one was received exactly once).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from support import Bystander, RunningServer, http, running_server, wait_for
from ws_raw import RawWS, masked

from spotlight.clients.socket_stream import _SocketMember
from spotlight.clients.stream_group import StreamGroup

# The reproduction from the issue: an id nested 300 deep, echoed in the pong.
NESTED_PING = b'{"type": "ping", "id": ' + b"[" * 300 + b"]" * 300 + b"}"


@asynccontextmanager
async def server_with_bystander(
    **overrides: Any,
) -> AsyncIterator[tuple[RunningServer, Bystander]]:
    async with running_server(**overrides) as srv, trio.open_nursery() as nursery:
        watcher = Bystander()
        await nursery.start(watcher.run, srv.url)
        await watcher.more_ticks(3)
        yield srv, watcher
        await watcher.more_ticks(5)
        watcher.assert_complete(srv.service.hub)
        nursery.cancel_scope.cancel()


async def reset(ws: RawWS) -> None:
    """Close with SO_LINGER 0: the kernel sends a TCP reset (a phone losing signal)."""
    ws.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await ws.stream.aclose()


def flusher_node(srv: RunningServer) -> dict[str, Any]:
    tree = srv.service.tree.to_json(max_children=20)
    return next(c for c in tree["children"] if c["name"] == "flusher")


def failures(srv: RunningServer, key: str) -> int:
    return srv.service.connections.failures.get(key, 0)


async def test_a_reset_on_the_voice_socket_ends_that_connection_only() -> None:
    """The first reproduction: before session.start, idle after it, and mid-answer with
    speech going out. Each reset is counted as the voice endpoint's ``reset``."""
    async with server_with_bystander() as (srv, watcher):
        for state in ("before-start", "idle", "answering"):
            ws = await RawWS.connect(srv.url, "/voice/ws")
            if state != "before-start":
                await ws.send_json({"type": "session.start"})
                await ws.until("session.started")
            if state == "answering":
                await ws.send_json({"type": "input.text", "text": "where is the gamma flip"})
                with trio.fail_after(20):
                    while ws.binary_bytes == 0:  # speech is on its way out
                        await ws.next()
            n = failures(srv, "voice/reset")
            await reset(ws)
            await wait_for(lambda n=n: failures(srv, "voice/reset") > n, timeout=10)
            await watcher.more_ticks(2)
        async with http(srv.url) as client:
            assert (await client.get("/health")).status_code == 200


async def test_a_nested_ping_id_is_refused_in_the_clients_own_task() -> None:
    """The second reproduction: six 630-byte pings with an id nested 300 deep used to fail
    the flusher (the one task that writes for every client) until it escalated. Now each is
    answered with ``bad_id`` on that connection, and nothing reaches the flusher."""
    async with server_with_bystander() as (srv, _):
        ws = await RawWS.connect(srv.url)
        for _ in range(6):
            await ws.send_raw(masked(0x1, NESTED_PING))
            err = await ws.until("error")
            assert err["payload"]["error"] == "bad_id"
        await ws.send_json({"type": "ping", "id": "still-here"})
        pong = await ws.until("pong")
        assert pong["payload"] == {"id": "still-here"}
        flusher = flusher_node(srv)
        assert flusher["restarts"] == 0
        assert flusher["stats"]["failures"] == 0
        await ws.stream.aclose()


async def test_a_bug_in_one_clients_chunk_closes_that_client_not_the_flusher() -> None:
    """The net under our own bugs: if building one client's chunk raises in the flusher's
    pass, that client is closed with internal-error (4011) and counted; the flusher and
    everyone else carry on."""
    async with server_with_bystander() as (srv, _):
        ws = await RawWS.connect(srv.url)
        await ws.send_json({"type": "subscribe", "symbols": ["QQQ"]})
        await ws.until("snapshot")
        await ws.until("tick")
        session = next(s for s in srv.service.clients if s.transport == "ws")
        # The flusher's next write for it raises, on its own or as a group's member.
        await wait_for(lambda: session.inbox.group is not None)
        group = session.inbox.group
        assert isinstance(group, StreamGroup)
        member = group.members[session.inbox]
        assert isinstance(member, _SocketMember)
        member.send = _raise

        close = await ws.until_closed()
        assert close.code == 4011
        await wait_for(lambda: failures(srv, "stream/error") == 1)
        flusher = flusher_node(srv)
        assert flusher["restarts"] == 0 and flusher["stats"]["failures"] == 1


def _raise(*args: object) -> bool:
    raise RuntimeError("a bug in one client's write path")


async def test_a_reset_on_an_sse_stream_and_on_the_prices_socket_is_counted() -> None:
    async with server_with_bystander() as (srv, _):
        for path in ("/ws/prices", "/realtime/sse"):
            stream = await trio.open_tcp_stream(*_host_port(srv.url))
            if path == "/ws/prices":
                ws = RawWS(stream)
                await ws.handshake(_authority(srv.url))
                await ws.send_json({"type": "subscribe", "symbols": ["SPY"]})
                await ws.until("snapshot")
            else:
                await stream.send_all(b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: x\r\n\r\n")
                assert b"200 OK" in await stream.receive_some(65536)
            key = ("ws" if path == "/ws/prices" else "sse") + "/reset"
            n = failures(srv, key)
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await stream.aclose()
            await wait_for(lambda key=key, n=n: failures(srv, key) > n, timeout=10)


def _host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def _authority(url: str) -> str:
    return url.removeprefix("http://")
