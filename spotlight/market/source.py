"""What every market source is: an actor that pushes tick batches into a sink.

The simulator, Massive pollers and replay readers all implement ``MarketSource``; the
pipeline does not know which one feeds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import trio

from spotlight.market.bars import Bar
from spotlight.market.ticks import Tick
from spotlight.runtime.tree import ActorNode

__all__ = ["MarketSource", "TickSink"]

TickSink = Callable[[list[Tick]], Awaitable[None]]


class MarketSource(Protocol):
    kind: str  # "simulated", "massive", "replay": shown in diag

    async def backfill(self) -> Mapping[str, Sequence[Bar]]:
        """Past 1-minute bars to seed the pipeline before the first tick."""
        ...

    def diag(self) -> dict[str, Any]:
        """Source-specific state for /api/diag (feeds, upstream status); may be empty."""
        ...

    async def run(
        self, node: ActorNode, *, sink: TickSink, task_status: trio.TaskStatus[None] = ...
    ) -> None: ...
