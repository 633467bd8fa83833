"""What every market source is: an actor that pushes tick batches into a sink.

The simulator, Massive pollers and replay readers all implement ``MarketSource``; the
pipeline does not know which one feeds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import trio

from spotlight.domain.bars import Bar
from spotlight.domain.options import OptionSnapshot
from spotlight.domain.ticks import Tick
from spotlight.runtime.tree import ActorNode

__all__ = ["ChainJob", "MarketSource", "TickSink", "chains_job"]

TickSink = Callable[[list[Tick]], Awaitable[None]]

ChainJob = tuple[Any, ...]
"""What the analytics price for GEX and flow: ``("chains", {underlying: [OptionSnapshot]},
{underlying: walk note})`` (the note says how the chain's pagination ended: pages, looped,
partial; older recordings have no third element), or for the simulator
``("sim", seed, start_ms, trades_per_second, hours)``, the recipe its analytics
worker builds the same chains from (so pricing thousands of contracts never runs on the event
loop and nothing large crosses the process boundary). Recordings store jobs as they are.
"""


def chains_job(
    chains: Mapping[str, tuple[int, Sequence[OptionSnapshot]]],
    notes: Mapping[str, Mapping[str, object]] | None = None,
) -> ChainJob:
    """The job for chains a source fetched: ``{underlying: (fetched at ms, contracts)}`` and
    how each one's walk ended."""
    return (
        "chains",
        {u: list(c) for u, (_, c) in chains.items()},
        {u: dict(n) for u, n in (notes or {}).items()},
    )


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

    async def chain_job(self) -> ChainJob | None:
        """What the analytics should price now, or None while there is no chain yet."""
        ...

    def diag(self) -> dict[str, Any]:
        """Source-specific state for /api/diag (feeds, upstream status); may be empty."""
        ...

    async def run(
        self, node: ActorNode, *, sink: TickSink, task_status: trio.TaskStatus[None] = ...
    ) -> None: ...
