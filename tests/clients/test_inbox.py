"""ClientInbox policy: conflation keeps order, bounds cut a slow client off at once."""

from __future__ import annotations

import trio
import trio.testing

from spotlight.clients.inbox import ClientInbox
from spotlight.hub import Event, encode_event


def ev(seq: int, key: str | None = None, t: float = 0.0, pad: int = 0) -> Event:
    return encode_event("e", seq, "x", key or "t", {"pad": "x" * pad}, t, key)


async def test_offer_never_checkpoints_and_drain_returns_in_order() -> None:
    box = ClientInbox(1 << 20, 5.0)
    with trio.testing.assert_no_checkpoints():
        for i in range(1, 6):
            assert box.offer(ev(i))
    assert box.pending_events == 5
    assert [e.seq for e in box.drain()] == [1, 2, 3, 4, 5]
    assert box.pending_events == 0 and box.pending_bytes == 0


def test_conflation_replaces_pending_and_keeps_seqs_increasing() -> None:
    box = ClientInbox(1 << 20, 5.0)
    box.offer(ev(1, "bar:SPY"))
    box.offer(ev(2))
    box.offer(ev(3, "bar:SPY"))
    box.offer(ev(4, "bar:QQQ"))
    box.offer(ev(5, "bar:SPY"))
    assert box.pending_events == 3 and box.conflated == 2
    assert [e.seq for e in box.drain()] == [2, 4, 5]
    box.offer(ev(6, "bar:SPY"))  # after a drain nothing is pending to supersede
    assert [e.seq for e in box.drain()] == [6]


def test_bytes_bound_cuts_off_and_frees_the_queue() -> None:
    one = ev(1, pad=1000).size
    box = ClientInbox(max_bytes=one * 3, max_age_s=60)
    assert all(box.offer(ev(i, pad=1000)) for i in range(1, 4))
    assert not box.offer(ev(4, pad=1000))
    assert box.closed_reason == "slow-bytes"
    assert box.dropped == 4 and box.pending_bytes == 0 and box.drain() == []
    assert not box.offer(ev(5))  # closed: the hub will unsubscribe it


def test_age_bound_measures_oldest_live_event() -> None:
    box = ClientInbox(1 << 20, max_age_s=2.0)
    box.offer(ev(1, "k", t=0.0))
    box.offer(ev(2, "k", t=1.5))  # supersedes seq 1: the oldest live event is now t=1.5
    assert box.offer(ev(3, t=3.0))
    assert not box.offer(ev(4, t=3.6))
    assert box.closed_reason == "slow-age"


async def test_wait_wakes_on_offer_and_on_close() -> None:
    box = ClientInbox(1 << 20, 5.0)
    async with trio.open_nursery() as n:
        n.start_soon(box.wait)
        await trio.testing.wait_all_tasks_blocked()
        box.offer(ev(1))
    box.drain()
    async with trio.open_nursery() as n:
        n.start_soon(box.wait)
        await trio.testing.wait_all_tasks_blocked()
        box.close("shutdown")
    assert box.closed_reason == "shutdown"
    box.close("slow-bytes")
    assert box.closed_reason == "shutdown"  # first reason wins
