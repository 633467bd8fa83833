from __future__ import annotations

import pytest
import trio
import trio.testing

from spotlight.runtime.parking import Parking


async def test_park_until_woken_and_wake_without_waiter_is_a_no_op() -> None:
    p = Parking()
    p.wake()  # nobody parked: nothing happens
    woke = []

    async def sleeper() -> None:
        await p.park()
        woke.append(trio.current_time())

    async with trio.open_nursery() as n:
        n.start_soon(sleeper)
        await trio.testing.wait_all_tasks_blocked()
        assert p.parked and woke == []
        p.wake()
    assert woke and not p.parked


async def test_cancelled_park_unparks_and_second_parker_is_refused() -> None:
    p = Parking()
    with trio.move_on_after(0.01):
        await p.park()
    assert not p.parked
    async with trio.open_nursery() as n:
        n.start_soon(p.park)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(RuntimeError, match="already parked"):
            await p.park()
        p.wake()
