"""What every market source is: an actor that pushes tick batches into a sink.

The simulator, Massive pollers and replay readers all implement ``MarketSource``; the
pipeline does not know which one feeds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import trio

from spotlight.market.bars import Bar
from spotlight.market.massive.models import OptionSnapshot
from spotlight.market.ticks import Tick
from spotlight.runtime.tree import ActorNode

__all__ = ["MarketSource", "TickSink"]

TickSink = Callable[[list[Tick]], Awaitable[None]]


class MarketSource(Protocol):
    kind: str  # "simulated", "massive", "replay": shown in diag

    async def backfill(self) -> Mapping[str, Sequence[Bar]]:
        """Past 1-minute bars to seed the pipeline before the first tick."""
        ...

    async def refresh(self, symbols: Sequence[str], ingest: Callable[[list[Tick]], None]) -> None:
        """Make the latest price of ``symbols`` current before a subscriber's snapshot.

        Sources that are always current (the simulator) do nothing; a polling source fetches
        what is stale, once for all concurrent callers, and hands it to ``ingest``.
        """
        ...

    async def option_chains(self) -> Mapping[str, tuple[int, list[OptionSnapshot]]]:
        """The latest option chain per underlying (``I:SPX``, ``SPY``), with its time (ms)."""
        ...

    def diag(self) -> dict[str, Any]:
        """Source-specific state for /api/diag (feeds, upstream status); may be empty."""
        ...

    async def run(
        self, node: ActorNode, *, sink: TickSink, task_status: trio.TaskStatus[None] = ...
    ) -> None: ...
