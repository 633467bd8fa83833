"""Side by side: one workload served by Node (express + ws), uvicorn (sse-starlette +
websockets) and Spotlight, each over SSE and WebSocket, measured one after another in one
run by the same C clients (bench/sse_clients.c), printed as one table.

    .venv/bin/python bench/compare.py --pin                 # 1,000 clients, R = 20 and 100, 15 s
    .venv/bin/python bench/compare.py --clients 50 --rates 20 --window 3 --only spotlight:ws

The workload: one stream of R events/s per client on SPY. The peers (bench/peers/) publish R
evenly spaced ~140-byte tick events; Spotlight runs its simulator at R/2 trades + R/2 quotes
per second (its stream also carries the 1-minute bar update each trade makes, written with
its tick) with 1 ms bursts. Then the "bursty" rows: every implementation publishing the same
events in 100 ms bursts (Spotlight's default SPOTLIGHT_SIM_BURST_MS), the workload of the
older headline figures: Spotlight writes each burst to a client in one write, the peers still
write each event on its own.

Per run: a fresh server; N clients connect in waves; ``--pin`` puts the server's process tree
on CPU 0 and the clients on CPU 1; a warm-up; then one window, between two marks of the
clients' counters. Reported: delivered events/s (everything but the initial snapshot); ticks
delivered as a share of the ticks the server published in the window times the clients
(``/stats`` on the peers, SPY's 1-minute bars on Spotlight); server CPU (utime + stime of its
process tree from /proc) per delivered event and as a share of one core; tick
publish-to-receive latency (``t`` is integer Unix ms: ~1 ms resolution); connection errors
(clients that never connected, plus disconnects and protocol errors in the window). Idle RSS
per connection comes from runs of their own: a silent server, 10 primer connections, VmRSS of
the server's main process before and after N more.

Installs the peers' pinned packages on first use (bench/compare_servers.py). Writes every
figure to ``--out`` as JSON. On a shared 2-core machine compare ratios within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from compare_servers import IMPLEMENTATIONS, Server, install, offered_ticks, start
from compare_table import table
from probes import cpu_seconds, latency_summary, rss_bytes
from processes import (
    client_program,
    mark,
    pin,
    read_reply,
    start_client_procs,
    stop,
    tree_pids,
)
from report import log_problems

TRANSPORTS = ("sse", "ws")
BURSTY_MS = 100  # Spotlight's default SPOTLIGHT_SIM_BURST_MS
SMOOTH_MS = 1  # SPOTLIGHT_SIM_BURST_MS=1; the peers space their events evenly
PRIMER = 10  # idle runs: connections opened before the baseline reading
SUBSCRIBE = {"type": "subscribe", "symbols": ["SPY"], "timeframe": "1m"}
SSE_PATH = "/realtime/sse?symbols=SPY&timeframe=1m"
# Client counters that mean a connection failed or broke during the window.
BROKEN = ("disconnects", "bad_status", "bad_handshake", "bad_frame", "send_failed")
# Events that mean a server gave up on a client or lost its place.
TROUBLE_EVENTS = ("slow", "shutdown", "reset", "error")

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="connections per run (default 1000)")
    p.add_argument("--rates", default="20,100", help="events/s per client, comma-separated")
    p.add_argument(
        "--bursty-rates",
        default="100",
        help=f"rates also run in {BURSTY_MS} ms bursts (default 100; '' for none)",
    )
    p.add_argument("--window", type=float, default=15.0, help="measured window, s (default 15)")
    p.add_argument("--warmup", type=float, default=3.0, help="s after the last connect")
    p.add_argument(
        "--pin", action="store_true", help="server's process tree on CPU 0, clients on CPU 1"
    )
    p.add_argument(
        "--only",
        default="",
        help="implementations or implementation:transport, comma-separated\n"
        "(e.g. 'spotlight,node:ws'; default: node, uvicorn, spotlight over sse and ws)",
    )
    p.add_argument("--client-procs", type=int, default=1, help="client processes (default 1)")
    p.add_argument("--wave", type=int, default=200, help="connections per wave (default 200)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every server/transport this many times per workload, interleaved (A B A B,\n"
        "so a slow spell of a shared host falls on both); the table shows each one's median\n"
        "round by CPU per event and lists every round's (default 1)",
    )
    p.add_argument("--no-idle", action="store_true", help="skip the idle-RSS runs")
    p.add_argument("--out", default=None, help="JSON results (default bench/results/compare-*)")
    a = p.parse_args(argv)
    a.rates = _rates(a.rates, "--rates")
    a.bursty_rates = _rates(a.bursty_rates, "--bursty-rates")
    a.targets = _targets(a.only)
    if a.clients < 1 or a.window <= 0 or a.client_procs < 1 or a.rounds < 1:
        p.error("--clients, --client-procs and --rounds must be >= 1 and --window > 0")
    return a


def _rates(text: str, flag: str) -> list[float]:
    try:
        rates = [float(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise SystemExit(f"{flag}: expected comma-separated numbers, got {text!r}") from None
    if any(r <= 0 for r in rates):
        raise SystemExit(f"{flag}: rates must be > 0, got {text!r}")
    return rates


def _targets(only: str) -> list[tuple[str, str]]:
    every = [(impl, tr) for impl in IMPLEMENTATIONS for tr in TRANSPORTS]
    if not only:
        return every
    chosen: set[tuple[str, str]] = set()
    for item in (s.strip() for s in only.split(",") if s.strip()):
        impl, _, tr = item.partition(":")
        if impl not in IMPLEMENTATIONS or (tr and tr not in TRANSPORTS):
            raise SystemExit(
                f"--only: unknown {item!r}; use {', '.join(IMPLEMENTATIONS)}, "
                f"optionally with :{' or :'.join(TRANSPORTS)}"
            )
        chosen.update((impl, t) for t in ([tr] if tr else TRANSPORTS))
    return [t for t in every if t in chosen]


# -- one run ----------------------------------------------------------------------------
def clients_for(
    a: argparse.Namespace, server: Server, transport: str, n: int
) -> list[subprocess.Popen[str]]:
    if transport == "ws":
        extra = ["--ws", "--path", "/ws/prices", "--subscribe", json.dumps(SUBSCRIBE)]
    else:
        extra = ["--path", SSE_PATH]
    port = int(server.url.rsplit(":", 1)[1])
    procs = start_client_procs(client_program("c"), port, n, a.client_procs, a.wave, extra)
    return procs


def connect(
    a: argparse.Namespace, server: Server, transport: str, n: int
) -> tuple[list[subprocess.Popen[str]], int]:
    clients = clients_for(a, server, transport, n)
    replies = [read_reply(p, 30 + 12 * (n / a.wave + 1)) for p in clients]
    return clients, sum(int(r["connected"]) for r in replies)


def tree_cpu(pid: int) -> dict[int, float]:
    out = {}
    for p in tree_pids(pid):
        with contextlib.suppress(OSError):  # exited between the listing and the read
            out[p] = sum(cpu_seconds(p))
    return out


def marked(
    server: Server, clients: list[subprocess.Popen[str]]
) -> tuple[list[dict[str, Any]], float | None]:
    """The clients' counters, and the ticks published by then: the mean of one count just
    before and one just after the mark, so a burst that lands between the two counts half.

    A peer saturated past the point of answering ``/stats`` (its event loop busy writing)
    gives None: its ticks are then the nominal R per second, which is what its publisher
    counts anyway (it catches up on the wall clock). Spotlight must answer."""
    try:
        before = offered_ticks(server)
        counts = mark(clients)
        return counts, (before + offered_ticks(server)) / 2
    except TimeoutError:
        if server.impl == "spotlight":
            raise
        return mark(clients), None


def run_load(
    a: argparse.Namespace, impl: str, transport: str, rate: float, burst_ms: int
) -> dict[str, Any]:
    server = start(impl, rate, burst_ms, idle=False)
    clients: list[subprocess.Popen[str]] = []
    try:
        clients, connected = connect(a, server, transport, a.clients)
        pinning = pin(server.proc, clients) if a.pin else {"pinned": False}
        time.sleep(a.warmup)
        c0, o0 = marked(server, clients)
        cpu0, t0 = tree_cpu(server.proc.pid), time.monotonic()
        k0 = [sum(cpu_seconds(p.pid)) for p in clients]
        time.sleep(a.window)
        c1, o1 = marked(server, clients)
        cpu1, t1 = tree_cpu(server.proc.pid), time.monotonic()
        k1 = [sum(cpu_seconds(p.pid)) for p in clients]
        rss = rss_bytes(server.proc.pid)
    finally:
        stop(server.proc, clients)
        server.log.close()
    win = t1 - t0
    counts: Counter[str] = Counter()
    for before, after in zip(c0, c1, strict=True):
        for k, v in after["counts"].items():
            counts[k] += v - before["counts"].get(k, 0)
    lat: Counter[int] = Counter()
    for r in c1:
        lat.update({int(k): v for k, v in r["latency"].items()})
    delivered = counts["events"] - counts["snapshot"]
    cpu = sum(v - cpu0.get(pid, 0.0) for pid, v in cpu1.items())
    nominal = o0 is None or o1 is None
    per_client = rate * win if o0 is None or o1 is None else o1 - o0
    offered = per_client * connected
    client_cpu = [(b - c) / win for c, b in zip(k0, k1, strict=True)]
    return {
        "connected": connected,
        "window_s": round(win, 3),
        "delivered_per_s": round(delivered / win),
        "by_type_per_s": {
            k: round(counts[k] / win)
            for k in ("tick", "quote", "bar:update", "bar:close", "heartbeat", "other")
            if counts[k]
        },
        "offered_ticks_per_client_per_s": round(per_client / win, 2),
        "offered_nominal": nominal,  # /stats unanswered: R x window
        "ticks_delivered_pct": round(100 * counts["tick"] / offered, 1) if offered else None,
        "server_cpu_s": round(cpu, 3),
        "server_cpu_util": round(cpu / win, 3),
        "us_per_event": round(cpu * 1e6 / delivered, 2) if delivered else None,
        "latency_ms": latency_summary(lat),
        "conn_errors": (a.clients - connected) + sum(counts[k] for k in BROKEN),
        "trouble": {k: counts[k] for k in (*BROKEN, *TROUBLE_EVENTS) if counts[k]},
        "client_cpu_util": [round(c, 3) for c in client_cpu],
        "client_bound": any(c > 0.85 for c in client_cpu),
        "server_rss_mb_end": round(rss / 2**20, 1),
        "server_log": server.log.name,
        "server_log_problems": log_problems(server.log.name),
        "pinning": pinning,
    }


def run_idle(a: argparse.Namespace, impl: str, transport: str) -> dict[str, Any]:
    server = start(impl, 0.0, SMOOTH_MS, idle=True)
    clients: list[subprocess.Popen[str]] = []
    try:
        time.sleep(1.0)
        # The first streams import and cache code (several MB on Spotlight): primers stay
        # open so that one-time growth is not counted per connection.
        primer, _ = connect(a, server, transport, PRIMER)
        clients += primer
        time.sleep(2.0)
        before = rss_bytes(server.proc.pid)
        more, connected = connect(a, server, transport, a.clients)
        clients += more
        time.sleep(max(a.warmup, 3.0))
        after = rss_bytes(server.proc.pid)
        counts = mark(more)
    finally:
        stop(server.proc, clients)
        server.log.close()
    broken = sum(r["counts"].get(k, 0) for r in counts for k in BROKEN)
    return {
        "connected": connected,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "kb_per_connection": round((after - before) / max(connected, 1) / 1024, 1),
        "conn_errors": (a.clients - connected) + broken,
        "server_log_problems": log_problems(server.log.name),
    }


# -- the whole comparison ---------------------------------------------------------------
def machine() -> dict[str, str]:
    info = {"kernel": platform.release(), "nproc": str(len(os.sched_getaffinity(0)))}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return info
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "BogoMIPS", "CPU family"):
            info[key.strip()] = value.strip()
    return info


def _guarded(what: str, fn: Any, *args: Any) -> dict[str, Any]:
    """A run that fails (a server that never got healthy, clients that gave no reply) is
    reported as failed in its row; the comparison goes on with the next one."""
    try:
        result: dict[str, Any] = fn(*args)
        return result
    except (SystemExit, OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
        print(f"  {what} FAILED: {exc}", file=sys.stderr)
        return {"error": str(exc) or type(exc).__name__}


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    client_program("c")  # build and self-test the clients before anything starts
    versions = install({impl for impl, _ in a.targets})
    workloads = [(r, SMOOTH_MS) for r in a.rates] + [(r, BURSTY_MS) for r in a.bursty_rates]
    runs = len(workloads) * len(a.targets) * a.rounds + (0 if a.no_idle else len(a.targets))
    each = a.window + a.warmup + 6
    print(
        f"{runs} runs, about {runs * each / 60:.0f} min; {a.clients} clients, "
        f"window {a.window:g} s{', pinned' if a.pin else ''}",
        file=sys.stderr,
    )
    idle: dict[str, dict[str, Any]] = {}
    if not a.no_idle:
        for impl, tr in a.targets:
            print(f"idle RSS: {impl} {tr}", file=sys.stderr)
            idle[f"{impl}:{tr}"] = r = _guarded(f"{impl} {tr} idle", run_idle, a, impl, tr)
            if "error" not in r:
                print(f"  {r['kb_per_connection']} KB/connection", file=sys.stderr)
    rows = []
    for rate, burst_ms in workloads:
        for rnd, (impl, tr) in ((r, t) for r in range(1, a.rounds + 1) for t in a.targets):
            label = f"R={rate:g}" + (f", {burst_ms} ms bursts" if burst_ms > 1 else "")
            of = f" (round {rnd} of {a.rounds})" if a.rounds > 1 else ""
            print(f"{label}: {impl} {tr}{of}", file=sys.stderr)
            row = {"impl": impl, "transport": tr, "rate": rate, "burst_ms": burst_ms, "round": rnd}
            row.update(_guarded(f"{impl} {tr}", run_load, a, impl, tr, rate, burst_ms))
            rows.append(row)
            if "error" not in row:
                lt = row["latency_ms"]
                print(
                    f"  {row['connected']}/{a.clients} connected, {row['delivered_per_s']:,} "
                    f"events/s, ticks {row['ticks_delivered_pct']}% of offered, CPU "
                    f"{row['server_cpu_util']:.0%} ({row['us_per_event']} us/event), "
                    f"p50/p99 {lt['p50_ms']}/{lt['p99_ms']} ms, errors {row['conn_errors']}",
                    file=sys.stderr,
                )
    result = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "options": {k: v for k, v in vars(a).items() if k != "targets"},
        "machine": machine(),
        "versions": versions,
        "rows": rows,
        "idle": idle,
    }
    out = Path(a.out) if a.out else ROOT / "bench" / "results" / f"compare-{int(time.time())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\nall figures: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
