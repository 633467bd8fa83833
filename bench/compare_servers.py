"""The three implementations bench/compare.py measures, and how to install, start and count
each one.

- ``node``: bench/peers/node/server.js (express for SSE, ws for WebSocket), its packages
  pinned by bench/peers/node/package-lock.json and installed with ``npm ci`` into
  bench/peers/node/node_modules.
- ``uvicorn``: bench/peers/uvicorn_peer.py (Starlette on uvicorn with uvloop and httptools,
  sse-starlette, uvicorn's websockets protocol), pinned by
  bench/peers/requirements-uvicorn.txt and installed into the venv bench/peers/.venv-uvicorn.
- ``spotlight``: ``python -m spotlight serve`` with everything on (history, backpressure,
  metrics, analytics, recording), the simulator at R/2 trades and R/2 quotes per second on
  SPY (``SPOTLIGHT_TRADES_PER_SECOND``; the simulator's quotes_per_trade is 1).

The install folders are the runner's own and git-ignored; each install is redone only when
its lock file changed. Every server listens on a free 127.0.0.1 port and logs to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from probes import get
from processes import free_port, start_server, wait_healthy

__all__ = ["IMPLEMENTATIONS", "Server", "install", "offered_ticks", "start"]

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
NODE_DIR = PEERS / "node"
VENV = PEERS / ".venv-uvicorn"
REQUIREMENTS = PEERS / "requirements-uvicorn.txt"

IMPLEMENTATIONS = ("node", "uvicorn", "spotlight")


@dataclass
class Server:
    impl: str
    proc: subprocess.Popen[bytes]
    url: str
    log: IO[bytes]


def _stamp_ok(stamp: Path, lock: Path) -> bool:
    return stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime


def install(impls: set[str]) -> dict[str, str]:
    """Install the peers' pinned packages (when missing or stale); their versions, by name."""
    versions = {"python": sys.version.split()[0]}
    if "node" in impls:
        node = shutil.which("node")
        if node is None or shutil.which("npm") is None:
            raise SystemExit("the node peer needs Node.js 20+ and npm (apt-get install nodejs npm)")
        stamp = NODE_DIR / "node_modules" / ".bench-installed"
        if not _stamp_ok(stamp, NODE_DIR / "package-lock.json"):
            print("installing the node peer's packages (npm ci)...", file=sys.stderr)
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR,
                check=True,
            )
            stamp.touch()
        versions["node"] = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
        for pkg in ("express", "ws"):
            versions[pkg] = _npm_version(pkg)
    if "uvicorn" in impls:
        stamp = VENV / ".bench-installed"
        if not _stamp_ok(stamp, REQUIREMENTS):
            print("installing the uvicorn peer's venv (pip)...", file=sys.stderr)
            if not (VENV / "bin" / "python").exists():
                subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            pip = [str(VENV / "bin" / "python"), "-m", "pip"]
            subprocess.run([*pip, "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
            subprocess.run([*pip, "check"], check=True)
            stamp.touch()
        for line in REQUIREMENTS.read_text().splitlines():
            name, sep, version = line.partition("==")
            if sep and name.strip() in ("uvicorn", "sse-starlette", "starlette", "websockets"):
                versions[name.strip()] = version.strip()
    return versions


def _npm_version(pkg: str) -> str:
    meta = json.loads((NODE_DIR / "node_modules" / pkg / "package.json").read_text())
    return str(meta["version"])


def start(impl: str, rate: float, burst_ms: int, idle: bool) -> Server:
    """One server of ``impl`` publishing ``rate`` events/s per client-visible stream in
    ``burst_ms`` bursts (``idle``: nearly silent, for the RSS measurement)."""
    log = tempfile.NamedTemporaryFile(prefix=f"compare-{impl}-", suffix=".log", delete=False)  # noqa: SIM115
    if impl == "spotlight":
        proc, url = start_server(_spotlight_args(rate, burst_ms, idle), log)
        return Server(impl, proc, url, log)
    port = free_port()
    peer_rate = "0" if idle else str(rate)
    if impl == "node":
        cmd = ["node", str(NODE_DIR / "server.js")]
    elif impl == "uvicorn":
        cmd = [str(VENV / "bin" / "python"), str(PEERS / "uvicorn_peer.py")]
    else:
        raise ValueError(f"unknown implementation {impl!r}")
    cmd += ["--port", str(port), "--rate", peer_rate, "--burst-ms", str(burst_ms)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTLIGHT_", "NODE_"))}
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(proc, url + "/health", log.name)
    return Server(impl, proc, url, log)


def _spotlight_args(rate: float, burst_ms: int, idle: bool) -> argparse.Namespace:
    """What bench/processes.py's start_server reads: R/2 trades/s on every symbol (SPY's
    quotes come at the same rate), default heartbeat, queues and everything else."""
    return argparse.Namespace(
        idle_rss=idle,
        trades_per_second=rate / 2,
        burst_ms=burst_ms,
        extra_symbols="",
        heartbeat=None,
        queue_bytes=None,
        env=[],
        gc_threshold=None,
        gc_probe=False,
    )


def offered_ticks(server: Server) -> int:
    """Ticks the server has published so far on the one stream the clients follow.

    The peers count their events (all ticks) at ``/stats``. Spotlight's simulator also runs
    QQQ and I:SPX and its metrics count events by type only, so SPY's ticks are read from
    its own 1-minute bars (``n``: ticks folded in), summed over the buffer (SPOTLIGHT_SIM_
    HISTORY_DAYS=0: every bar there was built from this run's ticks)."""
    # A saturated server answers late, not never: wait as long as for the clients' replies.
    if server.impl != "spotlight":
        return int(json.loads(get(server.url + "/stats", timeout=30.0)[1])["published"])
    status, body = get(server.url + "/api/history?symbol=SPY&timeframe=1m&limit=5000", timeout=30.0)
    if status != 200:
        raise SystemExit(f"spotlight /api/history answered {status}: {body[:200]!r}")
    return sum(int(bar["n"]) for bar in json.loads(body)["bars"])
