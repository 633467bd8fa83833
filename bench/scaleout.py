"""Scale-out benchmark: the Redis backend, workers, cross-node delivery, publish throughput.

    .venv/bin/python bench/scaleout.py workers --clients 1000 --duration 20
    .venv/bin/python bench/scaleout.py cross --clients 1000 --duration 20
    .venv/bin/python bench/scaleout.py publish --duration 5

Each mode starts its own ``redis-server`` (a free 127.0.0.1 port, persistence off, a temp
dir; never the system Redis) and its own Spotlight processes, like bench/fanout.py does, and
prints one JSON result (``--out`` also writes it to a file).

- ``workers``: ``serve --workers 1`` then ``--workers 2`` over Redis (plus the memory backend
  as a baseline, one process), the same SSE load (bench/sse_clients.c) on one port. Reports
  delivered events/s, tick publish-to-receive latency (p50/p99), CPU of all server processes.
- ``cross``: two nodes on two ports sharing one Redis; half the clients on the market leader,
  half on the follower. Every event reaches both through the stream, so the follower's extra
  latency over the leader's is what crossing nodes costs (the memory baseline shows what the
  trip through Redis costs at all).
- ``publish``: one in-process Redis backend publishing as fast as it can; sequenced
  publishes/s with history (script: INCRBY, XADD, trims), counted when the node's own reader
  has delivered them back (the full round trip).

Numbers on a shared 2-core box are noisy: compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from probes import cpu_seconds, get, get_json, latency_summary
from processes import descendants, free_port, mark, read_reply, start_clients

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=("workers", "cross", "publish"))
    p.add_argument("--clients", type=int, default=1000, help="SSE connections (default 1000)")
    p.add_argument("--duration", type=float, default=20.0, help="measured window, s")
    p.add_argument("--warmup", type=float, default=3.0, help="s after the last connect")
    p.add_argument("--trades-per-second", type=float, default=50.0)
    p.add_argument("--burst-ms", type=int, default=100)
    p.add_argument("--client-procs", type=int, default=1, help="client processes per target")
    p.add_argument("--client-impl", choices=("c", "python"), default="c")
    p.add_argument("--wave", type=int, default=200, help="connections per wave")
    p.add_argument("--symbols", default="SPY")
    p.add_argument("--timeframe", default="1m")
    p.add_argument("--workers", default="1,2", help="worker counts to compare (workers mode)")
    p.add_argument("--no-memory", action="store_true", help="skip the memory-backend baseline")
    p.add_argument("--out", default=None)
    return p.parse_args(argv)


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="spotlight-bench-redis-")
        self.proc = subprocess.Popen(
            [
                *(REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start") from None
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def server_env(a: argparse.Namespace, port: int, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTLIGHT_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        SPOTLIGHT_TRADES_PER_SECOND=str(a.trades_per_second),
        SPOTLIGHT_SIM_BURST_MS=str(a.burst_ms),
        SPOTLIGHT_SIM_HISTORY_DAYS="0",
        SPOTLIGHT_AUTH="off",
        SPOTLIGHT_RECORD="off",
        # Every benchmark client connects from 127.0.0.1: no per-address cap.
        SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS="0",
        SPOTLIGHT_HEARTBEAT_S="3600",
        SPOTLIGHT_DATA_DIR=tempfile.mkdtemp(prefix="spotlight-bench-"),
    )
    if redis_url:
        env["SPOTLIGHT_REDIS_URL"] = redis_url
        env["SPOTLIGHT_REDIS_PREFIX"] = f"bench{port}"
    return env


def start(env: dict[str, str], workers: int, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    cmd = [PY, "-m", "spotlight", "serve"] + (["--workers", str(workers)] if workers > 1 else [])
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 90
    healthy: set[str] = set()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; log: {log.name}")
        try:
            status, body = get(url + "/health", timeout=1.0)
            if status == 200:
                healthy.add(json.loads(body)["checks"]["node"])
                if len(healthy) >= workers:
                    return proc, url
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server not healthy after 90 s; log: {log.name}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants (workers, analytics pools)."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            total += sum(cpu_seconds(p))
        except OSError:
            continue
    return total


def load(a: argparse.Namespace, url: str, clients: int) -> list[subprocess.Popen[str]]:
    b = argparse.Namespace(**vars(a))
    b.clients = clients
    procs = start_clients(b, url)
    for p in procs:
        read_reply(p, 30 + 12 * (clients / a.wave + 1))
    return procs


def window(
    a: argparse.Namespace, groups: dict[str, list[subprocess.Popen[str]]], server_pids: list[int]
) -> dict[str, Any]:
    time.sleep(a.warmup)
    c0 = {k: mark(v) for k, v in groups.items()}
    t0, s0 = time.monotonic(), sum(tree_cpu(p) for p in server_pids)
    time.sleep(a.duration)
    c1 = {k: mark(v) for k, v in groups.items()}
    t1, s1 = time.monotonic(), sum(tree_cpu(p) for p in server_pids)
    win = t1 - t0
    out: dict[str, Any] = {"window_s": round(win, 2), "server_cpu_util": round((s1 - s0) / win, 3)}
    for k in groups:
        counts: Counter[str] = Counter()
        lat: Counter[int] = Counter()
        for before, after in zip(c0[k], c1[k], strict=True):
            for name, v in after["counts"].items():
                counts[name] += v - before["counts"].get(name, 0)
            lat.update({int(ms): n for ms, n in after["latency"].items()})  # mark to mark
        delivered = counts["events"] - counts["snapshot"]
        out[k] = {
            "delivered_events_per_s": round(delivered / win),
            "ticks_per_s": round(counts["tick"] / win),
            "latency_ms": latency_summary(lat),
        }
    return out


def quit_clients(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None and p.stdin is not None:
            try:
                p.stdin.write("quit\n")
                p.stdin.close()
            except BrokenPipeError:
                pass
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def run_workers(a: argparse.Namespace, log: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    runs: list[tuple[str, int, bool]] = [] if a.no_memory else [("memory", 1, False)]
    runs += [(f"redis-{n}w", int(n), True) for n in a.workers.split(",")]
    for name, n, redis in runs:
        r = Redis() if redis else None
        try:
            env = server_env(a, free_port(), r.url if r else None)
            proc, url = start(env, n, log)
            clients = load(a, url, a.clients)
            results[name] = window(a, {"clients": clients}, [proc.pid])
            results[name]["workers"] = n
            quit_clients(clients)
            stop(proc)
        finally:
            if r:
                r.stop()
    base = results.get("redis-1w", {}).get("clients", {}).get("delivered_events_per_s")
    for v in results.values():
        got = v["clients"]["delivered_events_per_s"]
        v["speedup_vs_redis_1w"] = round(got / base, 2) if base else None
    return results


def run_cross(a: argparse.Namespace, log: Any) -> dict[str, Any]:
    r = Redis()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        leader_env = server_env(a, free_port(), r.url)
        follower_env = {**server_env(a, free_port(), r.url), "SPOTLIGHT_REDIS_PREFIX": "cross"}
        leader_env["SPOTLIGHT_REDIS_PREFIX"] = "cross"
        p1, leader = start(leader_env, 1, log)  # first up: it takes the lease
        procs.append(p1)
        p2, follower = start(follower_env, 1, log)
        procs.append(p2)
        assert get_json(leader + "/health")["checks"]["leader"] is True
        half = a.clients // 2
        groups = {"leader": load(a, leader, half), "follower": load(a, follower, a.clients - half)}
        out = window(a, groups, [p1.pid, p2.pid])
        p50 = {k: out[k]["latency_ms"].get("p50_ms") for k in groups}
        if p50["leader"] is not None and p50["follower"] is not None:
            out["cross_node_extra_p50_ms"] = round(p50["follower"] - p50["leader"], 2)
        for g in groups.values():
            quit_clients(g)
        return out
    finally:
        for p in procs:
            stop(p)
        r.stop()


def run_publish(a: argparse.Namespace) -> dict[str, Any]:
    r = Redis()
    try:
        code = PUBLISH_PROBE.format(url=r.url, duration=a.duration)
        out = subprocess.run(
            [PY, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=a.duration + 60
        )
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result
    finally:
        r.stop()


# Runs in its own process: a Redis backend and hub, the lease taken, publishing in bursts of
# 200 (what a busy tape looks like) and counting what the reader delivers back.
PUBLISH_PROBE = """
import json, time, trio
from spotlight.hub.backend_redis import RedisBackend, RedisConfig
from spotlight.hub.epoch import Epoch
from spotlight.hub.history import History
from spotlight.hub.hub import Hub
from spotlight.runtime.tree import ActorNode

async def main():
    cfg = RedisConfig(url="{url}", prefix="pub", node_id="bench", max_events=50_000,
                      max_age_s=900.0, timeout_s=2.0, outbound_events=100_000)
    b = RedisBackend(cfg)
    hub = Hub(Epoch("x", 0), History(50_000, 900.0), trio.current_time, backend=b)
    async with trio.open_nursery() as n:
        await n.start(b.run, hub, ActorNode("redis", "hub-backend"))
        b.fence = (await b.script("ACQUIRE", [cfg.key("lease"), cfg.key("fence")],
                                  ["bench", 600_000])).decode()
        payload = {{"s": "SPY", "p": 585.12, "v": 100.0, "t": 1700000000000}}
        t0 = time.monotonic()
        while time.monotonic() - t0 < {duration}:
            for _ in range(200):
                hub.publish("tick", "tick:SPY", payload)
            while len(b.outbound) > 2000:
                await trio.sleep(0.001)
            await trio.sleep(0)
        end = b.outbound.published + len(b.outbound)
        with trio.fail_after(30):
            while hub.last_seq < end:
                await trio.sleep(0.005)
        dt = time.monotonic() - t0
        print(json.dumps({{"published": hub.last_seq, "seconds": round(dt, 2),
                          "publishes_per_s": round(hub.last_seq / dt),
                          "history_events": len(hub.history),
                          "dropped": b.dropped}}))
        n.cancel_scope.cancel()

trio.run(main)
"""


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    with tempfile.NamedTemporaryFile(prefix="spotlight-bench-", suffix=".log", delete=False) as log:
        if a.mode == "workers":
            result = run_workers(a, log)
        elif a.mode == "cross":
            result = run_cross(a, log)
        else:
            result = run_publish(a)
        result = {"mode": a.mode, "clients": a.clients, **result, "log": log.name}
    text = json.dumps(result, indent=2)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
