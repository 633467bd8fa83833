"""Virtual time for tests of the whole server: Trio's ``MockClock``, jumped to the next
deadline whenever every task waits, except while a worker thread is computing.

Why not ``MockClock(autojump_threshold=0)`` alone: the server hands some work to threads
(the simulator's history at start, option chains, the recorder's writes, a replay's next
chunk, speech). While a thread runs, every Trio task is blocked, so a plain autojump skips
the clock ahead, through heartbeats, stall graces, a replay's pacing and the test's own
``fail_after``, by however much the thread's real duration happens to allow: tests would
depend on the machine's speed. ``autojump`` holds the clock while any thread borrowed from
Trio's default limiter is out (every ``trio.to_thread.run_sync`` without its own limiter,
which is all of ours) and lets real time pass instead, in short waits, until the result
is back.

I/O: the server's connections are loopback TCP sockets (the raw SSE/WebSocket path needs
real sockets: it detaches the descriptor and writes with ``send``). Trio sets TCP_NODELAY on
every socket it wraps, and on loopback the kernel delivers a ``send`` to the peer's receive
queue within the call, so data written is readable at once, as over a socketpair: an idle
loop with data in flight does not happen, and the clock never jumps over it.

Usage (pytest-trio): take the ``mock_clock`` fixture (a ``MockClock`` that does not jump by
itself) and run ``autojump(mock_clock)`` in a nursery for as long as virtual time should
flow; ``tests/support.py``'s ``virtual_server`` does both.
"""

from __future__ import annotations

import logging
import math
import time
from typing import NoReturn

import trio
from trio.testing import MockClock, wait_all_tasks_blocked

__all__ = ["HOLD_S", "PATIENCE_S", "autojump"]

log = logging.getLogger(__name__)

# Real seconds of global idleness between looks while a thread is out: short enough that a
# thread's result is picked up within a couple of milliseconds, long enough that the event
# loop sleeps instead of spinning (and taking the GIL from the thread it waits for).
HOLD_S = 0.002
# A thread that stays out this long in real time is assumed to be waiting for Trio itself
# (``trio.from_thread.run`` on a task that sleeps): the clock jumps anyway, with a warning,
# rather than hang the test. Nothing in the suite comes close (the longest thread, a
# history of five sessions, takes under a second of CPU).
PATIENCE_S = 5.0


async def autojump(
    clock: MockClock, *, hold_s: float = HOLD_S, patience_s: float = PATIENCE_S
) -> NoReturn:
    """Jump ``clock`` to the next deadline each time every other task is blocked and no
    worker thread is out; run it in a nursery, it returns only by cancellation.

    ``clock`` must be the run's clock and must not autojump by itself (the ``mock_clock``
    fixture's, not ``autojump_clock``'s): two jumpers would race each other.
    """
    if trio.lowlevel.current_clock() is not clock:
        raise RuntimeError(
            "autojump needs the run's own clock: take the mock_clock fixture in the test "
            "(pytest-trio passes it to trio.run) and give that clock here"
        )
    if clock.autojump_threshold != math.inf:
        raise RuntimeError(
            f"the clock already autojumps (threshold {clock.autojump_threshold} s): use "
            "mock_clock, not autojump_clock, with autojump()"
        )
    limiter = trio.to_thread.current_default_thread_limiter()
    held_since: float | None = None
    while True:
        await wait_all_tasks_blocked()
        if limiter.borrowed_tokens:
            now = time.monotonic()
            held_since = now if held_since is None else held_since
            if now - held_since < patience_s:
                await wait_all_tasks_blocked(hold_s)
                continue
            log.warning(
                "virtual clock: a worker thread has been out for %.1f s of real time; "
                "jumping anyway (is it waiting for a sleeping Trio task?)",
                now - held_since,
            )
        held_since = None
        jump = trio.lowlevel.current_statistics().seconds_to_next_deadline
        if 0 < jump < math.inf:
            clock.jump(jump)
        else:
            # Nothing is scheduled: only I/O from outside the run can wake anyone.
            await wait_all_tasks_blocked(hold_s)
