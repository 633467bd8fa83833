"""The hub: one sequence for everything, fan-out that never waits for a client.

``clock`` is the monotonic clock used to stamp events (``trio.current_time`` in the server;
tests pass their own), so this module imports no I/O framework.

``publish`` is synchronous and never checkpoints. Its backend (backend.py) numbers the event
from the epoch's one counter (shared by every source and channel, so seqs are aligned across
sources): the memory backend (the default) right here, the Redis backend in Redis, shared by
every node. Either way the event then reaches ``deliver``, which appends it to history and
offers it to each subscriber of its topic. A subscriber is
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

from spotlight.hub.backend import HubBackend
from spotlight.hub.backend_memory import MemoryBackend
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
        backend: HubBackend | None = None,
    ) -> None:
        self.epoch = epoch
        self.history = history
        self.last_seq = 0
        self.clock = clock
        self.backend: HubBackend = backend or MemoryBackend()
        self._on_publish = on_publish
        self._by_topic: dict[str, list[Subscriber]] = {}
        self._topics_of: dict[Subscriber, tuple[str, ...]] = {}

    def publish(
        self, type: str, topic: str, payload: object, *, conflate_key: str | None = None
    ) -> Event | None:
        """Publish through the backend: the delivered event (memory), or None when the
        backend numbers it later (Redis: it comes back through ``deliver``)."""
        return self.backend.publish(self, type, topic, payload, conflate_key)

    def deliver(self, event: Event) -> None:
        """The local half of publishing: history, then every subscriber of the topic.

        ``event.seq`` must follow ``last_seq`` (History raises otherwise): a backend that
        reads events from elsewhere checks its sequence before delivering.
        """
        self.history.append(event)
        self.last_seq = event.seq
        subs = self._by_topic.get(event.topic)
        if subs:
            dead = [s for s in subs if not s.offer(event)]
            for s in dead:
                self.unsubscribe(s)
        if self._on_publish is not None:
            self._on_publish(event)

    def notify(self, type: str, topic: str, payload: object) -> Event:
        """Offer an unsequenced notice to the topic's subscribers (not kept in history).

        It carries the current ``last_seq`` as its id, so a client's resume position does
        not move; the Redis backend uses it to tell streams that the node lost (or regained)
        its connection to the shared stream, when no sequenced event can be published.
        """
        event = encode_event(self.epoch.id, self.last_seq, type, topic, payload, self.clock())
        subs = self._by_topic.get(topic)
        if subs:
            dead = [s for s in subs if not s.offer(event)]
            for s in dead:
                self.unsubscribe(s)
        return event

    def restart(self, epoch: Epoch, events: Iterable[Event], last_seq: int) -> None:
        """Adopt another epoch or a reloaded window: history becomes ``events`` (consecutive,
        ending at ``last_seq``) and the sequence continues from ``last_seq``. Subscribers
        stay; the caller closes the streams whose positions no longer mean anything."""
        self.epoch = epoch
        self.history.clear()
        for e in events:
            self.history.append(e)
        self.last_seq = last_seq

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
            "backend": self.backend.stats(),
            "lastSeq": self.last_seq,
            "subscribers": self.subscriber_count,
            "topics": len(self._by_topic),
            "history": {
                "events": len(self.history),
                "memoryBytes": self.history.bytes,
                "maxBytes": self.history.max_bytes,
                "firstSeq": self.history.first_seq,
                "maxEvents": self.history.max_events,
                "maxAgeS": self.history.max_age_s,
                "evicted": self.history.evicted,
            },
        }
