"""Supervisor: restart with backoff, escalate past the limit, readiness, cancellation."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

from spotlight.runtime.backoff import Backoff
from spotlight.runtime.supervisor import Escalation, RestartPolicy, supervise
from spotlight.runtime.tree import ActorNode

NO_JITTER = Backoff(base_s=1.0, factor=2.0, cap_s=8.0, jitter=0.0)


class Flaky:
    """Fails ``failures`` times (before or after becoming ready), then runs forever."""

    def __init__(self, failures: int, before_ready: bool = False) -> None:
        self.failures = failures
        self.before_ready = before_ready
        self.starts: list[float] = []

    async def __call__(
        self, node: ActorNode, *, task_status: Any = trio.TASK_STATUS_IGNORED
    ) -> None:
        self.starts.append(trio.current_time())
        fail = len(self.starts) <= self.failures
        if fail and self.before_ready:
            raise RuntimeError(f"boom {len(self.starts)}")
        task_status.started(f"ready-{len(self.starts)}")
        if fail:
            raise RuntimeError(f"boom {len(self.starts)}")
        await trio.sleep_forever()


async def test_restarts_with_exponential_backoff(autojump_clock: trio.testing.MockClock) -> None:
    root = ActorNode("root", "root")
    child = Flaky(failures=3)
    async with trio.open_nursery() as nursery:
        value = await nursery.start(
            supervise, root, "flaky", "worker", child, RestartPolicy(5, 60.0, NO_JITTER)
        )
        assert value == "ready-1"  # readiness is the first start's value
        await trio.sleep(100)
        gaps = [b - a for a, b in zip(child.starts, child.starts[1:], strict=False)]
        assert gaps == pytest.approx([1.0, 2.0, 4.0])
        (node,) = root.children
        assert node.state == "running" and node.restarts == 3
        assert node.last_error == "RuntimeError: boom 3"
        nursery.cancel_scope.cancel()
    assert root.children == []  # the node leaves the tree with its task


async def test_escalates_after_too_many_failures_in_window(
    autojump_clock: trio.testing.MockClock,
) -> None:
    root = ActorNode("root", "root")
    child = Flaky(failures=100)
    with pytest.raises(ExceptionGroup) as info:
        async with trio.open_nursery() as nursery:
            await nursery.start(
                supervise, root, "flaky", "worker", child, RestartPolicy(2, 60.0, NO_JITTER)
            )
            await trio.sleep_forever()
    assert info.group_contains(Escalation, match="flaky failed 3 times within 60s")
    assert len(child.starts) == 3


async def test_failures_outside_the_window_do_not_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slow_backoff = Backoff(base_s=70.0, factor=1.0, cap_s=70.0, jitter=0.0)
    child = Flaky(failures=6)
    async with trio.open_nursery() as nursery:
        await nursery.start(
            supervise, ActorNode("r", "r"), "c", "w", child, RestartPolicy(1, 60.0, slow_backoff)
        )
        await trio.sleep(1000)
        assert len(child.starts) == 7  # 6 failures 70 s apart never exceed 1 per 60 s
        nursery.cancel_scope.cancel()


async def test_parent_waits_for_a_child_that_fails_before_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    child = Flaky(failures=2, before_ready=True)
    async with trio.open_nursery() as nursery:
        value = await nursery.start(
            supervise, ActorNode("r", "r"), "c", "w", child, RestartPolicy(5, 60.0, NO_JITTER)
        )
        assert value == "ready-3" and trio.current_time() == pytest.approx(3.0)
        nursery.cancel_scope.cancel()


async def test_child_that_returns_is_not_restarted(autojump_clock: trio.testing.MockClock) -> None:
    runs = 0

    async def once(node: ActorNode, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal runs
        runs += 1
        task_status.started()

    async with trio.open_nursery() as nursery:
        await nursery.start(supervise, ActorNode("r", "r"), "once", "w", once)
    assert runs == 1


async def test_cancellation_is_never_treated_as_failure(
    autojump_clock: trio.testing.MockClock,
) -> None:
    child = Flaky(failures=0)
    with trio.move_on_after(5):
        await supervise(ActorNode("r", "r"), "c", "w", child)
    assert len(child.starts) == 1
