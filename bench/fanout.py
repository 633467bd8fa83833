"""Fan-out benchmark: one Spotlight server process, N SSE or WebSocket clients in separate
processes.

    .venv/bin/python bench/fanout.py --clients 1000 --trades-per-second 50 --duration 20
    .venv/bin/python bench/fanout.py --transport ws --clients 1000 --trades-per-second 50
    .venv/bin/python bench/fanout.py --idle-rss --clients 1000

Load mode: start the server (own process, own env, 127.0.0.1, a free port), wait for /health,
connect the clients in waves from ``--client-procs`` processes (bench/sse_clients.c; with
``--transport ws`` they open /ws/prices and send one subscribe message instead), warm up,
then measure one window: delivered events/s and ticks/s counted by the clients, tick
publish-to-receive latency (the simulator stamps each tick with its burst's publish time in
integer ms, so resolution is ~1 ms), server and client CPU from /proc/<pid>/stat, and the
server's own /api/metrics over the same window.

Idle-RSS mode: a nearly silent server (0.01 trades/s, 1 h heartbeat); VmRSS with 0 clients
after warm-up, then with N idle clients: (after - before) / N.

Diagnostics: ``--py-spy FILE`` records the server during the window (summarize the file with
bench/profile_summary.py); ``--gc-probe`` / ``--gc-threshold A,B,C`` run the server through
bench/gc_probe.py and report the cyclic GC's time in the window. docs/benchmarks.md has results.

Numbers on a shared 2-core box are noisy: compare ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from probes import (
    cpu_seconds,
    gc_window,
    get,
    get_json,
    hist_quantiles,
    latency_summary,
    metric_sum,
    parse_metrics,
    rss_bytes,
)
from processes import mark, pin, read_reply, start_clients, start_server, stop
from report import log_problems, summary

# Delivered-event counters summed from the clients' cumulative counts.
TYPES = [
    "tick",
    "quote",
    "bar:update",
    "bar:close",
    "heartbeat",
    "snapshot",
    "reset",
    "slow",
    "shutdown",
    "error",
    "other",
]
PRIMER = 10  # idle-RSS mode: streams opened before the baseline reading
TROUBLE = (
    "disconnects",
    "connect_failed",
    "bad_status",
    "bad_handshake",
    "bad_frame",
    "send_failed",
    "slow",
    "shutdown",
    "reset",
    "error",
)

PY_SPY = Path(sys.executable).parent / "py-spy"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="connections (default 1000)")
    p.add_argument(
        "--transport",
        choices=("sse", "ws"),
        default="sse",
        help="sse: GET /realtime/sse (default); ws: /ws/prices, one subscribe message each\n"
        "(needs the C clients)",
    )
    p.add_argument(
        "--trades-per-second",
        type=float,
        default=50.0,
        help="SPOTLIGHT_TRADES_PER_SECOND: average trades/s per symbol",
    )
    p.add_argument("--duration", type=float, default=20.0, help="measured window, s")
    p.add_argument("--warmup", type=float, default=3.0, help="s after the last connect")
    p.add_argument("--client-procs", type=int, default=1, help="client processes (default 1)")
    p.add_argument(
        "--client-impl",
        choices=("c", "python"),
        default="c",
        help="client processes: bench/sse_clients.c (default; a few us per read) or\n"
        "bench/sse_clients.py (~17 us per read: competes with the server for the CPU)",
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="pin the server (and its analytics worker) to CPU 0 and the clients to the rest",
    )
    p.add_argument("--symbols", default="SPY", help="symbols each stream subscribes to")
    p.add_argument("--timeframe", default="1m")
    p.add_argument("--extra-symbols", default="", help="SPOTLIGHT_SYMBOLS for the server")
    p.add_argument("--burst-ms", type=int, default=100, help="SPOTLIGHT_SIM_BURST_MS")
    p.add_argument("--heartbeat", type=float, default=None, help="SPOTLIGHT_HEARTBEAT_S")
    p.add_argument("--queue-bytes", type=int, default=None, help="SPOTLIGHT_CLIENT_QUEUE_BYTES")
    p.add_argument("--wave", type=int, default=200, help="connections per wave (default 200)")
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="extra server environment variable (repeatable)",
    )
    p.add_argument(
        "--stalled",
        type=int,
        default=0,
        help="also open this many streams (all symbols) that never read, right before the "
        "window: measures what slow clients cost the others",
    )
    p.add_argument("--idle-rss", action="store_true", help="measure RSS per idle connection")
    p.add_argument(
        "--py-spy",
        metavar="FILE",
        default=None,
        help="record the server with py-spy (raw format) during the window;\n"
        "sampling perturbs the CPU numbers of that run",
    )
    p.add_argument("--py-spy-rate", type=int, default=200, help="samples/s (default 200)")
    p.add_argument(
        "--py-spy-nonblocking",
        action="store_true",
        help="don't pause the server per sample (less overhead, truncated stacks)",
    )
    p.add_argument("--py-spy-native", action="store_true", help="include C frames (py-spy -n)")
    p.add_argument(
        "--gc-probe",
        action="store_true",
        help="run the server through bench/gc_probe.py and report GC time",
    )
    p.add_argument(
        "--gc-threshold",
        default=None,
        metavar="A,B,C",
        help="replace the server's built-in GC thresholds (implies --gc-probe)",
    )
    p.add_argument("--name", default=None, help="label stored in the result")
    p.add_argument("--out", default=None, help="also write the JSON result to this file")
    return p.parse_args(argv)


# -- modes --------------------------------------------------------------------------------
def connect(a: argparse.Namespace, url: str) -> tuple[list[subprocess.Popen[str]], int, float]:
    t0 = time.monotonic()
    clients = start_clients(a, url)
    replies = [read_reply(p, 30 + 12 * (a.clients / a.wave + 1)) for p in clients]
    connected = sum(int(r["connected"]) for r in replies)
    return clients, connected, time.monotonic() - t0


def run_load(a: argparse.Namespace, server: subprocess.Popen[bytes], url: str) -> dict[str, Any]:
    clients, connected, connect_s = connect(a, url)
    pinning = pin(server, clients) if a.pin else {"pinned": False}
    time.sleep(a.warmup)
    stalled = open_stalled(url, a.stalled, a.extra_symbols)
    spy: subprocess.Popen[bytes] | None = None
    m0 = parse_metrics(get(url + "/api/metrics")[1].decode())
    c0 = mark(clients)
    if a.gc_probe:
        server.send_signal(signal.SIGUSR2)
    t0, s0 = time.monotonic(), cpu_seconds(server.pid)
    k0 = [sum(cpu_seconds(p.pid)) for p in clients]
    if a.py_spy:
        args = f"record --pid {server.pid} --format raw --rate {a.py_spy_rate} -o {a.py_spy}"
        flags = ["--nonblocking"] * a.py_spy_nonblocking + ["--native"] * a.py_spy_native
        cmd = [str(PY_SPY), *args.split(), *flags]
        spy = subprocess.Popen(
            [*cmd, "--duration", str(int(a.duration))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    time.sleep(a.duration)
    c1 = mark(clients)
    if a.gc_probe:
        server.send_signal(signal.SIGUSR2)
    t1, s1 = time.monotonic(), cpu_seconds(server.pid)
    k1 = [sum(cpu_seconds(p.pid)) for p in clients]
    m1 = parse_metrics(get(url + "/api/metrics")[1].decode())
    diag = get_json(url + "/api/diag")
    if spy is not None:
        spy.wait(60)
    for s in stalled:
        s.close()
    stop(server, clients)

    win = t1 - t0
    counts: Counter[str] = Counter()
    for before, after in zip(c0, c1, strict=True):
        for k, v in after["counts"].items():
            counts[k] += v - before["counts"].get(k, 0)
    lat: Counter[int] = Counter()
    for r in c1:
        lat.update({int(k): v for k, v in r["latency"].items()})
    delivered = counts["events"] - counts["snapshot"]
    server_user, server_sys = s1[0] - s0[0], s1[1] - s0[1]
    server_cpu = server_user + server_sys
    client_cpu = [b - a_ for a_, b in zip(k0, k1, strict=True)]

    def m_delta(name: str, **labels: str) -> float:
        return metric_sum(m1, name, **labels) - metric_sum(m0, name, **labels)

    published = {
        t: round(m_delta("spotlight_events_published_total", type=t) / win, 1)
        for t in ("tick", "quote", "bar:update", "bar:close")
    }
    tr = a.transport  # the server's write metrics by transport (none for ws before issue 13)
    batch_n = m_delta("spotlight_client_write_batch_events_count", transport=tr)
    p2w = hist_quantiles(
        m0, m1, "spotlight_publish_to_write_seconds", (0.5, 0.9, 0.99), transport=tr
    )
    return {
        "clients": a.clients,
        "connected": connected,
        "connect_s": round(connect_s, 2),
        "window_s": round(win, 3),
        "delivered_events_per_s": round(delivered / win),
        "ticks_per_s": round(counts["tick"] / win),
        "events_per_s_by_type": {t: round(counts[t] / win) for t in TYPES if counts[t]},
        "events_per_client_per_s": round(delivered / win / max(connected, 1), 2),
        "received_mbit_per_s": round(counts["bytes"] * 8 / win / 1e6, 1),
        "client_recvs_per_s": round(counts["recvs"] / win),
        "latency_ms": latency_summary(lat),
        "latency_note": "tick publish-to-receive; t is integer ms, so resolution is ~1 ms",
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_util": round(server_cpu / win, 3),
        "server_cpu_user_sys_s": [round(server_user, 2), round(server_sys, 2)],
        "server_us_per_event": round(server_cpu * 1e6 / delivered, 2) if delivered else None,
        "server_cpu_s_per_1000_events": round(server_cpu * 1e3 / delivered, 5)
        if delivered
        else None,
        "client_cpu_util": [round(c / win, 3) for c in client_cpu],
        "client_bound": any(c / win > 0.85 for c in client_cpu),
        "server_metrics": {
            "published_per_s": published,
            "delivered_per_s": round(
                m_delta("spotlight_events_delivered_total", transport=tr) / win
            ),
            "writes_per_s": round(batch_n / win),
            "mean_batch_events": round(
                m_delta("spotlight_client_write_batch_events_sum", transport=tr) / batch_n, 2
            )
            if batch_n
            else None,
            "publish_to_write_s": p2w,
        },
        "server_rss_mb": round(int(diag["memory"]["rssBytes"]) / 2**20, 1),
        "server_clients_at_end": diag["clients"]["count"],
        # Clients sharing one chunk per burst at the end of the window (docs/architecture.md).
        "shared_chunks_at_end": next(
            (
                n["stats"].get("sharedChunks")
                for n in diag["actors"]["children"]
                if n["name"] == "clients"
            ),
            None,
        ),
        "stalled": {
            "opened": len(stalled),
            "cut_off_as_slow_in_window": round(
                m_delta("spotlight_client_disconnects_total", reason="slow-bytes")
                + m_delta("spotlight_client_disconnects_total", reason="slow-age")
            ),
            "events_dropped_for_slow": round(
                m_delta("spotlight_sse_dropped_total", reason="slow-bytes")
                + m_delta("spotlight_sse_dropped_total", reason="slow-age")
            ),
        },
        "trouble": {k: counts[k] for k in TROUBLE},
        "client_impl": a.client_impl,
        "pinning": pinning,
    }


def open_stalled(url: str, n: int, extra_symbols: str) -> list[socket.socket]:
    """Streams that never read: a 4 KB receive buffer, every symbol, then silence."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    symbols = ",".join(["SPY", "QQQ", "I:SPX", *[s for s in extra_symbols.split(",") if s]])
    request = f"GET /realtime/sse?symbols={symbols} HTTP/1.1\r\nHost: b\r\n\r\n".encode()
    out = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((host, int(port)))
        s.sendall(request)
        out.append(s)
    return out


def run_idle(a: argparse.Namespace, server: subprocess.Popen[bytes], url: str) -> dict[str, Any]:
    # Prime first: the first SSE request imports and caches code (several MB); a few streams
    # that stay open keep that out of the per-connection figure.
    time.sleep(a.warmup)
    cold = rss_bytes(server.pid)
    primer = start_clients(
        argparse.Namespace(**{**vars(a), "clients": PRIMER, "client_procs": 1}), url
    )
    read_reply(primer[0], 60)
    time.sleep(a.warmup)
    before = rss_bytes(server.pid)
    clients, connected, connect_s = connect(a, url)
    time.sleep(max(a.warmup, 2.0))
    after = rss_bytes(server.pid)
    time.sleep(1.0)
    after2 = rss_bytes(server.pid)
    diag = get_json(url + "/api/diag")
    counts = mark(clients)
    stop(server, clients + primer)
    n = max(connected, 1)
    trouble: Counter[str] = Counter()
    for r in counts:
        trouble.update({k: r["counts"].get(k, 0) for k in TROUBLE})
    return {
        "clients": a.clients,
        "connected": connected,
        "connect_s": round(connect_s, 2),
        "rss_cold_mb": round(cold / 2**20, 1),
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after2 / 2**20, 1),
        "rss_after_1s_earlier_mb": round(after / 2**20, 1),
        "rss_kb_per_idle_connection": round((after2 - before) / n / 1024, 1),
        "unprimed_kb_per_connection": round((after2 - cold) / n / 1024, 1),
        "server_clients": diag["clients"]["count"],
        "trouble": dict(trouble),
    }


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    if a.transport == "ws" and a.client_impl == "python":
        sys.exit("--transport ws needs the C clients (bench/sse_clients.c): drop --client-impl")
    a.gc_probe = a.gc_probe or bool(a.gc_threshold)
    if a.py_spy and not PY_SPY.exists():
        sys.exit(f"--py-spy needs {PY_SPY}: install it with `.venv/bin/pip install -e '.[bench]'`")
    log = tempfile.NamedTemporaryFile(prefix="spotlight-bench-", suffix=".log", delete=False)  # noqa: SIM115
    server, url = start_server(a, log)
    try:
        result = run_idle(a, server, url) if a.idle_rss else run_load(a, server, url)
    finally:
        if server.poll() is None:
            server.kill()
        log.close()
    result.update(
        name=a.name,
        mode="idle-rss" if a.idle_rss else "load",
        transport=a.transport,
        trades_per_second=0.01 if a.idle_rss else a.trades_per_second,
        symbols=a.symbols,
        extra_symbols=a.extra_symbols,
        burst_ms=a.burst_ms,
        client_procs=a.client_procs,
        server_log=log.name,
        server_log_problems=log_problems(log.name),
        gc_threshold=a.gc_threshold,
        server_gc=gc_window(log.name, result["window_s"]) if "window_s" in result else None,
        at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    print(json.dumps(result, indent=2))
    print(summary(result), file=sys.stderr)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
