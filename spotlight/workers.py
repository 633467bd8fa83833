"""``python -m spotlight serve --workers N``: N server processes sharing one port.

One Python process uses one core. With ``--workers N`` this parent starts N ordinary
``serve`` processes with ``SPOTLIGHT_REUSE_PORT=1``: each binds the same host and port
(SO_REUSEPORT) and the kernel spreads new connections across them. They are nodes of one
deployment over the Redis backend (``SPOTLIGHT_REDIS_URL`` is required): one sequence, one
history, one market leader, and a client that reconnects to another worker resumes exactly.

What the parent does for them:
- one login PIN for all (a generated one is printed once), and the signing secret created
  before they start, so a session or stream token from one worker is valid on every other;
- recording and replays are off in workers: a replay lives in the process that runs it, and
  SO_REUSEPORT cannot send a client's next connection back to that process (docs/scaling.md);
- a worker that exits is restarted after a short backoff; more than ``MAX_RESTARTS`` within
  ``RESTART_WINDOW_S`` stops everything (a crash loop is a configuration problem to report);
- SIGINT/SIGTERM are passed on, and each worker shuts down gracefully (``shutdown`` event to
  its streams); one that is still running after the grace period plus a margin is killed;
  if the parent itself is killed, the workers get SIGTERM (Linux's parent-death signal).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import trio

from spotlight.auth.access import Access
from spotlight.auth.keys import load_or_create_secret
from spotlight.config import Settings
from spotlight.runtime.orphan import parent_death_signal

__all__ = ["MAX_WORKERS", "WorkerError", "run_workers", "spawn_child", "worker_env"]

log = logging.getLogger("spotlight.workers")

MAX_WORKERS = 64
# Restart budget: a worker that dies this often within the window is not going to recover.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0
RESTART_DELAY_S = 0.5
# Beyond a worker's own shutdown grace: time for it to exit before it is killed.
STOP_MARGIN_S = 5.0


class WorkerError(Exception):
    """``--workers`` cannot run with these settings (the message says why and what to do)."""


def worker_env(settings: Settings, env: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """The environment every worker gets, and the PIN generated for them (None if none)."""
    if not settings.redis.url:
        raise WorkerError(
            "--workers needs SPOTLIGHT_REDIS_URL: the workers share one sequence and history "
            "through Redis (docs/scaling.md)"
        )
    if settings.server.port == 0:
        raise WorkerError("--workers needs a fixed port (PORT or --port), not 0")
    out = dict(env)
    out["HOST"] = settings.server.host
    out["PORT"] = str(settings.server.port)
    out["SPOTLIGHT_REUSE_PORT"] = "1"
    out["SPOTLIGHT_RECORD"] = "off"
    out["SPOTLIGHT_REPLAY_MAX"] = "0"
    generated = None
    if settings.auth.mode == "pin":
        access = Access(settings)  # creates the secret file once, before any worker reads it
        generated = access.generated_pin
        if generated is not None:
            out["SPOTLIGHT_PIN"] = generated
    elif not settings.auth.secret_key:
        load_or_create_secret(Path(settings.server.data_dir) / "secret_key")
    return out, generated


async def run_workers(count: int, env: Mapping[str, str]) -> int:
    """Run ``count`` workers until a signal (0) or a crash loop (1)."""
    stopping = trio.Event()
    all_stopped = trio.Event()
    failed = False
    restarts: deque[float] = deque()
    procs: dict[int, subprocess.Popen[bytes]] = {}

    async def one(index: int) -> None:
        nonlocal failed
        while not stopping.is_set():
            proc = spawn_child(
                [sys.executable, "-m", "spotlight", "serve"],
                {**env, "SPOTLIGHT_WORKER": str(index)},
            )
            procs[index] = proc
            log.info("worker %d: pid %d", index, proc.pid)
            code = await trio.to_thread.run_sync(proc.wait, abandon_on_cancel=True)
            del procs[index]
            if stopping.is_set():
                if not procs:
                    all_stopped.set()
                return
            now = trio.current_time()
            restarts.append(now)
            while restarts and restarts[0] < now - RESTART_WINDOW_S:
                restarts.popleft()
            if len(restarts) > MAX_RESTARTS:
                log.error(
                    "worker %d exited with %s; %d restarts within %.0fs: stopping",
                    index,
                    code,
                    len(restarts),
                    RESTART_WINDOW_S,
                )
                failed = True
                stopping.set()
                return
            log.warning("worker %d exited with %s: restarting", index, code)
            await trio.sleep(RESTART_DELAY_S)

    grace = float(env.get("SPOTLIGHT_SHUTDOWN_GRACE_S") or 5.0) + STOP_MARGIN_S
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            for i in range(count):
                nursery.start_soon(one, i)

            async def on_signal() -> None:
                async for signum in signals:
                    log.info("%s: stopping %d workers", signal.Signals(signum).name, len(procs))
                    stopping.set()
                    return

            nursery.start_soon(on_signal)
            await stopping.wait()
            for proc in list(procs.values()):
                proc.send_signal(signal.SIGTERM)
            with trio.move_on_after(grace):
                if procs:
                    await all_stopped.wait()
            for proc in list(procs.values()):
                log.warning("worker pid %d did not stop in %.0fs: killing it", proc.pid, grace)
                proc.kill()
            nursery.cancel_scope.cancel()
    return 1 if failed else 0


def spawn_child(argv: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start a worker from the calling thread, the event loop's, with the parent-death signal.

    Not through ``trio.lowlevel.open_process``, which forks in one of Trio's worker threads:
    Linux sends the parent-death signal when the *thread* that forked the child exits, and
    Trio retires a worker thread after 10 s idle, so every worker got SIGTERM 10 s after it
    started and was restarted (bench/scaleout.py found it: 2 workers delivered a quarter of
    one worker's events). Forking takes a few milliseconds; the supervisor does nothing else.
    """
    return subprocess.Popen(
        argv,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the parent dies, even by SIGKILL, so workers
    never outlive their supervisor and keep the port."""
    parent_death_signal(signal.SIGTERM)


def announce(settings: Settings, count: int, pin: str | None) -> None:
    base = settings.auth.public_url or f"http://{settings.server.host}:{settings.server.port}"
    log.info("Spotlight: %d workers on %s (pid %d)", count, base, os.getpid())
    if pin is not None:
        print(
            f"\n    Spotlight PIN: {pin}   (generated for this run; SPOTLIGHT_PIN sets your own)"
            f"\n    One-click login: {base}/#pin={pin}\n",
            file=sys.stderr,
            flush=True,
        )
