"""Real processes for the scale-out tests: redis-server, Spotlight nodes, a TCP proxy.

- ``RedisServer``: its own ``redis-server`` on a free 127.0.0.1 port, in a temp dir, with
  persistence off (``--save "" --appendonly no``); never the system Redis on 6379. It can be
  killed and started again, empty, on the same port.
- ``Node``: ``python -m spotlight serve`` as a subprocess with the given environment, its
  URL read from its log; the log is kept (and shown when a test fails).
- ``TcpProxy``: between a node and Redis, to cut the connection (every socket closed, new
  ones refused) or black-hole it (nothing forwarded, sockets left open: a partition).
- ``stream_entries``: the shared stream's content, the reference a client's frames are
  checked against (exactly its topics' events, in order: no gap, no duplicate, nothing else).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import coredis
import httpx
import trio
from support import Frame, parse_frames

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"

# Short bounds so failures happen within a second or two: a 1 s lease, a 0.5 s timeout.
LEASE_TTL_S = 1.0
REDIS_TIMEOUT_S = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="spotlight-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._spawn()
        with trio.fail_after(10):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", self.port)
                except OSError:
                    await trio.sleep(0.02)  # not listening yet: nothing to wait on but time
                    continue
                await stream.aclose()
                return

    def _spawn(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self) -> coredis.Redis[bytes]:
        return coredis.Redis.from_url(self.url, decode_responses=False)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@asynccontextmanager
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer()
    await server.start()
    try:
        yield server
    finally:
        server.close()


def node_env(redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "PORT": "0",
        "SPOTLIGHT_AUTH": "off",
        "SPOTLIGHT_RECORD": "off",
        "SPOTLIGHT_SIM_HISTORY_DAYS": "1",
        "SPOTLIGHT_TRADES_PER_SECOND": "20",
        "SPOTLIGHT_SIM_BURST_MS": "50",
        "SPOTLIGHT_SHUTDOWN_GRACE_S": "1",
        # Heartbeats keep an idle stream (a node without Redis) visibly alive for clients.
        "SPOTLIGHT_HEARTBEAT_S": "1",
        "SPOTLIGHT_REDIS_URL": redis_url,
        "SPOTLIGHT_REDIS_PREFIX": prefix,
        "SPOTLIGHT_LEASE_TTL_S": str(LEASE_TTL_S),
        "SPOTLIGHT_REDIS_TIMEOUT_S": str(REDIS_TIMEOUT_S),
        "SPOTLIGHT_DATA_DIR": tempfile.mkdtemp(prefix="spotlight-node-"),
        **extra,
    }
    env.pop("MASSIVE_API_KEY", None)
    return env


class Node:
    """One ``python -m spotlight serve`` process."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.env = env
        self.log: list[str] = []
        self.url = ""
        self._seen_url = threading.Event()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "spotlight", "serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip())
            if not self.url and "Spotlight on http://" in line:
                self.url = line.split("Spotlight on ", 1)[1].split()[0]
                self._seen_url.set()
        self._seen_url.set()

    async def started(self) -> Node:
        with trio.fail_after(60):
            await trio.to_thread.run_sync(self._seen_url.wait)
        assert self.url, f"{self.name} exited before serving:\n" + "\n".join(self.log[-30:])
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, n: int = 40) -> str:
        return f"--- {self.name} log ---\n" + "\n".join(self.log[-n:])

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=httpx.Timeout(5.0))

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with self.http() as c:
            r = await c.get("/health")
            return r.status_code, r.json()

    async def diag(self) -> dict[str, Any]:
        async with self.http() as c:
            return dict((await c.get("/api/diag")).json())

    async def is_leader(self) -> bool:
        try:
            _, body = await self.health()
        except httpx.HTTPError:
            return False
        return bool(body["checks"].get("leader"))


@asynccontextmanager
async def nodes(*envs: tuple[str, dict[str, str]]) -> AsyncIterator[list[Node]]:
    """Start nodes one after the other (each ready before the next starts)."""
    started: list[Node] = []
    try:
        for name, env in envs:
            node = Node(name, env)
            started.append(node)
            await node.started()
        yield started
    except BaseException:
        for n in started:
            print(n.tail())
        raise
    finally:
        for n in started:
            n.stop()


async def wait_until(check: Any, timeout: float, what: str) -> float:  # noqa: ASYNC109
    """Poll the async ``check()`` (a server's /health or /api/diag: nothing to wait on but
    its answers) until it is true; returns the seconds it took, fails after ``timeout``."""
    t0 = time.monotonic()
    with trio.move_on_after(timeout):
        while not await check():  # noqa: ASYNC110
            await trio.sleep(0.02)
        return time.monotonic() - t0
    raise AssertionError(f"not within {timeout}s: {what}")


class TcpProxy:
    """127.0.0.1 proxy to ``target_port``: ``open``, ``cut()`` or ``blackhole()``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.mode = "open"
        self._flowing = trio.Event()
        self._flowing.set()
        self._conns: set[trio.SocketStream] = set()

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    def cut(self) -> None:
        """Close every proxied connection and refuse new ones (Redis unreachable)."""
        self.mode = "cut"
        for s in list(self._conns):
            s.socket.close()
        self._conns.clear()

    def blackhole(self) -> None:
        """Forward nothing and answer nothing; sockets stay open (a partition)."""
        self.mode = "blackhole"
        self._flowing = trio.Event()

    def restore(self) -> None:
        self.mode = "open"
        self._flowing.set()

    async def _handle(self, client: trio.SocketStream) -> None:
        if self.mode == "cut":
            await client.aclose()
            return
        await self._flowing.wait()
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        except OSError:
            await client.aclose()
            return
        self._conns.update((client, upstream))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._pump, client, upstream, nursery.cancel_scope)
                nursery.start_soon(self._pump, upstream, client, nursery.cancel_scope)
        finally:
            self._conns.discard(client)
            self._conns.discard(upstream)
            for s in (client, upstream):
                s.socket.close()

    async def _pump(
        self, src: trio.SocketStream, dst: trio.SocketStream, scope: trio.CancelScope
    ) -> None:
        try:
            while True:
                data = await src.receive_some(65536)
                if not data:
                    break
                await self._flowing.wait()
                await dst.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        scope.cancel()


Entry = tuple[int, str, bytes, str]  # seq, topic, payload, the publisher's lease


async def stream_entries(redis_url: str, prefix: str) -> list[Entry]:
    """Every (seq, topic, payload, lease) in the shared stream, oldest first."""
    out: list[Entry] = []
    async with coredis.Redis.from_url(redis_url, decode_responses=False) as r:
        start = "-"
        while True:
            entries = await r.xrange(f"{prefix}:stream", start, "+", count=5000)
            for e in entries:
                f = e.field_values
                seq = int(_b(e.identifier).split(b"-")[0])
                out.append((seq, _b(f[b"t"]).decode(), _b(f[b"d"]), _b(f[b"f"]).decode()))
            if len(entries) < 5000:
                return out
            start = f"{out[-1][0] + 1}-0"


def _b(v: str | bytes) -> bytes:
    return v if isinstance(v, bytes) else v.encode()


def is_notice(f: Frame) -> bool:
    """A node's unsequenced status notice (lost or regained the shared stream)."""
    return f.event == "status" and "hub" in (f.json().get("feeds") or {})


def ticks(frames: Iterable[Frame]) -> list[Frame]:
    """The trades among ``frames``: never conflated, so every one published must arrive."""
    return [f for f in frames if f.event == "tick"]


def check_exact(received: list[Frame], entries: list[Entry], topic: str, after: int) -> int:
    """``received`` (one topic's frames) is exactly the stream's events of ``topic`` with seq
    > ``after``, up to the last one received: no gap, no duplicate, nothing made up."""
    got = [(f.seq, f.data) for f in received]
    if not got:
        return 0
    last = got[-1][0]
    want = [(s, d.decode()) for s, t, d, _ in entries if t == topic and after < s <= last]
    seqs = [s for s, _ in got]
    assert len(seqs) == len(set(seqs)), "duplicate events"
    assert got == want, _diff(got, want)
    return len(got)


def fences_in_order(entries: list[Entry]) -> list[str]:
    """The leases that published, in stream order; each appears in one unbroken run (a
    deposed leader never publishes after its successor started)."""
    runs: list[str] = []
    for _, _, _, f in entries:
        if not runs or runs[-1] != f:
            assert f not in runs, f"lease {f} published again after {runs[-1]} took over"
            runs.append(f)
    return runs


class Collector:
    """An SSE client that keeps every frame and reconnects with Last-Event-ID (to the next
    URL in its list when its node is gone), like the web client does."""

    def __init__(self, urls: list[str], path: str = "/realtime/sse?symbols=SPY") -> None:
        self.urls = urls
        self.path = path
        self.frames: list[Frame] = []
        self.connects: list[str] = []
        self.last_id: str | None = None
        self.changed = trio.Event()

    def count(self, pred: Any) -> int:
        return sum(1 for f in self.frames if pred(f))

    async def wait_for(self, pred: Any, n: int = 1, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        with trio.fail_after(timeout):
            while self.count(pred) < n:
                self.changed = trio.Event()
                await self.changed.wait()

    async def run(self) -> None:
        i = 0
        while True:
            url = self.urls[i % len(self.urls)]
            headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
            try:
                async with httpx.AsyncClient(base_url=url, timeout=5) as c:
                    async with c.stream("GET", self.path, headers=headers) as r:
                        if r.status_code != 200:
                            raise ConnectionError(r.status_code)
                        self.connects.append(url)
                        buf = b""
                        async for chunk in r.aiter_raw():
                            frames, buf = parse_frames(buf + chunk)
                            for f in frames:
                                self.frames.append(f)
                                if f.id is not None:
                                    self.last_id = f.id
                            self.changed.set()
            except (httpx.HTTPError, ConnectionError, OSError):
                pass
            i += 1
            await trio.sleep(0.05)  # a reconnect delay, as a client has (not a wait for state)


def _diff(got: list[tuple[int, str]], want: list[tuple[int, str]]) -> str:
    g, w = {s for s, _ in got}, {s for s, _ in want}
    return f"missing seqs {sorted(w - g)[:20]}, extra seqs {sorted(g - w)[:20]}"
