"""``Parking``: one task waits until another wakes it; nothing is allocated per wait.

``trio.Event`` cannot be reset (a new one per wait) and a timeout needs a cancel scope per
wait. On the fan-out path those per-wait objects live until the next burst (~100 ms) and
were promoted into the old GC generation by the thousand per second (docs/benchmarks.md).
This parks with ``wait_task_rescheduled`` and an abort callback bound once, so a wait
allocates only what dies with the wake-up. Cancellation works as usual.
"""

from __future__ import annotations

import trio

__all__ = ["Parking"]


class Parking:
    __slots__ = ("_abort", "_task")

    def __init__(self) -> None:
        self._task: trio.lowlevel.Task | None = None
        self._abort = self._on_abort  # bound once

    @property
    def parked(self) -> bool:
        return self._task is not None

    async def park(self) -> None:
        """Wait until ``wake``; only one task may be parked at a time."""
        if self._task is not None:
            raise RuntimeError("Parking.park: another task is already parked here")
        self._task = trio.lowlevel.current_task()
        await trio.lowlevel.wait_task_rescheduled(self._abort)

    def wake(self) -> None:
        """Reschedule the parked task, if any (synchronous, never blocks)."""
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task)

    def _on_abort(self, _: object) -> trio.lowlevel.Abort:
        self._task = None
        return trio.lowlevel.Abort.SUCCEEDED
