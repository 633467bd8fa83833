"""A client's queue: bounded by bytes and by age, conflating, never blocking the publisher.

``offer`` runs inside ``Hub.publish`` for every subscriber, so it is synchronous and cheap:
an append, two additions and, when it is not already set, one ``trio.Event.set``.

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
only ages while events keep arriving, and that is exactly when it grows.
"""

from __future__ import annotations

from collections import deque

import trio

from spotlight.hub.event import Event

__all__ = ["ClientInbox"]


class ClientInbox:
    __slots__ = (
        "_latest",
        "_pending",
        "_wake",
        "closed_reason",
        "conflated",
        "dropped",
        "max_age_s",
        "max_bytes",
        "peak_bytes",
        "pending_bytes",
        "pending_events",
    )

    def __init__(self, max_bytes: int, max_age_s: float) -> None:
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._pending: deque[Event] = deque()
        self._latest: dict[str, Event] = {}  # {conflate_key: newest pending event}
        self._wake = trio.Event()
        self.pending_bytes = 0
        self.pending_events = 0
        self.peak_bytes = 0
        self.conflated = 0  # superseded before delivery (not a loss: the newer one is delivered)
        self.dropped = 0  # discarded when the client was cut off as slow
        self.closed_reason: str | None = None

    def offer(self, event: Event) -> bool:
        if self.closed_reason is not None:
            return False
        key = event.conflate_key
        if key is not None:
            old = self._latest.get(key)
            if old is not None:
                self.pending_bytes -= old.size
                self.pending_events -= 1
                self.conflated += 1
            self._latest[key] = event
        self._pending.append(event)
        self.pending_bytes += event.size
        self.pending_events += 1
        if self.pending_bytes > self.peak_bytes:
            self.peak_bytes = self.pending_bytes
        if self.pending_bytes > self.max_bytes:
            self.close("slow-bytes", dropped=True)
            return False
        if event.published - self._oldest_live_published() > self.max_age_s:
            self.close("slow-age", dropped=True)
            return False
        if not self._wake.is_set():
            self._wake.set()
        return True

    def _oldest_live_published(self) -> float:
        pending, latest = self._pending, self._latest
        while True:
            head = pending[0]
            key = head.conflate_key
            if key is None or latest.get(key) is head:
                return head.published
            pending.popleft()  # superseded: already discounted from bytes and count

    async def wait(self) -> None:
        """Block until something is pending or the inbox is closed (always checkpoints)."""
        await self._wake.wait()

    def drain(self) -> list[Event]:
        """Every live pending event, oldest first; the queue is empty afterwards."""
        pending, latest = self._pending, self._latest
        if latest:
            out = [e for e in pending if e.conflate_key is None or latest.get(e.conflate_key) is e]
            latest.clear()
        else:
            out = list(pending)
        pending.clear()
        self.pending_bytes = 0
        self.pending_events = 0
        if self._wake.is_set() and self.closed_reason is None:
            self._wake = trio.Event()
        return out

    def close(self, reason: str, *, dropped: bool = False) -> None:
        """Close with ``reason``; with ``dropped`` the pending events are discarded and counted.

        Idempotent: the first reason wins.
        """
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        if dropped:
            self.dropped += self.pending_events
            self._pending.clear()
            self._latest.clear()
            self.pending_bytes = 0
            self.pending_events = 0
        self._wake.set()

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
