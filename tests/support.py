"""Test support: an SSE frame parser, a streaming SSE reader over httpx, the server in-process.

Integration tests run the real server (the router, hypercorn, the service, both stream
transports, on a 127.0.0.1 socket, port 0) through ``spotlight.server.serve`` (the same
function ``python -m spotlight serve`` uses) and talk to it with real HTTP clients.

``virtual_server`` is the default: the same server on virtual time (``mock_clock`` jumped by
``spotlight.testing.virtual_time.autojump``), with its wall clock at a stated New York date
and hour (``TrioWallClock``: it advances with Trio's clock, so bars, sessions and the
calendar follow virtual time too), the analytics in-process and, for the Massive source, the
shipped fake as request handlers behind ``httpx.MockTransport``. A minute boundary, a stall
grace or a replay at 1x costs no real time, and the outcome does not depend on the date the
suite runs or on how busy the machine is. ``running_server`` (real time, the host's clock)
is kept for the few tests about real time itself. Time ceilings use Trio's clock
(``fail_after``); nothing sleeps hoping for an outcome: tests wait for the event they need,
bounded.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
import trio
from trio.testing import MockClock

from spotlight.config import Settings
from spotlight.domain.nytime import NY
from spotlight.hub import Hub
from spotlight.runtime.clock import TrioWallClock, WallClock
from spotlight.server import serve
from spotlight.service import SpotlightService
from spotlight.testing.fake_massive import FakeMassive, create_fake_massive
from spotlight.testing.virtual_time import autojump

T = TypeVar("T")

# Settings for tests: fast ticks so streams have data within tens of milliseconds,
# one day of history so start-up is quick.
FAST = Settings().derive(
    port=0,
    sim_history_days=1,
    # The index prints around the clock: streaming tests need a moving SPX whenever CI runs
    # (nights, weekends). The simulator's market hours have their own tests (faked times).
    sim_hours="always",
    trades_per_second=20.0,
    sim_burst_ms=20,
    heartbeat_s=30.0,
    shutdown_grace_s=2.0,
    # The streaming tests are about streaming; access control has its own tests.
    auth="off",
    # Nothing is read from or written to the user's data directory (recordings, keys).
    record=False,
    data_dir=tempfile.mkdtemp(prefix="spotlight-tests-"),
)


@dataclass
class Frame:
    event: str
    data: str
    id: str | None
    retry: int | None = None

    @property
    def seq(self) -> int:
        assert self.id is not None
        return int(self.id.rsplit(":", 1)[1])

    @property
    def epoch(self) -> str:
        assert self.id is not None
        return self.id.rsplit(":", 1)[0]

    def json(self) -> Any:
        return orjson.loads(self.data)


def parse_frames(buf: bytes) -> tuple[list[Frame], bytes]:
    """Complete SSE frames in ``buf`` and the unparsed remainder (per the HTML spec's rules)."""
    frames: list[Frame] = []
    while True:
        end = buf.find(b"\n\n")
        if end < 0:
            return frames, buf
        block, buf = buf[:end].decode(), buf[end + 2 :]
        event, data, eid, retry = "message", [], None, None
        for line in block.split("\n"):
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                eid = value
            elif name == "retry":
                retry = int(value)
        if data or retry is None:
            frames.append(Frame(event, "\n".join(data), eid))
        else:
            frames.append(Frame("retry", "", eid, retry))


class SSEReader:
    """Frames of one SSE response. ``next`` is cancel-safe: a background task reads the body
    into a channel, so a test may time-box a read (``move_on_after``) and keep reading."""

    def __init__(self, response: httpx.Response, frames: trio.MemoryReceiveChannel[Frame]) -> None:
        self.response = response
        self._frames = frames
        self.last_id: str | None = None

    async def next(self) -> Frame:
        try:
            frame = await self._frames.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None
        if frame.id is not None:
            self.last_id = frame.id
        return frame

    async def until(self, pred: Any, limit: int = 100_000) -> Frame:
        for _ in range(limit):
            f = await self.next()
            if pred(f):
                return f
        raise AssertionError("predicate never matched")

    async def rest(self) -> list[Frame]:
        """Every remaining frame until the server ends the response."""
        out = []
        while True:
            try:
                out.append(await self.next())
            except StopAsyncIteration:
                return out


async def _pump(response: httpx.Response, send: trio.MemorySendChannel[Frame]) -> None:
    buf = b""
    async with send:
        async for chunk in response.aiter_raw():
            frames, buf = parse_frames(buf + chunk)
            for f in frames:
                await send.send(f)


@asynccontextmanager
async def sse(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[SSEReader]:
    async with client.stream("GET", url, headers=headers or {}) as r:
        assert r.status_code == 200, (r.status_code, await r.aread())
        assert r.headers["content-type"].startswith("text/event-stream")
        send, receive = trio.open_memory_channel[Frame](10_000)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, r, send)
            yield SSEReader(r, receive)
            nursery.cancel_scope.cancel()


@dataclass
class RunningServer:
    url: str
    service: SpotlightService
    stop: trio.Event


@asynccontextmanager
async def running_server(
    *,
    clock: WallClock | None = None,
    executor_factory: Callable[[], Executor] | None = None,
    massive_transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningServer]:
    """The real server on 127.0.0.1:0 until the block ends, then a graceful shutdown.

    ``executor_factory`` replaces the analytics worker process (e.g. a thread pool)."""
    settings = FAST.derive(**overrides)
    extra: dict[str, Any] = {}
    if executor_factory is not None:
        extra["executor_factory"] = executor_factory
    service = SpotlightService(settings, clock=clock, massive_transport=massive_transport, **extra)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve(service, shutdown_trigger=stop.wait, task_status=task_status)
        )
        yield RunningServer(url, service, stop)
        stop.set()


def ny_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Unix ms of a New York wall time (the stated dates tests run on)."""
    return int(dt.datetime(year, month, day, hour, minute, second, tzinfo=NY).timestamp() * 1000)


# The stated dates and hours the virtual-time tests run on (New York time). The default is an
# ordinary session in progress: a Wednesday, 11:00, with 0DTE options listed.
WEDNESDAY_11 = ny_ms(2025, 12, 17, 11, 0)
SATURDAY_11 = ny_ms(2025, 12, 20, 11, 0)
MONDAY_AFTER_CLOSE = ny_ms(2026, 12, 7, 17, 0)

# Where the Massive client is pointed when the fake serves it through a MockTransport: the
# discard port on loopback, so a test that forgot the transport fails at once and locally.
FAKE_MASSIVE_URL = "http://127.0.0.1:9"
MASSIVE_KEY = "test-key"


@asynccontextmanager
async def virtual_server(
    clock: MockClock,
    *,
    at: int = WEDNESDAY_11,
    massive: FakeMassive | bool = False,
    executor_factory: Callable[[], Executor] | None = None,
    **overrides: Any,
) -> AsyncIterator[VirtualServer]:
    """The real server on virtual time (``clock``: the test's ``mock_clock``), its wall
    clock starting at ``at`` (Unix ms, e.g. ``ny_ms(...)``), the analytics in-process.

    ``massive``: True for the Massive source served by a fresh fake (``seed=11``, on the same
    wall clock), or a ``FakeMassive`` built by the test; it is served through
    ``httpx.MockTransport`` (no socket) and returned as ``.fake``.
    """
    wall = TrioWallClock(at)
    fake: FakeMassive | None = None
    if massive is True:
        fake = create_fake_massive(api_key=MASSIVE_KEY, seed=11, clock=wall.now_ms)
    elif isinstance(massive, FakeMassive):
        fake = massive
    if fake is not None:
        overrides = {
            "massive_api_key": MASSIVE_KEY,
            "massive_base_url": FAKE_MASSIVE_URL,
            **overrides,
        }
    async with trio.open_nursery() as nursery:
        nursery.start_soon(autojump, clock)
        async with running_server(
            clock=wall,
            executor_factory=executor_factory or InlineExecutor,
            massive_transport=None if fake is None else httpx.MockTransport(fake.handle),
            **overrides,
        ) as srv:
            yield VirtualServer(srv.url, srv.service, srv.stop, wall, fake)
        nursery.cancel_scope.cancel()


@dataclass
class VirtualServer(RunningServer):
    wall: TrioWallClock
    fake: FakeMassive | None

    @property
    def massive(self) -> FakeMassive:
        assert self.fake is not None, "start virtual_server(..., massive=True)"
        return self.fake


# One TLS context for every test client: each new httpx client would otherwise load the CA
# bundle again (~80 ms of CPU), for servers that are all plain http on 127.0.0.1.
TLS = httpx.create_ssl_context()


def http(base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10.0), verify=TLS)


async def wait_for(predicate: Any, timeout: float = 10.0, poll: float = 0.01) -> None:  # noqa: ASYNC109
    """Wait until ``predicate()`` holds, polling the server's own state; fail after ``timeout``.

    Polling is deliberate: the predicate reads server internals that have no event to wait on.
    """
    with trio.fail_after(timeout):
        while not predicate():  # noqa: ASYNC110
            await trio.sleep(poll)


def finite(x: float) -> bool:
    return math.isfinite(x)


class InlineExecutor(Executor):
    """Runs each submitted call at once, in the caller's thread: the analytics worker's
    functions then take no time on Trio's clock, so autojump tests stay deterministic."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class Bystander:
    """An SSE client on SPY that keeps every tick it receives: after faults elsewhere, its
    ticks must have no gap and no duplicate (``assert_complete`` checks them against the
    hub's history: every tick published for SPY between its first and last one)."""

    def __init__(self, pin: str | None = None) -> None:
        self.ticks: list[int] = []
        self.pin = pin  # log in first (a server with auth on)

    async def run(self, url: str, task_status: trio.TaskStatus[None]) -> None:
        async with http(url) as client:
            if self.pin is not None:
                login = await client.post("/api/auth/pin", json={"pin": self.pin})
                assert login.status_code == 200, login.text
            await self._watch(client, task_status)

    async def _watch(self, client: httpx.AsyncClient, task_status: trio.TaskStatus[None]) -> None:
        async with sse(client, "/realtime/sse?symbols=SPY") as s:
            task_status.started()
            while True:
                f = await s.next()
                if f.event == "tick":
                    self.ticks.append(f.seq)

    async def more_ticks(self, n: int = 5) -> None:
        target = len(self.ticks) + n
        await wait_for(lambda: len(self.ticks) >= target, timeout=15)

    def assert_complete(self, hub: Hub) -> None:
        assert self.ticks, "the bystander got no ticks"
        assert self.ticks == sorted(set(self.ticks)), "duplicate or out-of-order ticks"
        first, last = self.ticks[0], self.ticks[-1]
        published = [e.seq for e in hub.history.since(first - 1, {"tick:SPY"}) if e.seq <= last]
        assert published == self.ticks, "the bystander missed ticks"
