"""The flusher: one pass per burst over every client with something new to write.

Without it, a burst to 1,000 clients is 1,000 writer-task wake-ups, each a reschedule, a task
switch and a generator step (~8 us of the ~10 us a client costs, measured in-process). With
it, offers only mark the client dirty; after the publisher yields, this one task visits each
dirty client once: if the client's writer is parked and its transport can write without
awaiting (``ClientInbox.direct``, a raw socket), the chunk is built and sent right there with a
non-blocking ``send``. The writer task is woken only when it must act: a partial write (the
rest is left in ``Stream.out``), the end of the stream, or a transport that cannot write
directly (the ASGI fallback). Ownership does not move: the session's writer task still owns
its socket and its lifetime; the flusher only writes while that task is parked in
``ClientInbox.wait``, so the two never write at once.

A shared-chunk group (``clients/stream_group.py``) is visited the same way, once per burst
for all its members.

Publishers never await it: ``mark`` is a list append and, at most once per burst, a
reschedule.
"""

from __future__ import annotations

from typing import Protocol

import trio

from spotlight.runtime.parking import Parking
from spotlight.runtime.tree import ActorNode

__all__ = ["FlushScheduler", "Flushable", "Flusher"]


class Flushable(Protocol):
    """Something with work for the next pass: a client's inbox, a group's queue."""

    def flush(self) -> None: ...


class FlushScheduler(Protocol):
    """What a flushable asks of the flusher: visit me on the next pass."""

    def mark(self, item: Flushable, /) -> None: ...


class Flusher:
    def __init__(self) -> None:
        self._dirty: list[Flushable] = []
        self._parking = Parking()
        self.passes = 0
        self.visits = 0

    def mark(self, item: Flushable, /) -> None:
        self._dirty.append(item)
        self._parking.wake()

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = lambda: {
            "passes": self.passes,
            "visits": self.visits,
            "dirty": len(self._dirty),
        }
        task_status.started()
        while True:
            if self._dirty:
                await trio.lowlevel.checkpoint()
            else:
                await self._parking.park()
            batch, self._dirty = self._dirty, []
            self.passes += 1
            self.visits += len(batch)
            for item in batch:
                item.flush()
