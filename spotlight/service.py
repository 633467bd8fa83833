"""The root actor: builds one server's hub, pipeline, clients and market supervisor.

``server.serve`` starts ``SpotlightService.run`` in its root nursery, so every task the
service owns lives under that nursery and ends with it, and a failure that escalates to the
root stops the server instead of leaving it up without data. It holds no module globals:
tests run several side by side.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import trio

from spotlight.clients.flusher import Flusher
from spotlight.clients.session import ClientRegistry
from spotlight.config import Settings
from spotlight.hub.epoch import Epoch
from spotlight.hub.history import History
from spotlight.hub.hub import Hub
from spotlight.market.analytics_actor import AnalyticsActor, ChannelCadence
from spotlight.market.massive.budget import RequestBudget
from spotlight.market.massive.client import MassiveClient
from spotlight.market.massive.source import MassiveCadence, MassiveSource
from spotlight.market.simulated_source import SimulatedSource
from spotlight.market.simulator import MarketSimulator, SimulatorConfig
from spotlight.market.source import MarketSource
from spotlight.market.supervisor import MarketSupervisor
from spotlight.metrics import Metrics
from spotlight.pipeline import Pipeline
from spotlight.runtime.clock import SystemClock, WallClock
from spotlight.runtime.gc_policy import apply_gc_policy
from spotlight.runtime.supervisor import RestartPolicy, supervise
from spotlight.runtime.tree import ActorNode
from spotlight.web.access import Access

__all__ = ["SpotlightService"]

log = logging.getLogger(__name__)


class SpotlightService:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: WallClock | None = None,
        restart_policy: RestartPolicy | None = None,
    ) -> None:
        self.settings = settings
        # How the market supervisor and its children restart before escalating (tests shrink it).
        self.restart_policy = restart_policy or RestartPolicy(max_restarts=3, window_s=60.0)
        self.clock: WallClock = clock or SystemClock()
        self.metrics = Metrics()
        self.epoch = Epoch.new(self.clock.now_ms())
        self.hub = Hub(
            self.epoch,
            History(settings.history_events, settings.history_seconds),
            trio.current_time,
            on_publish=lambda e: self.metrics.count_published(e.type),
        )
        self.tree = ActorNode("spotlight", "root")
        hub_node = self.tree.child("hub", "hub")
        hub_node.state = "running"
        hub_node.stats = self.hub.stats
        self.clients = ClientRegistry(self.tree.child("clients", "registry"))
        self.clients.node.state = "running"
        self.clients.node.stats = lambda: {"connections": len(self.clients)}
        self.metrics.watch_queues(self.clients.queue_depths)
        # Client nodes are skipped: one series per connection would be unbounded cardinality.
        self.metrics.watch_actors(
            lambda: ((n.name, n.restarts) for n in self.tree.walk(skip_kind_prefix="client:"))
        )
        self.pipeline = Pipeline(
            "live", self.hub, settings.symbols, settings.bar_buffer_minutes, self.metrics
        )
        self.source_kind, self.source_reason = settings.market_source
        self.access = Access(settings)
        self.started_monotonic = time.monotonic()
        self.ready = False
        self.shutting_down = False
        self.gc: dict[str, object] = {}
        self.source: MarketSource | None = None
        self.analytics: AnalyticsActor | None = None

    @asynccontextmanager
    async def open_source(self) -> AsyncIterator[MarketSource]:
        """The market source for this run: Massive when MASSIVE_API_KEY is set, else the
        simulator. Never both, and never a fallback from one to the other."""
        s = self.settings
        if self.source_kind == "massive":
            assert s.massive_api_key is not None
            client = MassiveClient(
                s.massive_api_key,
                base_url=s.massive_base_url,
                budget=RequestBudget.for_plan(s.massive_plan),
                max_retries=s.massive_max_retries,
                timeout_s=s.massive_timeout_s,
                on_request=self.metrics.count_massive_request,
                on_empty=lambda endpoint: self.metrics.massive_empty.labels(endpoint).inc(),
            )
            async with client:
                yield MassiveSource(
                    client,
                    s.symbols,
                    self.clock,
                    MassiveCadence(
                        prices_s=s.massive_prices_s,
                        status_s=s.massive_status_s,
                        chain_s=s.massive_chain_s,
                        bars_s=s.massive_bars_s,
                    ),
                )
            return
        sim = MarketSimulator(
            SimulatorConfig(
                seed=s.seed,
                symbols=s.symbols,
                trades_per_second=s.trades_per_second,
                history_days=s.sim_history_days,
            ),
            start_ms=self.clock.now_ms(),
        )
        yield SimulatedSource(sim, s.sim_burst_ms, self.clock)

    async def run(
        self, *, task_status: trio.TaskStatus[SpotlightService] = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with self.open_source() as source:
            self.source = source
            history = await source.backfill()
            self.pipeline.load_history(history)
            del history
            self.gc = apply_gc_policy()
            await self._run_with(source, task_status)

    async def _run_with(
        self, source: MarketSource, task_status: trio.TaskStatus[SpotlightService]
    ) -> None:
        s = self.settings
        self.analytics = AnalyticsActor(
            self.hub,
            self.pipeline,
            source,
            self.clock,
            ChannelCadence(gex_s=s.gex_s, levels_s=s.levels_s),
        )
        market = MarketSupervisor(
            self.pipeline, source, self.source_reason, self.restart_policy, self.analytics
        )
        flusher = Flusher()
        self.tree.state = "running"
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(
                    supervise,
                    self.tree,
                    "market",
                    "supervisor",
                    market.run,
                    self.restart_policy,
                )
                await nursery.start(supervise, self.tree, "flusher", "flusher", flusher.run)
                self.clients.flusher = flusher
                await nursery.start(
                    supervise,
                    self.tree,
                    "heartbeats",
                    "ticker",
                    partial(self.clients.run_heartbeats, self.settings.heartbeat_s),
                )
                self.ready = True
                task_status.started(self)
        finally:
            self.clients.flusher = None
            self.ready = False
            self.tree.state = "stopped"

    def begin_shutdown(self) -> int:
        """Tell every streaming client to reconnect; returns how many were told."""
        self.shutting_down = True
        n = self.clients.close_all("shutdown")
        log.info("shutdown: told %d streaming clients to reconnect", n)
        return n

    def uptime_s(self) -> float:
        return time.monotonic() - self.started_monotonic

    def diag(self, *, max_clients: int = 200) -> dict[str, Any]:
        clients = list(self.clients)
        return {
            "timestamp": self.clock.now_ms(),
            "epoch": self.epoch.to_json(),
            "market": {
                "source": self.source_kind,
                "reason": self.source_reason,
                **(self.source.diag() if self.source is not None else {}),
            },
            "access": self.access.diag(),
            "uptimeS": round(self.uptime_s(), 3),
            "ready": self.ready,
            "shuttingDown": self.shutting_down,
            "memory": {**_memory(), "gc": {**self.gc, "counts": list(gc.get_count())}},
            "hub": self.hub.stats(),
            "pipeline": self.pipeline.stats(),
            "actors": self.tree.to_json(max_children=max_clients),
            "clients": {
                "count": len(clients),
                "shown": min(len(clients), max_clients),
                "list": [c.stats() for c in clients[:max_clients]],
            },
        }


def _memory() -> dict[str, Any]:
    out: dict[str, Any] = {"pid": os.getpid()}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out["rssBytes" if key == "VmRSS" else "peakRssBytes"] = (
                        int(value.split()[0]) * 1024
                    )
    except OSError:  # not Linux: fall back to the peak only
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out["peakRssBytes"] = peak if sys.platform == "darwin" else peak * 1024
    return out
