"""The virtual clock the integration tests run on (spotlight/testing/virtual_time.py)."""

from __future__ import annotations

import time

import pytest
import trio
from trio.testing import MockClock

from spotlight.testing.virtual_time import autojump


async def test_time_jumps_to_each_deadline_when_every_task_waits(mock_clock: MockClock) -> None:
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await trio.sleep(seconds)
        woke.append(trio.current_time())

    real = time.monotonic()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(autojump, mock_clock)
        async with trio.open_nursery() as sleepers:
            for s in (3600.0, 5.0, 60.0):
                sleepers.start_soon(sleeper, s)
        nursery.cancel_scope.cancel()
    assert woke == [5.0, 60.0, 3600.0]  # in order, each exactly at its deadline
    assert time.monotonic() - real < 5  # an hour of virtual time, no real wait


def _busy(seconds: float) -> float:
    time.sleep(seconds)  # a worker thread's real duration (history, chains, a chunk)
    return seconds


async def test_the_clock_holds_while_a_worker_thread_is_out(mock_clock: MockClock) -> None:
    """A task with a 1 s timeout waits for a thread that takes 0.3 s of real time: with the
    clock held the timeout does not fire and no virtual time passes; a plain autojump would
    have jumped to the timeout while the thread ran."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(autojump, mock_clock)
        ticks: list[float] = []

        async def ticker() -> None:  # other deadlines, as the server always has
            while True:
                await trio.sleep(0.1)
                ticks.append(trio.current_time())

        nursery.start_soon(ticker)
        start = trio.current_time()
        with trio.fail_after(1):
            assert await trio.to_thread.run_sync(_busy, 0.3) == 0.3
        assert trio.current_time() == start
        await trio.sleep(0.25)  # and time flows again once the thread is back
        assert len(ticks) == 2 and trio.current_time() == start + 0.25
        nursery.cancel_scope.cancel()


async def test_it_refuses_a_clock_that_jumps_by_itself(autojump_clock: MockClock) -> None:
    with pytest.raises(RuntimeError, match="mock_clock, not autojump_clock"):
        await autojump(autojump_clock)


async def test_it_refuses_a_clock_that_is_not_the_runs(mock_clock: MockClock) -> None:
    with pytest.raises(RuntimeError, match="run's own clock"):
        await autojump(MockClock())
