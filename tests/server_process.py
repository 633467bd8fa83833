"""``python -m spotlight serve`` as a real process, for the tests that need one (the browser
tests, the process lifecycle): its own process group, so the end of a test also takes the
analytics worker, and its stderr read by a thread (the log, and the URL it serves on)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["PIN", "ROOT", "START_S", "STOP_S", "Server", "spotlight_server", "stop_gracefully"]

ROOT = Path(__file__).resolve().parents[1]
PIN = "246810"
START_S = 30.0  # server start (history generation included)
STOP_S = 15.0  # graceful stop after SIGTERM


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str = ""
    log: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def tail(self, n: int = 40) -> str:
        return "".join(self.log[-n:])


def _drain(server: Server) -> None:
    """Read the server's stderr to the end (so the pipe never fills); note the URL line."""
    assert server.proc.stderr is not None
    for line in server.proc.stderr:
        server.log.append(line)
        if not server.url and "Spotlight on http://" in line:
            server.url = line.split("Spotlight on ", 1)[1].split()[0].rstrip("/")
            server.ready.set()
    server.ready.set()  # exited: wake the waiter, which sees no URL


@contextmanager
def spotlight_server(
    data_dir: Path,
    *,
    port: int = 0,
    env: dict[str, str] | None = None,
    fd_limit: int | None = None,
) -> Iterator[Server]:
    """``python -m spotlight serve`` on 127.0.0.1 (``port`` 0: any) with auth on, plus ``env``;
    killed with its analytics worker if still up at the end. ``fd_limit``: the process's
    limit on open files (``prlimit``), as a small VM or a default ulimit would have it."""
    full = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "SPOTLIGHT_PIN": PIN,
        "SPOTLIGHT_DATA_DIR": str(data_dir),
        "SPOTLIGHT_SIM_HISTORY_DAYS": "1",
        "SPOTLIGHT_SHUTDOWN_GRACE_S": "2",
        **(env or {}),
    }
    for name in ("MASSIVE_API_KEY", "SPOTLIGHT_AUTH"):
        if name not in (env or {}):
            full.pop(name, None)  # never the developer's own key or auth setting
    command = [sys.executable, "-m", "spotlight", "serve"]
    if fd_limit is not None:
        command = ["prlimit", f"--nofile={fd_limit}:{fd_limit}", *command]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=full,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group: a kill must also reach the analytics worker process, which
        # otherwise outlives the server holding the stderr pipe open.
        start_new_session=True,
    )
    server = Server(proc)
    reader = threading.Thread(target=_drain, args=(server,), daemon=True)
    reader.start()
    try:
        server.ready.wait(START_S)
        assert server.url, f"server did not log its URL within {START_S} s:\n{server.tail()}"
        yield server
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_S)
        reader.join(STOP_S)
        assert proc.stderr is not None
        proc.stderr.close()


def stop_gracefully(server: Server) -> None:
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(STOP_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"server ignored SIGTERM for {STOP_S} s:\n{server.tail()}")
    assert code == 0, f"server exited {code} on SIGTERM:\n{server.tail()}"
