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

from collections.abc import Callable
from typing import Protocol

import trio

from spotlight.runtime.parking import Parking
from spotlight.runtime.tree import ActorNode

__all__ = ["FlushScheduler", "Flushable", "Flusher"]


class Flushable(Protocol):
    """Something with work for the next pass: a client's inbox, a group's queue."""

    def flush(self) -> None: ...

    def close(self, reason: str, *, dropped: bool = False) -> None: ...


class FlushScheduler(Protocol):
    """What a flushable asks of the flusher: visit me on the next pass; and what a group
    tells it when writing to one of its members raised (``failed``)."""

    def mark(self, item: Flushable, /) -> None: ...

    def failed(self, item: Flushable, exc: BaseException, /) -> None: ...


class Flusher:
    """``on_failure`` hears of a client whose visit raised (its chunk could not be built or
    written): that client is closed with ``internal-error`` and the pass goes on, since a
    visit runs one client's stream code and its failure is that client's, not the flusher's.
    Everything a client sent was validated and encoded in its own task before it could get
    here (web/ws_prices.py, clients/stream_queue.py); this is the net under our own bugs."""

    def __init__(self, on_failure: Callable[[BaseException], None] | None = None) -> None:
        self._on_failure = on_failure
        self._dirty: list[Flushable] = []
        self._parking = Parking()
        self.passes = 0
        self.visits = 0
        self.failures = 0

    def mark(self, item: Flushable, /) -> None:
        self._dirty.append(item)
        self._parking.wake()

    def failed(self, item: Flushable, exc: BaseException, /) -> None:
        """Writing for ``item`` raised: close it (``internal-error``) and report it."""
        self.failures += 1
        item.close("internal-error")
        if self._on_failure is not None:
            self._on_failure(exc)

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = lambda: {
            "passes": self.passes,
            "visits": self.visits,
            "dirty": len(self._dirty),
            "failures": self.failures,
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
                try:
                    item.flush()
                except Exception as exc:  # one client's failure ends that client only
                    self.failed(item, exc)
