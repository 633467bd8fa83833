from __future__ import annotations

import random

import pytest
import trio

from spotlight.runtime.backoff import Backoff
from spotlight.runtime.mailbox import Mailbox
from spotlight.runtime.tree import ActorNode


def test_backoff_grows_caps_and_jitters_within_bounds() -> None:
    b = Backoff(base_s=0.5, factor=2.0, cap_s=4.0, jitter=0.5)
    rng = random.Random(1)
    for attempt, raw in enumerate([0.5, 1.0, 2.0, 4.0, 4.0, 4.0]):
        for _ in range(50):
            d = b.delay(attempt, rng)
            assert raw * 0.5 <= d <= raw
    assert Backoff(jitter=0.0).delay(10_000) == 30.0  # no overflow, capped


@pytest.mark.parametrize(
    "kwargs", [{"base_s": 0}, {"factor": 0.5}, {"cap_s": 0.1}, {"jitter": 2.0}]
)
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)


async def test_mailbox_offer_refuses_when_full_and_batches_on_receive() -> None:
    box: Mailbox[int] = Mailbox(3)
    assert [box.offer(i) for i in range(5)] == [True, True, True, False, False]
    assert box.stats() == {"depth": 3, "capacity": 3, "peak": 3, "refused": 2}
    assert await box.receive_batch() == [0, 1, 2]
    await box.send(9)
    assert await box.receive_batch() == [9]
    with pytest.raises(ValueError):
        Mailbox[int](0)


async def test_mailbox_send_waits_for_room() -> None:
    box: Mailbox[int] = Mailbox(1)
    await box.send(1)
    with trio.move_on_after(0.05) as scope:
        await box.send(2)
    assert scope.cancelled_caught  # a full inbox applies backpressure to an awaiting sender


def test_actor_tree_json_is_bounded() -> None:
    root = ActorNode("root", "root")
    for i in range(5):
        root.child(f"c{i}", "client").stats = lambda: {"q": 1}
    j = root.to_json(max_children=2)
    assert [c["name"] for c in j["children"]] == ["c0", "c1"]
    assert j["childrenOmitted"] == 3 and j["children"][0]["stats"] == {"q": 1}
    root.children[0].detach()
    assert len(root.children) == 4
