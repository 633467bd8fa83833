"""``serve --workers N``: the supervisor's children live as long as the supervisor does.

Linux sends the parent-death signal when the *thread* that forked a child exits, not the
process. Trio's ``open_process`` forks in one of its worker threads, which Trio retires after
``IDLE_TIMEOUT`` (10 s) idle: every worker was SIGTERMed 10 s after its start and restarted,
over and over (bench/scaleout.py measured 2 workers at a quarter of one). The test shortens
Trio's idle timeout, shows the signal really arrives for a child forked in a worker thread, and
that a worker started by ``spawn_child`` stays up through the same retirement.
"""

from __future__ import annotations

import os
import signal
import sys

import pytest
import trio
import trio._core._thread_cache as thread_cache

from spotlight.workers import _die_with_parent, spawn_child

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")


async def test_a_worker_outlives_the_retirement_of_trios_worker_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(thread_cache, "IDLE_TIMEOUT", 0.05)
    ours = spawn_child(SLEEPER, os.environ)
    forked_in_a_thread = await trio.lowlevel.open_process(SLEEPER, preexec_fn=_die_with_parent)
    try:
        # The thread that forked it retires after 50 ms idle, and the kernel signals the child.
        with trio.fail_after(10):
            code = await forked_in_a_thread.wait()
        assert code == -signal.SIGTERM
        # The worker forked on the event loop's thread is still running.
        assert ours.poll() is None
    finally:
        for p in (ours, forked_in_a_thread):
            if p.poll() is None:
                p.kill()
        ours.wait()
        await forked_in_a_thread.wait()
