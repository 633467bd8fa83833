"""Hub and history: one sequence, encode once, fan-out without awaiting, bounded history."""

from __future__ import annotations

import gc

import orjson
import pytest
import trio.testing

from spotlight.hub import Epoch, Event, History, Hub, encode_event


class Sink:
    def __init__(self, accept: bool = True) -> None:
        self.events: list[Event] = []
        self.accept = accept

    def offer(self, event: Event) -> bool:
        self.events.append(event)
        return self.accept


def make_hub(max_events: int = 100, max_age: float = 60.0, now: list[float] | None = None) -> Hub:
    clock = now if now is not None else [0.0]
    return Hub(Epoch("abc123", 0), History(max_events, max_age), clock=lambda: clock[0])


def test_one_sequence_across_topics_and_encode_once() -> None:
    hub = make_hub()
    a, b = Sink(), Sink()
    hub.subscribe(a, ["tick:SPY"])
    hub.subscribe(b, ["tick:SPY", "bar:QQQ:1m"])
    e1 = hub.publish("tick", "tick:SPY", {"p": 1})
    e2 = hub.publish("bar:update", "bar:QQQ:1m", {"c": 2})
    e3 = hub.publish("tick", "tick:SPY", {"p": 3})
    # The memory backend delivers in the same step and returns the event (Redis: None).
    assert e1 is not None and e2 is not None and e3 is not None
    assert [e.seq for e in (e1, e2, e3)] == [1, 2, 3]
    assert [e.seq for e in a.events] == [1, 3] and [e.seq for e in b.events] == [1, 2, 3]
    assert a.events[0] is b.events[0]  # the very same object (and bytes) for every subscriber
    assert e1.sse == b'id: abc123:1\nevent: tick\ndata: {"p":1}\n\n'
    assert e1.ws[:2] == bytes((0x81, len(e1.ws) - 2))  # one final, unmasked text frame
    assert orjson.loads(e1.ws[2:]) == {
        "type": "tick",
        "seq": 1,
        "id": "abc123:1",
        "payload": {"p": 1},
    }


async def test_publish_never_checkpoints() -> None:
    hub = make_hub()
    hub.subscribe(Sink(), ["t"])
    with trio.testing.assert_no_checkpoints():
        for _ in range(10):
            hub.publish("tick", "t", {})


def test_closed_subscriber_is_dropped_at_once() -> None:
    hub = make_hub()
    dead = Sink(accept=False)
    hub.subscribe(dead, ["t"])
    hub.publish("x", "t", 1)
    hub.publish("x", "t", 2)
    assert len(dead.events) == 1 and hub.subscriber_count == 0
    hub.unsubscribe(dead)  # idempotent


def test_double_subscribe_is_refused() -> None:
    hub = make_hub()
    s = Sink()
    hub.subscribe(s, ["t"])
    with pytest.raises(RuntimeError):
        hub.subscribe(s, ["u"])


def test_history_bounded_by_count_and_age() -> None:
    now = [0.0]
    hub = make_hub(max_events=5, max_age=10.0, now=now)
    for i in range(8):
        now[0] = float(i)
        hub.publish("x", "t", i)
    h = hub.history
    assert len(h) == 5 and h.first_seq == 4 and h.evicted == 3
    assert h.covers(3, hub.last_seq) and not h.covers(2, hub.last_seq)
    now[0] = 15.5
    hub.publish("x", "t", 99)  # seq 9 at t=15.5: everything before t=5.5 ages out
    assert h.first_seq == 7
    assert h.bytes == sum(e.memory for e in h.since(0, {"t"}))


def test_a_full_history_gives_the_cyclic_gc_nothing_to_visit() -> None:
    # 50,000 retained events as tracked objects made each young collection a 25-55 ms pause
    # of the event loop; events hold only atomic values and are never tracked.
    hub = make_hub(max_events=20_000)
    gc.collect()
    gc.disable()  # no collection may empty the young generation while we count it
    try:
        before = len(gc.get_objects(0))
        for i in range(20_000):
            hub.publish("tick", "tick:SPY", {"p": i, "s": "SPY"})
        after = len(gc.get_objects(0))
    finally:
        gc.enable()
    assert len(hub.history) == 20_000
    assert not any(gc.is_tracked(e) for e in hub.history.since(0, {"tick:SPY"}))
    assert after - before < 1_000


def test_history_since_filters_topics_and_keeps_order() -> None:
    hub = make_hub()
    for i in range(10):
        hub.publish("x", "a" if i % 2 else "b", i)
    assert [e.seq for e in hub.history.since(4, {"a"})] == [6, 8, 10]
    assert hub.history.since(10, {"a", "b"}) == []


def test_history_requires_consecutive_seqs() -> None:
    h = History(10, 10)
    h.append(encode_event("e", 1, "x", "t", 1, 0.0))
    with pytest.raises(ValueError, match="consecutive"):
        h.append(encode_event("e", 3, "x", "t", 1, 0.0))


def test_an_events_memory_is_what_it_really_holds() -> None:
    """Issue 21: the history's documented cost must match a measurement. ``Event.memory`` (its
    two frames plus EVENT_OVERHEAD) is checked against tracemalloc over 5,000 events of three
    sizes, retained as the history retains them; no orjson output may be kept (its buffer
    keeps 4 KB whatever the length: that was most of the ~5.5 KB per event seen in RSS)."""
    import tracemalloc

    for payload in ({"p": 1.5, "s": "SPY"}, {"bars": list(range(100))}, {"g": list(range(5000))}):
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            h = History(10_000, 1e9)
            for seq in range(1, 5001):
                h.append(encode_event("abcdef012345", seq, "tick", "tick:" + "SPY", payload, 0.0))
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert h.bytes == sum(e.memory for e in h.since(0, {"tick:SPY"}))
        assert 0.9 < held / h.bytes < 1.1, (payload.keys(), held / 5000, h.bytes / 5000)


def test_the_history_is_bounded_by_memory_too() -> None:
    small = encode_event("e", 100, "x", "t", {"p": 1}, 0.0).memory
    h = History(1000, 1e9, max_bytes=10 * small)
    for seq in range(100, 130):
        h.append(encode_event("e", seq, "x", "t", {"p": 1}, 0.0))
    assert len(h) == 10 and h.first_seq == 120 and h.bytes <= 10 * small
    assert h.evicted == 20
    big = encode_event("e", 130, "x", "t", {"g": list(range(1000))}, 0.0)
    h.append(big)  # larger than the bound on its own: it stays, alone
    assert len(h) == 1 and h.first_seq == 130
