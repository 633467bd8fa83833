"""The Massive source's status: one ``SourceStatus`` from its feeds, published on change.

Price feeds decide live versus degraded. Backfill and options-chain problems show per feed
(diag, ``feeds``) without marking prices degraded: a plan without options data still has
perfectly live prices. A refused key is ``unauthorized`` whichever feed saw it first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import trio

from spotlight.domain.ticks import SourceStatus
from spotlight.market.poller import FeedState
from spotlight.market.source import TickSink
from spotlight.runtime.parking import Parking

__all__ = ["StatusBoard", "source_status"]

PRICE_FEEDS = ("prices", "indices")


def source_status(
    feeds: Mapping[str, FeedState], active: Sequence[str], market: str | None, now_ms: int
) -> SourceStatus:
    """The status from the feeds' states; ``active`` names the feeds with a running poller."""
    running = [feeds[n] for n in active]
    prices = [f for f in running if f.name in PRICE_FEEDS]
    states = tuple(sorted((n, f.state) for n, f in feeds.items()))
    unauthorized = [f for f in running if f.state == "unauthorized"]
    failing = [f for f in prices if f.state in ("degraded", "not-entitled")]
    if unauthorized:
        reason = f"MASSIVE_API_KEY was refused ({unauthorized[0].reason})"
        return SourceStatus("massive", "unauthorized", reason, states, now_ms)
    if failing:
        reason = f"{failing[0].name}: {failing[0].reason}"
        return SourceStatus("massive", "degraded", reason, states, now_ms)
    if market == "closed":
        return SourceStatus("massive", "closed", "market closed: polling slowed", states, now_ms)
    if not prices or any(f.state == "starting" for f in prices):
        return SourceStatus(
            "massive", "starting", "waiting for Massive's first answers", states, now_ms
        )
    if any(f.state == "delayed" for f in running):
        return SourceStatus(
            "massive", "delayed", "the plan covers delayed data only", states, now_ms
        )
    return SourceStatus("massive", "live", None, states, now_ms)


class StatusBoard:
    """Marks the status dirty on any feed change and publishes it when it really changed
    (state, reason or a feed's state): one ``status`` event per change, none per poll."""

    def __init__(self, current: Callable[[], SourceStatus]) -> None:
        self._current = current
        self._dirty = True
        self._wake = Parking()
        self._last: SourceStatus | None = None

    def changed(self) -> None:
        self._dirty = True
        self._wake.wake()

    async def run(
        self, sink: TickSink, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started()
        while True:
            if not self._dirty:
                await self._wake.park()
            self._dirty = False
            status = self._current()
            last = self._last
            if last is None or (status.state, status.reason, status.feeds) != (
                last.state,
                last.reason,
                last.feeds,
            ):
                self._last = status
                await sink([status])
