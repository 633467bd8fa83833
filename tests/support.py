"""Test support: an SSE frame parser, a streaming SSE reader over httpx, a real server.

Integration tests run the real server (hypercorn on a real 127.0.0.1 socket, port 0) through
``spotlight.server.serve`` (the same function ``python -m spotlight serve`` uses) and talk
to it with real HTTP clients. Time ceilings use Trio's clock (``fail_after``); nothing sleeps
hoping for an outcome: tests wait for the event they need, bounded.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import httpx
import orjson
import trio

from spotlight.config import Settings
from spotlight.hub import Hub
from spotlight.runtime.clock import WallClock
from spotlight.server import serve
from spotlight.service import SpotlightService

T = TypeVar("T")

# Settings for tests: fast ticks so streams have data within tens of milliseconds,
# one day of history so start-up is quick.
FAST = Settings(
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
    **overrides: Any,
) -> AsyncIterator[RunningServer]:
    """The real server on 127.0.0.1:0 until the block ends, then a graceful shutdown.

    ``executor_factory`` replaces the analytics worker process (e.g. a thread pool)."""
    settings = replace(FAST, **overrides)
    if executor_factory is None:
        service = SpotlightService(settings, clock=clock)
    else:
        service = SpotlightService(settings, clock=clock, executor_factory=executor_factory)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        url = await nursery.start(
            lambda task_status: serve(service, shutdown_trigger=stop.wait, task_status=task_status)
        )
        yield RunningServer(url, service, stop)
        stop.set()


def http(base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10.0))


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
