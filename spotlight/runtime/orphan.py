"""A child process that must not outlive its parent: the analytics worker (issue 15).

``kill -9`` of the server runs none of its cleanup (``stop_pool`` never happens), and a
worker process left behind keeps a core busy and the server's stderr pipe open. The worker
calls ``die_with_parent`` in its pool initializer:

- Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so the kernel kills it the moment its parent
  exits. (The "parent" is the thread that spawned it: ProcessPoolExecutor spawns in the
  thread that calls ``submit``, here always the event loop's, which lives as long as the
  server.)
- everywhere, as well: a daemon thread that checks ``os.getppid()`` every ``POLL_S`` and
  exits when the process has been reparented (the parent is gone), for systems without
  prctl and for a parent that died before the call.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["POLL_S", "die_with_parent", "parent_death_signal"]

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# How often the fallback checks its parent: a cheap syscall, and half a second is soon
# enough for a process that only computes between the server's requests.
POLL_S = 0.5


def parent_death_signal(signum: int) -> None:
    """Linux: ask the kernel for ``signum`` when the thread that forked this process exits.

    Also the ``serve --workers`` children's ``preexec_fn`` (spotlight/workers.py), so it
    takes the symbols of the libc already loaded and runs nothing else. Elsewhere, or without
    prctl, it does nothing."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)


def die_with_parent(parent_pid: int) -> None:
    """Make this process exit when ``parent_pid`` (the process that started it) does."""
    parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:  # it died before we asked
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="die-with-parent", daemon=True).start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(1)  # no cleanup to run: the worker's state is in memory only
