"""The fault matrix (issue 21, part 4): every endpoint, every way a connection can go wrong.

For each of ``/realtime/sse`` (live and a replay's), ``/ws/prices``, ``/voice/ws`` (before
``session.start``, idle, while answering with speech, while the relay waits on its upstream),
each REST route and the static files: a reset before, during and after the request or
handshake, a half-close, a peer that stops reading (streams), a trickled request, a
malformed request, frame or message at each protocol phase, and deeply nested or huge JSON.

After each fault: the server is up (``/health`` answers), the fault is counted where an
operator would look for it (a metric), and at the end a bystander's SSE stream has had no gap
and no duplicate through all of it. Real sockets on 127.0.0.1, one in-process server per
group (its counters are read directly), a few seconds per group.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio
from support import Bystander, RunningServer, http, running_server, wait_for
from ws_raw import RawWS, masked, read_response_head, upgrade_request

from spotlight.testing.fake_realtime import FakeRealtime

pytestmark = pytest.mark.real_time

Check = Callable[[dict[str, float], dict[str, float]], bool]
ORIGIN = {"content-type": "application/json"}

SSE = b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: x\r\n\r\n"
REST = {
    "health": b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "diag": b"GET /api/diag HTTP/1.1\r\nHost: x\r\n\r\n",
    "metrics": b"GET /api/metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "history": b"GET /api/history?symbol=SPY&timeframe=1m&limit=5 HTTP/1.1\r\nHost: x\r\n\r\n",
    "me": b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\n\r\n",
    "token": b"GET /api/auth/token HTTP/1.1\r\nHost: x\r\n\r\n",
    "login": b"POST /api/auth/pin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 14\r\n\r\n{"pin":"0000"}',
    "logout": b"POST /api/auth/logout HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    "replays": b"GET /api/replay HTTP/1.1\r\nHost: x\r\n\r\n",
    "replay-stop": b"POST /api/replay/stop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
    b"\r\nContent-Length: 2\r\n\r\n{}",
    "page": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "static": b"GET /static/js/dashboard.js HTTP/1.1\r\nHost: x\r\n\r\n",
}


# -- what the server counted -----------------------------------------------------------------
def counters(srv: RunningServer) -> dict[str, float]:
    """Every counter an operator sees, flattened: ``name{labels}`` -> value."""
    out: dict[str, float] = {}
    for metric in srv.service.metrics.registry.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def grew(*keys: str) -> Check:
    """The check that at least one of ``keys`` (a metric sample, prefix match) increased."""

    def check(before: dict[str, float], after: dict[str, float]) -> bool:
        return any(
            after[k] > before.get(k, 0.0) for k in after if any(k.startswith(p) for p in keys)
        )

    check.__name__ = " or ".join(keys)
    return check


FAILURES = "spotlight_connection_failures_total"


def failure(endpoint: str, kind: str = "reset") -> str:
    return f"{FAILURES}{{endpoint={endpoint},kind={kind}}}"


def responses(status: int) -> str:
    return f"spotlight_http_responses_total{{status={status}}}"


def disconnect(transport: str, reason: str) -> str:
    return f"spotlight_client_disconnects_total{{reason={reason},transport={transport}}}"


# -- raw socket moves ------------------------------------------------------------------------
def _addr(srv: RunningServer) -> tuple[str, int]:
    host, port = srv.url.removeprefix("http://").split(":")
    return host, int(port)


async def connect(srv: RunningServer, rcvbuf: int | None = None) -> trio.SocketStream:
    sock = trio.socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await sock.connect(_addr(srv))
    return trio.SocketStream(sock)


async def rst(stream: trio.SocketStream) -> None:
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await stream.aclose()


async def read_some(stream: trio.SocketStream, n: int = 1) -> bytes:
    data = b""
    with trio.fail_after(10):
        while len(data) < n:
            chunk = await stream.receive_some(65536)
            assert chunk, "closed early"
            data += chunk
    return data


async def read_to_eof(stream: trio.SocketStream, limit_s: float = 10) -> bytes:
    data = b""
    with trio.fail_after(limit_s):
        while chunk := await stream.receive_some(65536):
            data += chunk
    return data


async def admitted(srv: RunningServer, n: int) -> None:
    await wait_for(lambda: srv.service.connections.admitted >= n)


# -- the matrix runner -----------------------------------------------------------------------
class Matrix:
    def __init__(self, srv: RunningServer, bystander: Bystander) -> None:
        self.srv = srv
        self.bystander = bystander
        self.ran: list[str] = []

    async def case(self, name: str, fault: Callable[[], Awaitable[None]], counted: Check) -> None:
        before = counters(self.srv)
        try:
            with trio.fail_after(30):
                await fault()
        except trio.TooSlowError:
            raise AssertionError(f"{name}: the fault itself took over 30 s") from None
        try:
            await wait_for(lambda: counted(before, counters(self.srv)), timeout=10)
        except trio.TooSlowError:
            after = counters(self.srv)
            changed = {k: v for k, v in after.items() if v != before.get(k, 0.0)}
            raise AssertionError(
                f"{name}: not counted ({counted.__name__}); what changed: {changed}"
            ) from None
        async with http(self.srv.url) as client:
            assert (await client.get("/health")).status_code == 200, name
        self.ran.append(name)


@asynccontextmanager
async def matrix(**overrides: Any) -> AsyncIterator[Matrix]:
    settings: dict[str, Any] = {"request_timeout_s": 1.0, "client_queue_bytes": 64 * 1024}
    settings.update(overrides)
    async with running_server(**settings) as srv, trio.open_nursery() as nursery:
        watcher = Bystander(settings.get("pin"))
        await nursery.start(watcher.run, srv.url)
        await watcher.more_ticks(3)
        m = Matrix(srv, watcher)
        yield m
        await watcher.more_ticks(3)
        watcher.assert_complete(srv.service.hub)
        nursery.cancel_scope.cancel()


# -- faults common to every endpoint ------------------------------------------------------------
def transport_faults(
    m: Matrix, name: str, request: bytes, endpoint: str, *, head_faults: bool = True
) -> list[Any]:
    """Reset before, during and after the request; a half-close; a trickled request.

    Before its head is complete a connection is not routed yet, so the faults of that phase
    (a reset before or during the head, a trickled head) are the same for every target:
    ``head_faults=False`` leaves them out where they would repeat."""

    async def reset_before() -> None:
        n = m.srv.service.connections.admitted
        s = await connect(m.srv)
        await admitted(m.srv, n + 1)
        await rst(s)

    async def reset_during() -> None:
        n = m.srv.service.connections.admitted
        s = await connect(m.srv)
        await s.send_all(request[: len(request) // 2])
        await admitted(m.srv, n + 1)
        await trio.sleep(0.05)
        await rst(s)

    async def reset_after() -> None:
        s = await connect(m.srv)
        await s.send_all(request)
        await read_some(s)
        await rst(s)

    async def half_close() -> None:
        s = await connect(m.srv)
        await s.send_all(request)
        await s.send_eof()
        await read_to_eof(s)  # the server answers (or ends its stream) and closes
        await s.aclose()

    async def trickle() -> None:
        s = await connect(m.srv)
        with trio.move_on_after(3):
            for byte in request[: len(request) - 4]:
                try:
                    await s.send_all(bytes([byte]))
                except trio.BrokenResourceError:
                    break
                await trio.sleep(0.1)
        await s.aclose()

    after = {
        "sse": grew(failure("sse")),
        "ws": grew(failure("ws")),
        "voice": grew(failure("voice")),
        "http": grew(failure("http"), failure("http", "closed")),
    }[endpoint]
    half = {
        "sse": grew(disconnect("sse", "client-closed")),
        # Answered, or (a slow handler) dropped: hypercorn takes an EOF as a disconnect.
        "http": grew("spotlight_http_responses_total", failure("http", "closed")),
    }.get(endpoint, grew(disconnect("ws", "client-closed"), responses(101)))
    routed = [
        (f"{name}: reset after the request", reset_after, after),
        (f"{name}: half-close", half_close, half),
    ]
    if not head_faults:
        return routed
    return [
        (f"{name}: reset before the request", reset_before, grew(failure("head"))),
        (f"{name}: reset during the request", reset_during, grew(failure("head"))),
        *routed,
        (f"{name}: trickled request", trickle, grew(failure("head", "timeout"))),
    ]


async def test_every_rest_route_and_the_static_files() -> None:
    async with matrix(auth="pin", pin="2468") as m:
        for i, (name, request) in enumerate(REST.items()):
            for case in transport_faults(m, name, request, "http", head_faults=i == 0):
                await m.case(*case)

        async def garbage_head() -> None:
            for raw in (
                b"\x00\x01\x02\x03 / HTTP/1.1\r\n\r\n",
                b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
                # the same on a keep-alive connection, after a good request
                b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nbad\r\n\r\n",
            ):
                s = await connect(m.srv)
                await s.send_all(raw)
                response = await read_to_eof(s)
                last = response[response.rfind(b"HTTP/1.1 ") :]
                assert last.startswith(b"HTTP/1.1 4"), last[:80]
                head, _, body = last.partition(b"\r\n\r\n")
                assert b"content-type: application/json" in head, head
                assert set(orjson.loads(body)) == {"error", "detail"}, body
                await s.aclose()

        await m.case("malformed request heads", garbage_head, grew(responses(400)))

        async def bodies() -> None:
            nested = b"[" * 5000 + b"]" * 5000
            async with http(m.srv.url) as client:
                assert (await client.post("/api/auth/pin", json={"pin": "2468"})).is_success
                for path in ("/api/auth/pin", "/api/replay/start", "/api/replay/speed"):
                    for body in (nested, b"{" * 3000, b'{"a": "' + b"x" * 5_000_000 + b'"}'):
                        r = await client.post(path, content=body, headers=ORIGIN)
                        assert r.status_code < 500, (path, r.status_code)
                        assert set(r.json()) == {"error", "detail"}, r.text

        await m.case("nested and huge JSON bodies", bodies, grew(responses(413)))


async def test_sse_live_and_a_replays_stream() -> None:
    async with matrix() as m:
        for case in transport_faults(m, "sse", SSE, "sse"):
            await m.case(*case)

        async def stops_reading() -> None:
            s = await connect(m.srv, rcvbuf=4096)
            await s.send_all(b"GET /realtime/sse?symbols=SPY,QQQ,I:SPX HTTP/1.1\r\nHost: x\r\n\r\n")
            await wait_for(lambda: m.srv.service.clients.count("sse") >= 2)
            # ... and never reads: its queue passes its bound, it is cut off as slow.
            await wait_for(
                lambda: grew(disconnect("sse", "slow-bytes"), disconnect("sse", "slow-age"))(
                    {}, counters(m.srv)
                ),
                timeout=20,
            )
            await s.aclose()

        await m.case(
            "sse: a peer that stops reading",
            stops_reading,
            grew(disconnect("sse", "slow-bytes"), disconnect("sse", "slow-age")),
        )
        async with http(m.srv.url) as client:
            r = await client.post("/api/replay/start", json={"speed": 1})
            assert r.status_code == 201, r.text
            rid = r.json()["replay"]["id"]
        replay = f"GET /realtime/sse?replay={rid}&symbols=SPY HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        for case in transport_faults(m, "sse replay", replay, "sse", head_faults=False):
            await m.case(*case)

        async def unknown_replay() -> None:
            s = await connect(m.srv)
            await s.send_all(
                b"GET /realtime/sse?replay=abc&symbols=SPY HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            assert (await read_to_eof(s)).startswith(b"HTTP/1.1 404")

        await m.case("sse: a replay that does not exist", unknown_replay, grew(responses(404)))


def _upgrade(path: str) -> bytes:
    return upgrade_request("x", path)[0]


async def _opened(m: Matrix, path: str) -> RawWS:
    ws = RawWS(await connect(m.srv))
    await ws.handshake("x", path)
    return ws


def ws_frame_faults(
    m: Matrix, path: str, endpoint: str, setup: Callable[[RawWS], Awaitable[None]]
) -> list[Any]:
    """Malformed frames and messages after the handshake (and after ``setup``)."""
    closes = {
        "unmasked frame": (masked(0x1, b"{}", mask=False), 1002),
        "reserved opcode": (masked(0x3, b"x"), 1002),
        "invalid UTF-8 text": (masked(0x1, b"\xff\xfe"), 1007),
        "fragmented ping": (masked(0x9, b"x", fin=False), 1002),
        "control frame over 125 bytes": (masked(0x9, b"x" * 200), 1002),
    }
    cases: list[Any] = []
    for label, (frame, code) in closes.items():

        async def violate(frame: bytes = frame, code: int = code) -> None:
            ws = await _opened(m, path)
            await setup(ws)
            await ws.send_raw(frame)
            assert (await ws.until_closed()).code == code

        reason = "protocol-error" if code == 1002 else "invalid-data"
        cases.append((f"{path}: {label}", violate, grew(disconnect("ws", reason))))

    async def deep_and_huge() -> None:
        ws = await _opened(m, path)
        await setup(ws)
        for message in (
            b'{"type": "ping", "id": ' + b"[" * 300 + b"]" * 300 + b"}",
            b"[" * 5000,
            b'{"type": "subscribe", "symbols": ["' + b"A" * 15_000 + b'"]}',
            b"{" * 16_000,
            b"not json at all",
        ):
            await ws.send_raw(masked(0x1, message))
        await ws.send_json({"type": "ping", "id": "still-open"})
        # One answer each, and the connection still answers after them (a pong on
        # /ws/prices; the voice socket has no ping message and says so).
        answers: list[str] = []
        while len(answers) < 6:
            msg = await ws.next()
            if msg["type"] in ("error", "pong"):  # replies, not market events
                answers.append(msg["type"])
        assert answers[:5] == ["error"] * 5, answers
        assert answers[5] == ("error" if endpoint == "voice" else "pong"), answers
        await ws.stream.aclose()

    counted = (
        grew("spotlight_voice_client_errors_total")
        if endpoint == "voice"
        else grew("spotlight_ws_command_errors_total")
    )
    cases.append((f"{path}: deeply nested and huge JSON", deep_and_huge, counted))

    async def too_big() -> None:
        ws = await _opened(m, path)
        await setup(ws)
        await ws.send_raw(masked(0x2, b"x" * ((1 << 20) + 1)))
        if endpoint == "voice":
            msg = await ws.until("error")
            assert msg["payload"]["error"] == "frame_too_large"
            await ws.stream.aclose()
        else:
            assert (await ws.until_closed()).code == 1009

    cases.append(
        (
            f"{path}: a message over the size limit",
            too_big,
            grew("spotlight_voice_client_errors_total")
            if endpoint == "voice"
            else grew(disconnect("ws", "message-too-big")),
        )
    )
    return cases


async def _subscribed(ws: RawWS) -> None:
    await ws.send_json({"type": "subscribe", "symbols": ["SPY"]})
    await ws.until("snapshot")


async def _nothing(ws: RawWS) -> None:
    await trio.lowlevel.checkpoint()


async def test_the_prices_websocket() -> None:
    async with matrix() as m:
        for case in transport_faults(m, "/ws/prices", _upgrade("/ws/prices"), "ws"):
            await m.case(*case)
        for setup in (_nothing, _subscribed):
            for case in ws_frame_faults(m, "/ws/prices", "ws", setup):
                await m.case(*case)

        async def bad_upgrade() -> None:
            s = await connect(m.srv)
            await s.send_all(b"GET /ws/prices HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
            status, _, _ = await read_response_head(s)
            assert status in (400, 426)

        await m.case(
            "/ws/prices: a broken upgrade", bad_upgrade, grew(responses(400), responses(426))
        )

        async def stops_reading() -> None:
            s = await connect(m.srv, rcvbuf=4096)
            ws = RawWS(s)
            await ws.handshake("x")
            await ws.send_json({"type": "subscribe", "symbols": ["SPY", "QQQ", "I:SPX"]})
            await wait_for(
                lambda: grew(disconnect("ws", "slow-bytes"), disconnect("ws", "slow-age"))(
                    {}, counters(m.srv)
                ),
                timeout=20,
            )
            await s.aclose()

        await m.case(
            "/ws/prices: a peer that stops reading",
            stops_reading,
            grew(disconnect("ws", "slow-bytes"), disconnect("ws", "slow-age")),
        )


async def _started(ws: RawWS) -> None:
    await ws.send_json({"type": "session.start"})
    await ws.until("session.started")


async def test_the_voice_websocket_in_every_state() -> None:
    async with matrix() as m:
        for case in transport_faults(m, "/voice/ws", _upgrade("/voice/ws"), "voice"):
            await m.case(*case)
        for setup in (_nothing, _started):
            for case in ws_frame_faults(m, "/voice/ws", "voice", setup):
                await m.case(*case)

        async def reset_while_answering() -> None:
            ws = await _opened(m, "/voice/ws")
            await _started(ws)
            await ws.send_json({"type": "input.text", "text": "where is the gamma flip"})
            with trio.fail_after(20):
                while ws.binary_bytes == 0:
                    await ws.next()
            await rst(ws.stream)

        await m.case(
            "/voice/ws: reset while answering", reset_while_answering, grew(failure("voice"))
        )

        async def binary_before_start() -> None:
            ws = await _opened(m, "/voice/ws")
            await ws.send_raw(masked(0x2, b"\x00" * 4800))
            await ws.until("error")
            await ws.stream.aclose()

        await m.case(
            "/voice/ws: audio before session.start",
            binary_before_start,
            grew("spotlight_voice_client_errors_total"),
        )


async def test_the_voice_relay_while_it_waits_on_its_upstream() -> None:
    fake = FakeRealtime(key="sk-test", fault="stall")
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        async with matrix(voice_url=fake.url, voice_key="sk-test") as m:

            async def reset_while_waiting() -> None:
                ws = await _opened(m, "/voice/ws")
                await _started(ws)
                await ws.send_json({"type": "input.text", "text": "what is the price of spy"})
                await wait_for(lambda: "response.create" in fake.received)
                await rst(ws.stream)

            await m.case(
                "/voice/ws relay: reset while the upstream stalls",
                reset_while_waiting,
                grew(failure("voice")),
            )
            await wait_for(lambda: m.srv.service.voice.stats.open == 0)
        nursery.cancel_scope.cancel()
