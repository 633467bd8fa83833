"""Processes of the fan-out benchmark: the server under test and the client processes.

The server runs as ``python -m spotlight serve`` (or through bench/gc_probe.py) with its own
environment (and a fresh data directory: it records as it would in production) on a free
127.0.0.1 port; clients are bench/sse_clients.c (compiled here on first use, with
bench/ws_frames.c, and self-tested; the default; SSE or, with ``--ws``, WebSocket) or
bench/sse_clients.py processes (SSE only), driven over their stdin/stdout with the same line
protocol. ``pin`` puts the server (and its analytics worker) on CPU 0 and the clients on the
others.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from probes import get

__all__ = [
    "client_program",
    "descendants",
    "free_port",
    "mark",
    "pin",
    "read_reply",
    "start_client_procs",
    "start_clients",
    "start_server",
    "stop",
    "stop_clients",
    "tree_pids",
    "wait_healthy",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(a: argparse.Namespace, log: IO[bytes]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTLIGHT_")}
    tps = 0.01 if a.idle_rss else a.trades_per_second
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        SPOTLIGHT_TRADES_PER_SECOND=str(tps),
        SPOTLIGHT_SIM_BURST_MS=str(a.burst_ms),
        SPOTLIGHT_SIM_HISTORY_DAYS="0",
        # A fan-out benchmark: streams connect without logging in (auth has its own tests).
        SPOTLIGHT_AUTH="off",
        SPOTLIGHT_SYMBOLS=a.extra_symbols,
        # Every benchmark client connects from 127.0.0.1: no per-address cap.
        SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS="0",
        SPOTLIGHT_DATA_DIR=tempfile.mkdtemp(prefix="spotlight-bench-"),
    )
    if a.idle_rss or a.heartbeat is not None:
        env["SPOTLIGHT_HEARTBEAT_S"] = str(3600.0 if a.heartbeat is None else a.heartbeat)
    if a.queue_bytes is not None:
        env["SPOTLIGHT_CLIENT_QUEUE_BYTES"] = str(a.queue_bytes)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    if a.gc_threshold:
        env["BENCH_GC_THRESHOLD"] = a.gc_threshold
    launcher = [str(HERE / "gc_probe.py")] if a.gc_probe else ["-m", "spotlight"]
    cmd = [PY, *launcher, "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(proc, url + "/health", log.name)
    return proc, url


def wait_healthy(proc: subprocess.Popen[bytes], health_url: str, log_name: str) -> None:
    """Until ``health_url`` answers 200 (60 s at most); the server's exit stops the wait."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; log: {log_name}")
        try:
            if get(health_url, timeout=1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server not healthy after 60 s; log: {log_name}")


C_SOURCES = ("sse_clients.c", "ws_frames.c", "ws_frames.h")


def client_program(impl: str) -> list[str]:
    """The command that runs one client process: the C clients (built and self-tested on
    first use and after any change to their sources) or the Python ones."""
    if impl == "python":
        return [PY, str(HERE / "sse_clients.py")]
    binary = HERE / ".build" / "sse_clients"
    newest = max((HERE / name).stat().st_mtime for name in C_SOURCES)
    if not binary.exists() or binary.stat().st_mtime < newest:
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            raise SystemExit("no C compiler for bench/sse_clients.c; use --client-impl python")
        binary.parent.mkdir(exist_ok=True)
        sources = [str(HERE / name) for name in C_SOURCES if name.endswith(".c")]
        subprocess.run([cc, "-O2", "-Wall", "-o", str(binary), *sources], check=True)
        test = subprocess.run([str(binary), "--self-test"], capture_output=True, text=True)
        if test.returncode != 0:
            binary.unlink()
            raise SystemExit(f"bench/sse_clients.c failed its self-test:\n{test.stderr}")
    return [str(binary)]


def pin(server: subprocess.Popen[bytes], clients: list[subprocess.Popen[str]]) -> dict[str, Any]:
    """Server and its children (the analytics worker) on CPU 0, clients on the other CPUs."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return {"pinned": False, "reason": "one CPU"}
    server_cpus, client_cpus = {cpus[0]}, set(cpus[1:])
    pids = tree_pids(server.pid)
    for pid in pids:
        os.sched_setaffinity(pid, server_cpus)
        for tid in os.listdir(f"/proc/{pid}/task"):  # threads started before pinning
            os.sched_setaffinity(int(tid), server_cpus)
    for p in clients:
        os.sched_setaffinity(p.pid, client_cpus)
    return {
        "pinned": True,
        "server": sorted(server_cpus),
        "clients": sorted(client_cpus),
        "serverPids": pids,
    }


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants (the server's analytics worker, say)."""
    return [pid, *_children(pid)]


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (workers, analytics pools), from /proc."""
    return _children(pid)


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(entry))
            out.extend(_children(int(entry)))
    return out


def start_clients(a: argparse.Namespace, url: str) -> list[subprocess.Popen[str]]:
    port = int(url.rsplit(":", 1)[1])
    transport = getattr(a, "transport", "sse")
    if transport == "ws":
        symbols = [s for s in a.symbols.split(",") if s]
        subscribe = {"type": "subscribe", "symbols": symbols, "timeframe": a.timeframe}
        extra = ["--ws", "--path", "/ws/prices", "--subscribe", json.dumps(subscribe)]
    else:
        extra = ["--path", f"/realtime/sse?symbols={a.symbols}&timeframe={a.timeframe}"]
    return start_client_procs(
        client_program(a.client_impl), port, a.clients, a.client_procs, a.wave, extra
    )


def start_client_procs(
    program: list[str], port: int, clients: int, procs: int, wave: int, extra: list[str]
) -> list[subprocess.Popen[str]]:
    """``procs`` client processes sharing ``clients`` connections, each told ``extra``."""
    out = []
    for i in range(procs):
        n = clients // procs + (1 if i < clients % procs else 0)
        cmd = [*program, "--port", str(port), "--clients", str(n)]
        cmd += ["--wave", str(max(1, wave // procs)), *extra]
        out.append(subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    return out


def read_reply(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        raise SystemExit(f"client process {proc.pid} gave no reply (exit {proc.poll()})")
    reply: dict[str, Any] = json.loads(line)
    return reply


def mark(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("mark\n")
        p.stdin.flush()
    return [read_reply(p, 30) for p in procs]


def stop(server: subprocess.Popen[bytes], clients: list[subprocess.Popen[str]]) -> None:
    stop_clients(clients)
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def stop_clients(clients: list[subprocess.Popen[str]]) -> None:
    for p in clients:
        if p.poll() is None and p.stdin is not None:
            try:
                p.stdin.write("quit\n")
                p.stdin.close()
            except BrokenPipeError:
                pass
    for p in clients:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
