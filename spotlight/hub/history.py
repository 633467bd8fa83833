"""Recent events kept for resume, bounded by count, by memory and by age (pure; no I/O, no
clock reads).

Events arrive with consecutive seqs, so the retained window is always ``first_seq..last_seq``
with no holes, and "is seq N still here?" is arithmetic. ``since`` walks back from the newest
event, so a client that missed a few events costs a few steps, not a scan of the window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container

from spotlight.hub.event import Event

__all__ = ["History"]


class History:
    """``max_bytes`` bounds what the retained events hold in memory (``Event.memory``: their
    frames and the objects around them, as measured), beside the count and the age."""

    def __init__(self, max_events: int, max_age_s: float, max_bytes: int = 1 << 62) -> None:
        if max_events <= 0 or max_age_s <= 0 or max_bytes <= 0:
            raise ValueError(
                f"History bounds must be positive: max_events={max_events!r}, "
                f"max_age_s={max_age_s!r}, max_bytes={max_bytes!r}"
            )
        self.max_events = max_events
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self._events: deque[Event] = deque()
        self.bytes = 0  # what the retained events hold in memory (Event.memory)
        self.evicted = 0

    def append(self, event: Event) -> None:
        events = self._events
        if events and event.seq != events[-1].seq + 1:
            raise ValueError(
                f"History needs consecutive seqs: got {event.seq} after {events[-1].seq}"
            )
        events.append(event)
        self.bytes += event.memory
        while len(events) > self.max_events or (self.bytes > self.max_bytes and len(events) > 1):
            self.bytes -= events.popleft().memory
            self.evicted += 1
        self.trim(event.published)

    def clear(self) -> None:
        """Forget every event (a new epoch, or a window reloaded from a shared backend)."""
        self.evicted += len(self._events)
        self._events.clear()
        self.bytes = 0

    def trim(self, now: float) -> None:
        """Drop events older than ``max_age_s`` at hub time ``now``."""
        horizon = now - self.max_age_s
        events = self._events
        while events and events[0].published < horizon:
            self.bytes -= events.popleft().memory
            self.evicted += 1

    @property
    def first_seq(self) -> int | None:
        return self._events[0].seq if self._events else None

    def __len__(self) -> int:
        return len(self._events)

    def covers(self, seq: int, last_seq: int) -> bool:
        """True if every event after ``seq`` (up to ``last_seq``) is still retained."""
        if seq >= last_seq:
            return True
        first = self.first_seq
        return first is not None and first <= seq + 1

    def since(self, seq: int, topics: Container[str]) -> list[Event]:
        """Retained events with a seq above ``seq`` whose topic is in ``topics``, oldest first.

        The caller checks ``covers`` first; events already evicted are simply absent.
        """
        out: list[Event] = []
        for event in reversed(self._events):
            if event.seq <= seq:
                break
            if event.topic in topics:
                out.append(event)
        out.reverse()
        return out
