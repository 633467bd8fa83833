"""The live analytics actor: runs the analytics engine's steps on their cadences.

Runs under the market supervisor next to the pipeline. Each cadence reads the wall clock,
gathers the inputs a step needs (spot prices, the source's option chains) and runs the step
on ``AnalyticsEngine`` (engine/analytics_engine.py), which publishes through the same hub as
ticks and bars: one sequence, one history, one resume rule for everything. A replay runs the
same engine from recorded steps instead of timers.

A bug in an engine raises out of here and the supervisor restarts the actor; missing inputs
(no chain yet, no SPX value yet) simply skip that channel's update.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import trio

from spotlight.engine.analytics_engine import AnalyticsEngine
from spotlight.engine.analytics_worker import worker_init
from spotlight.engine.pipeline import Pipeline
from spotlight.hub.hub import Hub
from spotlight.market.source import ChainJob, MarketSource
from spotlight.metrics import Metrics
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["AnalyticsActor", "ChannelCadence", "analytics_pool", "stop_pool"]


@dataclass(frozen=True, slots=True)
class ChannelCadence:
    gex_s: float = 15.0  # gex:SPX, gex:SPY (option chains change slowly; pricing costs ~0.2 s)
    levels_s: float = 5.0  # levels:update, clusters:update, regime:update
    basis_s: float = 1.0  # basis sampling; basis:update is published every 5 samples


def analytics_pool() -> ProcessPoolExecutor:
    """One worker process at lower priority: it keeps the per-engine state between calls,
    and dies with this process even when it is killed with SIGKILL (runtime/orphan.py)."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=mp.get_context("spawn"),
        initializer=worker_init,
        initargs=(os.getpid(),),
    )


def stop_pool(pool: Executor) -> None:
    """Stop a worker pool at once: pending jobs are cancelled and a job still running is
    stopped with its process. Analytics are recomputed on the next cadence, so nothing is
    lost, and a stopping server (or an ended replay) leaves no process burning CPU behind."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):  # already gone
            process.terminate()


class AnalyticsActor:
    def __init__(
        self,
        hub: Hub,
        pipeline: Pipeline,
        source: MarketSource,
        clock: WallClock,
        cadence: ChannelCadence | None = None,
        executor_factory: Callable[[], Executor] = analytics_pool,
        metrics: Metrics | None = None,
    ) -> None:
        self.hub = hub
        self.executor_factory = executor_factory
        self.pipeline = pipeline
        self.source = source
        self.clock = clock
        self.cadence = cadence or ChannelCadence()
        # The engine (and its state: coach memory, basis window, latest payloads) outlives
        # restarts of this actor; only the worker process is new after a restart.
        self.engine = AnalyticsEngine(hub, pipeline, metrics=metrics)

    @property
    def latest(self) -> dict[str, Any]:
        return self.engine.latest

    def stats(self) -> dict[str, Any]:
        """The actor's stats in /api/diag: channels published, option quotes refused."""
        return self.engine.stats()

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        pool = self.executor_factory()
        engine = self.engine
        engine.executor = pool
        node.stats = self.stats
        c = self.cadence
        engine.start(self.clock.now_ms())
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._every, c.gex_s, self._gex)
                nursery.start_soon(self._every, c.basis_s, self._basis)
                nursery.start_soon(self._every, c.levels_s, self._levels)
                task_status.started()
        finally:
            engine.executor = None
            stop_pool(pool)

    async def _every(self, interval_s: float, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            await step()
            await trio.sleep(interval_s)

    async def _gex(self) -> None:
        job = await self._chain_job()
        if job is None:
            return
        await self.engine.gex(self.clock.now_ms(), self.engine.spots(), job)

    async def _chain_job(self) -> ChainJob | None:
        return await self.source.chain_job()

    async def _basis(self) -> None:
        self.engine.sample_basis(self.clock.now_ms())
        await trio.lowlevel.checkpoint()

    async def _levels(self) -> None:
        self.engine.levels(self.clock.now_ms())
        await trio.lowlevel.checkpoint()
