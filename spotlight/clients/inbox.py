"""A client's queue: bounded by bytes and by age, conflating, never blocking the publisher.

``offer`` runs inside ``Hub.publish`` for every subscriber, so it is synchronous and cheap:
an append, two additions and, when the writer is parked, one ``trio.lowlevel.reschedule``.

Waking goes through the flusher when there is one (``clients/flusher.py``): one pass per
burst instead of one task switch per client. The writer waits in a ``runtime.Parking``
(nothing allocated per wait), and heartbeats come from one ticker for all clients
(``poke``), not a timeout per client: per-wait objects were the main source of GC load.

While its client is a member of a shared-chunk group (``clients/stream_group.py``) the queue
is not subscribed and stays empty: pokes go to the group, and a close first takes the
group's pending events into this queue.

Policy, in order:
1. Conflation. An event with a ``conflate_key`` (the in-progress bar of a symbol, the latest
   quote) supersedes a pending one with the same key. The older one is skipped at drain and the
   newer one keeps its place at the tail, so seqs delivered to a client still strictly increase.
2. Bounds. When pending bytes exceed ``max_bytes``, or the oldest pending event is more than
   ``max_age_s`` older than the newest, the client is too slow: the queue is dropped (memory is
   freed at once, not when the stuck writer wakes), the inbox closes with reason ``slow-bytes``
   or ``slow-age``, and ``offer`` returns False so the hub unsubscribes it immediately. The
   writer then sends a ``slow`` event and ends the stream; the client's reconnect resumes from
   its last id, out of history.

Age is measured between events (publish times), not against a clock read per offer: a queue
only ages while events keep arriving, and that is exactly when it grows. While the stream's
own prelude (a snapshot, a replay) is being written, nothing behind it ages (``hold_age``):
a slow link gets the time its prelude needs, bounded, instead of being cut off mid-snapshot.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

import trio

from spotlight.clients.flusher import FlushScheduler
from spotlight.hub.event import Event
from spotlight.runtime.parking import Parking

__all__ = ["ClientInbox", "Group"]


class Group(Protocol):
    """What an inbox asks of the shared-chunk group it is a member of (stream_group.py)."""

    def poke(self) -> None: ...

    def leave(self, inbox: ClientInbox, events: Sequence[Event], *, resubscribe: bool) -> None: ...

    def leave_now(self, inbox: ClientInbox, *, resubscribe: bool) -> None: ...


# Shared by every inbox that has never queued anything (idle clients, members of a shared
# chunk group: most of them): a deque allocates a ~600-byte block even when empty, which
# was 4 % of an idle connection's memory. Never appended to; ``offer`` replaces it first.
_NO_QUEUE: deque[Event] = deque()


class ClientInbox:
    __slots__ = (
        "_dirty",
        "_flusher",
        "_latest",
        "_pending",
        "_writer",
        "age_floor",
        "closed_reason",
        "conflated",
        "direct",
        "dropped",
        "group",
        "heartbeat_due",
        "max_age_s",
        "max_bytes",
        "on_close",
        "peak_bytes",
        "pending_bytes",
        "pending_events",
        "prelude_deadline",
    )

    def __init__(self, max_bytes: int, max_age_s: float) -> None:
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._pending: deque[Event] = _NO_QUEUE  # a real deque from the first offer on
        self._latest: dict[str, Event] = {}  # {conflate_key: newest pending event}
        self._writer = Parking()  # the writer task waits here
        # With a flusher, new work marks the inbox dirty and the flusher makes one pass per
        # burst; without one (unit tests, a bare registry), the writer is woken directly.
        self._flusher: FlushScheduler | None = None
        self._dirty = False
        # Set by a transport that can write without awaiting (a raw socket): the flusher calls
        # it while the writer is parked; it returns False when the writer must take over.
        self.direct: Callable[[], bool] | None = None
        # Set while the client is a member of a shared-chunk group (clients/stream_group.py):
        # the hub offers to the group instead, and this queue stays empty.
        self.group: Group | None = None
        self.heartbeat_due = False
        self.pending_bytes = 0
        self.pending_events = 0
        self.peak_bytes = 0
        self.conflated = 0  # superseded before delivery (not a loss: the newer one is delivered)
        self.dropped = 0  # discarded when the client was cut off as slow
        self.closed_reason: str | None = None
        # Called with the reason when the inbox closes (synchronously, maybe inside publish):
        # lets the transport bound a write that is stuck on a stalled peer.
        self.on_close: Callable[[str], None] | None = None
        # Age is counted from this time at the earliest (hub clock); inf while the stream's
        # prelude is being written (``hold_age``), until ``prelude_deadline``.
        self.age_floor = 0.0
        self.prelude_deadline = math.inf

    def hold_age(self, deadline: float) -> None:
        """The stream's prelude (a snapshot, a replay) is being written: pending events do not
        age until it is out (the stream sets ``age_floor`` then), but the prelude must be out
        by ``deadline`` (hub clock), or the client is cut off as ``slow-age``."""
        self.age_floor = math.inf
        self.prelude_deadline = deadline

    def attach(self, flusher: FlushScheduler) -> None:
        self._flusher = flusher

    def detach(self) -> None:
        """Stop being flushed (the stream is ending)."""
        if self.group is not None:
            self.group.leave(self, (), resubscribe=False)
        self._flusher = None
        self.direct = None

    @property
    def writer_parked(self) -> bool:
        return self._writer.parked

    def wake_writer(self) -> None:
        self._writer.wake()

    def offer(self, event: Event) -> bool:
        if self.closed_reason is not None:
            return False
        key = event.conflate_key
        if key is not None:
            latest = self._latest
            old = latest.get(key)
            if old is not None:
                self.pending_bytes -= old.size
                self.pending_events -= 1
                self.conflated += 1
            latest[key] = event
        pending = self._pending
        if pending is _NO_QUEUE:
            pending = self._pending = deque()
        pending.append(event)
        size = self.pending_bytes = self.pending_bytes + event.size
        self.pending_events += 1
        if size > self.peak_bytes:
            self.peak_bytes = size
            if size > self.max_bytes:
                self.close("slow-bytes", dropped=True)
                return False
        # Cheap test first; the exact one (skipping superseded heads, counting from the age
        # floor) only when it fails.
        now = event.published
        if now - pending[0].published > self.max_age_s and (
            now > self.prelude_deadline
            if self.age_floor == math.inf
            else now - max(self._oldest_live_published(), self.age_floor) > self.max_age_s
        ):
            self.close("slow-age", dropped=True)
            return False
        self._notify()
        return True

    def _notify(self) -> None:
        if self.group is not None:
            self.group.poke()  # a member's heartbeat is written by its group
            return
        flusher = self._flusher
        if flusher is not None:
            if not self._dirty:
                self._dirty = True
                flusher.mark(self)
        else:
            self._writer.wake()

    def flush(self) -> None:
        """The flusher's visit: write directly if the transport can, else wake the writer."""
        self._dirty = False
        if self.group is not None:
            return  # joined a group after being marked: the group writes for it now
        if not self._writer.parked:
            return  # the writer is busy writing; it will find the new work when it loops
        direct = self.direct
        if direct is None or not direct():
            self._writer.wake()

    def backlog_age(self, now: float) -> float:
        """Seconds the oldest pending event has waited (0 when nothing is pending)."""
        if not self.pending_events:
            return 0.0
        return max(0.0, now - self._oldest_live_published())

    def _oldest_live_published(self) -> float:
        pending, latest = self._pending, self._latest
        while True:
            head = pending[0]
            key = head.conflate_key
            if key is None or latest.get(key) is head:
                return head.published
            pending.popleft()  # superseded: already discounted from bytes and count

    async def wait(self) -> None:
        """Block until something is pending, a heartbeat is due or the inbox is closed.

        Always checkpoints. Only one task (the writer) may wait.
        """
        if self.pending_events or self.heartbeat_due or self.closed_reason is not None:
            await trio.lowlevel.checkpoint()
            return
        await self._writer.park()

    def nudge(self) -> None:
        """Wake the writer for work outside the queue (a transport's control messages)."""
        self._notify()

    def poke(self) -> None:
        """Ask the writer for a heartbeat at its next write."""
        self.heartbeat_due = True
        self._notify()

    def peek(self) -> list[Event]:
        """Every live pending event, oldest first (superseded ones skipped); nothing changes."""
        pending, latest = self._pending, self._latest
        if latest:
            return [e for e in pending if e.conflate_key is None or latest.get(e.conflate_key) is e]
        return list(pending)

    def drain(self) -> list[Event]:
        """Every live pending event, oldest first; the queue is empty afterwards."""
        out = self.peek()
        self._latest.clear()
        self._pending.clear()
        self.pending_bytes = 0
        self.pending_events = 0
        return out

    def close(self, reason: str, *, dropped: bool = False) -> None:
        """Close with ``reason``; with ``dropped`` the pending events are discarded and counted.

        Idempotent: the first reason wins.
        """
        if self.closed_reason is not None:
            return
        if self.group is not None:
            # Out of the group first, with what the group holds for it, so the closing
            # chunk is exact (everything published before the close, then the close).
            self.group.leave_now(self, resubscribe=False)
        self.closed_reason = reason
        if dropped:
            self.dropped += self.pending_events
            self._pending.clear()
            self._latest.clear()
            self.pending_bytes = 0
            self.pending_events = 0
        self._writer.wake()
        if self.on_close is not None:
            self.on_close(reason)

    def stats(self) -> dict[str, object]:
        return {
            "queuedEvents": self.pending_events,
            "queuedBytes": self.pending_bytes,
            "peakBytes": self.peak_bytes,
            "conflated": self.conflated,
            "dropped": self.dropped,
            "maxBytes": self.max_bytes,
            "maxAgeS": self.max_age_s,
        }
