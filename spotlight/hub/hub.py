"""The hub: one sequence for everything, fan-out that never waits for a client.

``clock`` is the monotonic clock used to stamp events (``trio.current_time`` in the server;
tests pass their own), so this module imports no I/O framework.

``publish`` is synchronous and never checkpoints: it numbers the event from the epoch's one
counter (shared by every source and channel, so seqs are aligned across sources), encodes it
once, appends it to history and offers it to each subscriber of its topic. A subscriber is
anything with ``offer(event) -> bool``; it must not block. ``False`` means the subscriber is
closed (for example it overflowed its bounds) and the hub drops it on the spot.

Subscribing and taking a snapshot or replay in the same synchronous step (no ``await``
between them) is what makes resume exact: no event can slip between "what you missed" and
"what comes next".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Protocol

from spotlight.hub.epoch import Epoch
from spotlight.hub.event import Event, encode_event
from spotlight.hub.history import History

__all__ = ["Hub", "Subscriber"]


class Subscriber(Protocol):
    def offer(self, event: Event, /) -> bool: ...


class Hub:
    def __init__(
        self,
        epoch: Epoch,
        history: History,
        clock: Callable[[], float],
        on_publish: Callable[[Event], None] | None = None,
    ) -> None:
        self.epoch = epoch
        self.history = history
        self.last_seq = 0
        self._clock = clock
        self._on_publish = on_publish
        self._by_topic: dict[str, list[Subscriber]] = {}
        self._topics_of: dict[Subscriber, tuple[str, ...]] = {}

    def publish(
        self, type: str, topic: str, payload: object, *, conflate_key: str | None = None
    ) -> Event:
        self.last_seq += 1
        event = encode_event(
            self.epoch.id, self.last_seq, type, topic, payload, self._clock(), conflate_key
        )
        self.history.append(event)
        subs = self._by_topic.get(topic)
        if subs:
            dead = [s for s in subs if not s.offer(event)]
            for s in dead:
                self.unsubscribe(s)
        if self._on_publish is not None:
            self._on_publish(event)
        return event

    def subscribe(self, sub: Subscriber, topics: Iterable[str]) -> None:
        if sub in self._topics_of:
            raise RuntimeError("subscriber is already subscribed; unsubscribe first")
        wanted = tuple(dict.fromkeys(topics))
        self._topics_of[sub] = wanted
        for t in wanted:
            self._by_topic.setdefault(t, []).append(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        """Idempotent: unknown subscribers are ignored."""
        for t in self._topics_of.pop(sub, ()):
            subs = self._by_topic.get(t)
            if subs is not None:
                with contextlib.suppress(ValueError):
                    subs.remove(sub)
                if not subs:
                    del self._by_topic[t]

    def subscribers(self) -> list[Subscriber]:
        return list(self._topics_of)

    @property
    def subscriber_count(self) -> int:
        return len(self._topics_of)

    def stats(self) -> dict[str, object]:
        return {
            "lastSeq": self.last_seq,
            "subscribers": self.subscriber_count,
            "topics": len(self._by_topic),
            "history": {
                "events": len(self.history),
                "bytes": self.history.bytes,
                "firstSeq": self.history.first_seq,
                "maxEvents": self.history.max_events,
                "maxAgeS": self.history.max_age_s,
                "evicted": self.history.evicted,
            },
        }
