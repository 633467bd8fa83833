"""The server as a real process (issue 15, item 6): ``kill -9`` takes its analytics worker
with it, and the Procfile's command works when the platform sets no PORT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from server_process import ROOT, spotlight_server

START_S = 60.0  # server start, then its first GEX step spawns the worker
GONE_S = 10.0  # the worker notices its parent's death (PR_SET_PDEATHSIG: at once)

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs /proc (Linux) to find child processes"
)


def _ppid_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after it.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0]


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        info = _ppid_and_state(int(entry.name)) if entry.name.isdigit() else None
        if info is not None and info[0] == pid and info[1] != "Z":
            out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    info = _ppid_and_state(pid)
    return info is not None and info[1] != "Z"  # a zombie has exited (reaped or not)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout_s:g} s")
        time.sleep(0.05)


def test_kill_9_of_the_server_takes_its_analytics_worker_with_it(tmp_path: Path) -> None:
    env = {"SPOTLIGHT_RECORD": "off", "SPOTLIGHT_SIM_HISTORY_DAYS": "0", "SPOTLIGHT_GEX_S": "1"}
    with spotlight_server(tmp_path, env=env) as server:
        proc = server.proc
        workers: set[int] = set()

        def worker_started() -> bool:
            workers.update(c for c in _children(proc.pid) if "multiprocessing" in _cmdline(c))
            assert proc.poll() is None, f"the server exited:\n{server.tail()}"
            return bool(workers)

        _until(worker_started, START_S, "the analytics worker process did not start")
        os.kill(proc.pid, signal.SIGKILL)  # no cleanup code of the server runs
        proc.wait(10)
        _until(
            lambda: not any(_alive(w) for w in workers),
            GONE_S,
            f"the analytics worker {sorted(workers)} outlived its killed server",
        )


def test_the_procfile_command_works_without_port() -> None:
    """Platforms set PORT; without it (a local Procfile runner, a misconfigured platform) the
    command must still run, on the documented default 5000. The test holds 127.0.0.1:5000 so
    the server cannot actually listen on all interfaces: its "cannot listen on 0.0.0.0:5000"
    shows the port it resolved (today's ``--port $PORT`` died in argparse instead)."""
    (line,) = [x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web:")]
    command = line.split(":", 1)[1].strip()
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "MASSIVE_API_KEY")}
    env |= {"SPOTLIGHT_AUTH": "off", "SPOTLIGHT_RECORD": "off", "SPOTLIGHT_SIM_HISTORY_DAYS": "0"}
    env["PATH"] = (
        f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # .venv's python
    )
    holder = _hold_port_5000()
    try:
        out = subprocess.run(
            ["sh", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        if holder is not None:
            holder.close()
    assert "usage:" not in out.stderr, out.stderr
    assert out.returncode == 1, (out.returncode, out.stderr)
    assert "cannot listen on 0.0.0.0:5000" in out.stderr, out.stderr


def _hold_port_5000() -> socket.socket | None:
    """Listen on 127.0.0.1:5000 (None: something else already does, which blocks it too)."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 5000))
    except OSError:
        sock.close()
        return None
    sock.listen(1)
    return sock
