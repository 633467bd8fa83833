"""Supervision: restart a failed child with backoff, escalate when it keeps failing.

Policy (one-for-one, after Erlang/OTP): each child runs in its own nursery under
``supervise``. An ``Exception`` from the child is logged, recorded on its node and retried
after ``policy.backoff``; more than ``policy.max_restarts`` failures within
``policy.window_s`` seconds raise ``Escalation`` into the parent's nursery, where the parent's
own supervisor (or, at the root, the process) decides. A child that returns is done and is
not restarted. Cancellation (a ``BaseException``) is never caught: shutdown is always
honoured.

Readiness: the parent's ``await nursery.start(supervise, ...)`` returns only once the child
has called ``task_status.started(value)`` the first time, with that value; a child that fails
before it is ready is retried while the parent keeps waiting.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from spotlight.runtime.backoff import Backoff
from spotlight.runtime.tree import ActorNode

__all__ = ["ActorRun", "Escalation", "RestartPolicy", "describe", "supervise"]

log = logging.getLogger(__name__)


class ActorRun(Protocol):
    """The actor contract: run until done, call ``task_status.started(handle)`` when ready."""

    def __call__(
        self, node: ActorNode, *, task_status: trio.TaskStatus[Any] = ...
    ) -> Awaitable[None]: ...


class Escalation(Exception):
    """A child failed more than ``max_restarts`` times within ``window_s``."""


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    max_restarts: int = 5
    window_s: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)


def describe(exc: BaseException) -> str:
    """``Type: message`` of the real error, looking through nursery exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


async def supervise(
    parent: ActorNode,
    name: str,
    kind: str,
    run: ActorRun,
    policy: RestartPolicy | None = None,
    *,
    task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
) -> None:
    policy = policy or RestartPolicy()
    node = parent.child(name, kind)
    failures: deque[float] = deque()
    ready = False
    try:
        while True:
            node.state = "starting"
            try:
                async with trio.open_nursery() as nursery:
                    value = await nursery.start(run, node)
                    node.state = "running"
                    node.started_ms = int(trio.current_time() * 1000)
                    if not ready:
                        ready = True
                        task_status.started(value)
                node.state = "stopped"
                return
            except Exception as exc:
                now = trio.current_time()
                failures.append(now)
                while failures and failures[0] < now - policy.window_s:
                    failures.popleft()
                node.last_error = describe(exc)
                if len(failures) > policy.max_restarts:
                    node.state = "failed"
                    log.error(
                        "%s failed %d times in %.0fs; escalating",
                        name,
                        len(failures),
                        policy.window_s,
                    )
                    raise Escalation(
                        f"{name} failed {len(failures)} times within {policy.window_s:g}s; "
                        f"last error: {node.last_error}"
                    ) from exc
                delay = policy.backoff.delay(len(failures) - 1)
                log.warning(
                    "%s failed (%s); restart in %.2fs", name, node.last_error, delay, exc_info=exc
                )
                node.state = "restarting"
                node.restarts += 1
                await trio.sleep(delay)
    finally:
        node.detach()
