"""A WebSocket connection that keeps itself alive on its own timer (``ping_interval_s``: the
voice endpoint's 5 s pings and 15 s idle close), and an endpoint's background task, over a
real socket pair in virtual time (autojump clock): the times asserted are exact."""

from __future__ import annotations

import socket

import trio

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientRegistry
from spotlight.clients.socket_stream import stream_to_socket
from spotlight.clients.stream import Stream
from spotlight.clients.ws_connection import WSConnection
from spotlight.clients.ws_inbound import WSInbound
from spotlight.hub import Epoch, History, Hub
from spotlight.metrics import Metrics
from spotlight.protocol.framing import WS
from spotlight.runtime.tree import ActorNode

PING_S, IDLE_S = 5.0, 15.0


def make_stream() -> Stream:
    hub = Hub(Epoch("ee", 0), History(100, 1e9), trio.current_time)
    registry = ClientRegistry(ActorNode("clients", "registry"), clock=trio.current_time)
    session = registry.open("ws", "test", (), ClientInbox(1 << 20, 1e9))
    return Stream(hub, session, registry, Metrics(), WS, 1000)


async def ignore(message: str | bytes) -> None:
    pass


def connection(stream: Stream, **extra: object) -> WSConnection:
    return WSConnection(
        stream,
        WSInbound(1 << 16, trio.current_time),
        ignore,
        idle_timeout_s=IDLE_S,
        max_messages=100,
        window_s=1.0,
        on_flood=lambda limit: None,
        clock=trio.current_time,
        ping_interval_s=PING_S,
        **extra,  # type: ignore[arg-type]
    )


class Peer:
    """The client side: reads frames, notes when each ping and the close arrived."""

    def __init__(self, sock: socket.socket, *, answer_pings: bool) -> None:
        self.sock = trio.socket.from_stdlib_socket(sock)
        self.answer = answer_pings
        self.pings: list[float] = []
        self.texts: list[str] = []
        self.closed: tuple[float, int] | None = None

    async def run(self) -> None:
        while self.closed is None:
            data = await self.sock.recv(65536)
            if not data:
                return
            for frame in _frames(data):
                opcode, payload = frame
                if opcode == 0x9:
                    self.pings.append(trio.current_time())
                    if self.answer:
                        await self.sock.send(_masked(0xA, payload))
                elif opcode == 0x8:
                    self.closed = (trio.current_time(), int.from_bytes(payload[:2], "big"))
                    await self.sock.send(_masked(0x8, payload[:2]))
                elif opcode == 0x1:
                    self.texts.append(payload.decode())


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """Server frames (unmasked, short): enough for pings, closes and small texts."""
    out = []
    while data:
        opcode, n = data[0] & 0x0F, data[1] & 0x7F
        head = 2
        if n == 126:
            n, head = int.from_bytes(data[2:4], "big"), 4
        out.append((opcode, data[head : head + n]))
        data = data[head + n :]
    return out


def _masked(opcode: int, payload: bytes) -> bytes:
    key = b"\x01\x02\x03\x04"
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return bytes((0x80 | opcode, 0x80 | len(payload))) + key + body


async def serve(server: socket.socket, stream: Stream, conn: WSConnection) -> None:
    await stream_to_socket(server, stream, b"", conn.read, linger_s=2.0)


async def test_a_silent_peer_is_pinged_every_5_s_and_closed_at_15_s(
    autojump_clock: trio.abc.Clock,
) -> None:
    server, client = socket.socketpair()
    server.setblocking(False)
    stream = make_stream()
    conn = connection(stream)
    peer = Peer(client, answer_pings=False)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(peer.run)
        await serve(server, stream, conn)
    assert [round(t - start, 6) for t in peer.pings] == [5.0, 10.0]
    assert peer.closed is not None
    assert round(peer.closed[0] - start, 6) == IDLE_S
    assert peer.closed[1] == 4010  # idle (protocol/close.py)
    assert stream.closed is not None and stream.closed.name == "idle"
    server.close()
    client.close()


async def test_a_peer_that_answers_pings_stays_and_the_heartbeat_ticker_sends_no_ping(
    autojump_clock: trio.abc.Clock,
) -> None:
    server, client = socket.socketpair()
    server.setblocking(False)
    stream = make_stream()
    conn = connection(stream)
    peer = Peer(client, answer_pings=True)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(peer.run)
        nursery.start_soon(serve, server, stream, conn)
        await trio.sleep(61.0)
        # A heartbeat from the shared ticker: its JSON message goes out, but no extra ping
        # (this connection pings on its own timer only).
        stream.session.inbox.poke()
        await trio.sleep(1.0)
        assert peer.closed is None
        assert [round(t - start) for t in peer.pings] == [5 * i for i in range(1, 13)]
        assert any('"heartbeat"' in t for t in peer.texts)
        stream.close("shutdown")
    assert peer.closed is not None and peer.closed[1] == 1012
    server.close()
    client.close()


async def test_the_background_task_runs_beside_the_reader_and_ends_with_the_connection(
    autojump_clock: trio.abc.Clock,
) -> None:
    server, client = socket.socketpair()
    server.setblocking(False)
    stream = make_stream()
    ran: list[str] = []

    async def background() -> None:
        ran.append("started")
        try:
            await trio.sleep_forever()
        finally:
            ran.append("cancelled")

    conn = connection(stream, background=background)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve, server, stream, conn)
        await trio.sleep(1.0)
        assert ran == ["started"]
        client.close()  # the peer goes away: the reader ends, and so does the task
    assert ran == ["started", "cancelled"]
    server.close()
