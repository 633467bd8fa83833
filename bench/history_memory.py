"""What one event in the resume history really costs in RSS (issue 21, part 3).

Two servers run side by side for the same time on the same simulated market (same seed,
same rates, so the same events): one keeps its whole history (``SPOTLIGHT_HISTORY_SECONDS``
above the run's length), the other keeps almost none (``SPOTLIGHT_HISTORY_SECONDS=1``). The
difference in their resident memory, divided by the difference in events retained, is what a
retained event costs the process: the event, its encoded frames, allocator overhead and
fragmentation included, not a sum of payload sizes. /api/diag's own estimate is printed
beside it.

    .venv/bin/python bench/history_memory.py --seconds 300 [--tps 2] [--history-mb 0]

Record the result with the command and the machine in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, history_s: float, tps: float, history_mb: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SPOTLIGHT_AUTH": "off",
        "SPOTLIGHT_RECORD": "0",
        "SPOTLIGHT_SIM_HOURS": "always",
        "SPOTLIGHT_SIM_HISTORY_DAYS": "1",
        "SPOTLIGHT_TRADES_PER_SECOND": str(tps),
        "SPOTLIGHT_HISTORY_SECONDS": str(history_s),
        "SPOTLIGHT_HISTORY_EVENTS": "1000000",
        "SPOTLIGHT_DATA_DIR": tempfile.mkdtemp(prefix="spotlight-histmem-"),
        "SPOTLIGHT_LOG_LEVEL": "WARNING",
    }
    if history_mb:
        env["SPOTLIGHT_HISTORY_MB"] = str(history_mb)
    env.pop("MASSIVE_API_KEY", None)
    return subprocess.Popen(
        [sys.executable, "-m", "spotlight", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _diag(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/diag", timeout=10) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _wait_up(port: int, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            _diag(port)
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server on {port} did not come up")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=300)
    p.add_argument("--tps", type=float, default=2.0, help="simulated trades per second")
    p.add_argument("--history-mb", type=int, default=0, help="SPOTLIGHT_HISTORY_MB (0: unset)")
    args = p.parse_args()
    ports = _free_port(), _free_port()
    procs = [
        _start(ports[0], args.seconds * 10, args.tps, args.history_mb),
        _start(ports[1], 1.0, args.tps, 0),
    ]
    try:
        for port in ports:
            _wait_up(port)
        time.sleep(args.seconds)
        full, small = (_diag(port) for port in ports)
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    rows = []
    for name, d in (("full", full), ("small", small)):
        hist = d["hub"]["history"]  # type: ignore[index]
        rss = d["memory"]["rssBytes"]  # type: ignore[index]
        rows.append((name, hist["events"], hist.get("memoryBytes", hist.get("bytes")), rss))
    (_, ev_full, diag_full, rss_full), (_, ev_small, _, rss_small) = rows
    per_event = (rss_full - rss_small) / max(1, ev_full - ev_small)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"run: {args.seconds:.0f} s at {args.tps} trades/s, history MB cap {args.history_mb}")
    for name, ev, diag_bytes, rss in rows:
        print(f"{name:>5}: {ev:>7} events, diag {diag_bytes} B, RSS {rss / 2**20:.1f} MB")
    print(f"RSS per retained event: {per_event:.0f} B")
    print(f"diag's figure per event: {diag_full / max(1, ev_full):.0f} B")


if __name__ == "__main__":
    main()
