"""One upstream feed polled on its own cadence, with its state visible to people.

A ``Poller`` runs ``fetch`` every ``interval()`` seconds and classifies what happens, so a
failing upstream never crashes anything and never goes unnoticed:

- success: state ``ok`` (or ``delayed`` when the data came back as delayed), failures reset;
- ``MassiveAuthError`` (401): ``unauthorized``, a configuration error; checked again only
  every ``UNAUTHORIZED_RECHECK_S`` (a refused key does not fix itself);
- ``MassiveNotEntitledError`` (403): ``not-entitled``; not retried hot, rechecked every
  ``NOT_ENTITLED_RECHECK_S`` (a plan upgrade is noticed without a restart);
- any other ``MassiveError`` (after the client's own retries): ``degraded``, retried with
  capped, jittered backoff, and back to ``ok`` by itself when upstream recovers.

Each change calls ``on_change`` so the source can tell clients (a ``status`` event). A bug in
``fetch`` (any other exception) propagates to the supervisor, which restarts the poller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from spotlight.market.massive.errors import (
    MassiveAuthError,
    MassiveError,
    MassiveNotEntitledError,
)
from spotlight.runtime.backoff import Backoff
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["FeedState", "Poller"]

UNAUTHORIZED_RECHECK_S = 300.0
NOT_ENTITLED_RECHECK_S = 600.0


@dataclass
class FeedState:
    name: str
    state: str = "starting"  # starting | ok | delayed | degraded | not-entitled | unauthorized
    reason: str | None = None
    last_success_ms: int | None = None
    last_error: str | None = None
    failures: int = 0  # consecutive
    successes: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "state": self.state,
            "reason": self.reason,
            "lastSuccessMs": self.last_success_ms,
            "lastError": self.last_error,
            "failures": self.failures,
            "successes": self.successes,
        }


class Poller:
    def __init__(
        self,
        feed: FeedState,
        fetch: Callable[[], Awaitable[bool]],
        interval: Callable[[], float],
        clock: WallClock,
        on_change: Callable[[], None],
        backoff: Backoff | None = None,
    ) -> None:
        """``fetch`` returns True when the data it got was delayed (plan-limited)."""
        self.feed = feed
        self.fetch = fetch
        self.interval = interval
        self.clock = clock
        self.on_change = on_change
        self.backoff = backoff or Backoff(base_s=1.0, factor=2.0, cap_s=60.0, jitter=0.5)

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = self.feed.to_json
        task_status.started()
        while True:  # noqa: ASYNC110 - polling on a cadence is the point of this actor
            await trio.sleep(await self.poll_once())

    async def poll_once(self) -> float:
        """One fetch; returns how long to wait before the next."""
        feed = self.feed
        try:
            delayed = await self.fetch()
        except MassiveAuthError as exc:
            self._fail("unauthorized", exc)
            return UNAUTHORIZED_RECHECK_S
        except MassiveNotEntitledError as exc:
            self._fail("not-entitled", exc)
            return NOT_ENTITLED_RECHECK_S
        except MassiveError as exc:
            self._fail("degraded", exc)
            return max(self.interval(), self.backoff.delay(feed.failures - 1))
        before = (feed.state, feed.reason)
        feed.state = "delayed" if delayed else "ok"
        feed.reason = "plan covers delayed data only" if delayed else None
        feed.failures = 0
        feed.successes += 1
        feed.last_success_ms = self.clock.now_ms()
        if (feed.state, feed.reason) != before:
            self.on_change()
        return self.interval()

    def _fail(self, state: str, exc: MassiveError) -> None:
        feed = self.feed
        before = (feed.state, feed.reason)
        feed.failures += 1
        feed.state = state
        feed.last_error = str(exc)
        feed.reason = str(exc)[:200]
        if (feed.state, feed.reason) != before:
            self.on_change()
