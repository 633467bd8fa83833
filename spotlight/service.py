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
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio

from spotlight.analytics.channels import CHANNELS
from spotlight.auth.access import Access
from spotlight.clients.connections import ConnectionTable, default_max_connections
from spotlight.clients.flusher import Flusher
from spotlight.clients.session import ClientRegistry
from spotlight.config import Settings
from spotlight.engine.analytics_actor import AnalyticsActor, ChannelCadence, analytics_pool
from spotlight.engine.channel_states import channel_states, channel_view
from spotlight.engine.feed import Feed
from spotlight.engine.leader import LeaderLease
from spotlight.engine.mirror import StreamMirror
from spotlight.engine.pipeline import Pipeline
from spotlight.engine.supervisor import MarketSupervisor
from spotlight.hub.backend_redis import RedisBackend, RedisConfig, new_node_id
from spotlight.hub.epoch import Epoch
from spotlight.hub.history import History
from spotlight.hub.hub import Hub
from spotlight.market.massive.budget import RequestBudget
from spotlight.market.massive.client import MassiveClient
from spotlight.market.massive.source import MassiveCadence, MassiveSource
from spotlight.market.simulated_source import SimulatedSource
from spotlight.market.simulator import MarketSimulator, SimulatorConfig
from spotlight.market.source import MarketSource
from spotlight.metrics import Metrics
from spotlight.protocol.topics import STATUS_TOPIC
from spotlight.recording.recorder import Recorder, RecorderConfig, SegmentCapture
from spotlight.recording.store import RecordingStore
from spotlight.replay.manager import ReplayManager
from spotlight.runtime.clock import SystemClock, WallClock
from spotlight.runtime.gc_policy import apply_gc_policy
from spotlight.runtime.supervisor import RestartPolicy, supervise
from spotlight.runtime.tree import ActorNode
from spotlight.voice.coach import VoiceCoach

__all__ = ["SpotlightService"]

log = logging.getLogger(__name__)

# 1-minute bars per symbol saved at the start of each recording segment: the previous
# sessions' levels and a full chart for a replay (~3 days).
RECORDED_HISTORY_MINUTES = 3 * 1440


class SpotlightService:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: WallClock | None = None,
        restart_policy: RestartPolicy | None = None,
        executor_factory: Callable[[], Executor] = analytics_pool,
        massive_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        # How the Massive client reaches Massive: None is the network; tests pass the shipped
        # fake as an ``httpx.MockTransport`` (spotlight/testing/fake_massive.py).
        self.massive_transport = massive_transport
        # Runs the heavy analytics (a worker process; tests may pass an in-process executor).
        self.executor_factory = executor_factory
        # How the market supervisor and its children restart before escalating (tests shrink it).
        self.restart_policy = restart_policy or RestartPolicy(max_restarts=3, window_s=60.0)
        self.clock: WallClock = clock or SystemClock()
        self.metrics = Metrics()
        # Every open TCP connection: caps, eviction, failure reports (clients/connections.py).
        self.connections = ConnectionTable(
            settings.server.max_connections
            or default_max_connections(resource.getrlimit(resource.RLIMIT_NOFILE)[0]),
            settings.server.max_connections_per_address,
            self.metrics,
        )
        self.node_id = settings.redis.node_id or new_node_id(socket.gethostname(), os.getpid())
        # The Redis backend (docs/scaling.md) when SPOTLIGHT_REDIS_URL is set; else the hub's
        # own memory backend. With Redis the epoch below is a placeholder: the stream's epoch
        # is adopted from Redis before the server is ready.
        self.redis: RedisBackend | None = None
        if settings.redis.url:
            self.redis = RedisBackend(
                RedisConfig(
                    url=settings.redis.url,
                    prefix=settings.redis.prefix,
                    node_id=self.node_id,
                    max_events=settings.hub.history_events,
                    max_age_s=settings.hub.history_seconds,
                    timeout_s=settings.redis.timeout_s,
                    outbound_events=settings.redis.outbound_events,
                ),
                on_state=self._on_backend_state,
                on_epoch_change=self._on_epoch_change,
                on_foreign=lambda e: self.mirror.apply(e),
            )
            self.metrics.watch_hub_backend(self.redis.stats)
        self.hub = Hub(
            Epoch.new(self.clock.now_ms()),
            History(
                settings.hub.history_events,
                settings.hub.history_seconds,
                settings.hub.history_mb << 20,
            ),
            trio.current_time,
            on_publish=lambda e: self.metrics.count_published(e.type),
            backend=self.redis,
        )
        self.tree = ActorNode("spotlight", "root")
        hub_node = self.tree.child("hub", "hub")
        hub_node.state = "running"
        hub_node.stats = self.hub.stats
        self.clients = ClientRegistry(self.tree.child("clients", "registry"))
        self.clients.node.state = "running"
        self.clients.node.stats = lambda: {
            "connections": len(self.clients),
            "sharedChunks": self.clients.groups.stats(),
        }
        self.metrics.watch_queues(self.clients.queue_depths)
        # Client nodes are skipped: one series per connection would be unbounded cardinality.
        self.metrics.watch_actors(
            lambda: ((n.name, n.restarts) for n in self.tree.walk(skip_kind_prefix="client:"))
        )
        self.pipeline = Pipeline(
            "live",
            self.hub,
            settings.market.symbols,
            settings.market.bar_buffer_minutes,
            self.metrics,
        )
        # A follower's state from the leader's events (Redis only); latest analytics payloads
        # go where the analytics actor keeps its own, so a takeover starts from them.
        self._mirrored_latest: dict[str, Any] = {}
        self.mirror = StreamMirror(self.pipeline, self._mirrored_latest)
        self.lease: LeaderLease | None = None
        self.source_kind, self.source_reason = settings.market_source
        self.access = Access(settings)
        self.started_monotonic = time.monotonic()
        self.ready = False
        self.shutting_down = False
        self.gc: dict[str, object] = {}
        self.source: MarketSource | None = None
        self.analytics: AnalyticsActor | None = None
        self.live = Feed("live", self.hub, self.pipeline, self._channel_view, self._refresh)
        self.recordings = RecordingStore(Path(settings.server.data_dir) / "recordings")
        self.recorder: Recorder | None = None
        if settings.recording.enabled:
            self.recorder = Recorder(
                self.recordings,
                self.clock,
                self.epoch.id,
                self._capture,
                RecorderConfig(
                    keep_days=settings.recording.days,
                    max_bytes=settings.recording.max_mb << 20,
                    fsync=settings.recording.fsync,
                ),
            )
            self.pipeline.on_batch = self.recorder.append
            self.metrics.watch_recorder(self.recorder.stats)
        self.voice = VoiceCoach(settings, self.metrics, self.clock.now_ms)
        self.replays = ReplayManager(
            settings,
            self.clock,
            self.metrics,
            self.recordings,
            self.pipeline,
            lambda: self.source,
            executor_factory,
        )

    @property
    def epoch(self) -> Epoch:
        """The live stream's epoch (with Redis: the shared stream's, which can change)."""
        return self.hub.epoch

    @property
    def degraded(self) -> bool:
        """With Redis: this node cannot see the shared stream right now (docs/scaling.md)."""
        return self.redis is not None and self.redis.state != "ok"

    def _on_backend_state(self, state: str, reason: str | None) -> None:
        """Tell every live stream that the node lost (or regained) the shared stream.

        No sequenced event can be published without Redis, so this is an unsequenced
        ``status`` notice (Hub.notify): the market's last known status, with ``state``
        "degraded" and the reason, and the ``hub`` feed's state. Nothing else is made up:
        the market data simply stops until the reader catches up, exactly, from where it was.
        """
        if state == "starting":
            return
        base = self.pipeline.status.to_json() if self.pipeline.status is not None else {}
        feeds = dict(base.get("feeds") or {})  # type: ignore[call-overload]
        feeds["hub"] = "ok" if state == "ok" else "degraded"
        payload: dict[str, object] = {
            "source": base.get("source", self.source_kind),
            "state": base.get("state", "live") if state == "ok" else "degraded",
            "reason": base.get("reason") if state == "ok" else reason,
            "feeds": feeds,
            "t": self.clock.now_ms(),
        }
        self.hub.notify("status", STATUS_TOPIC, payload)

    def _on_epoch_change(self, reason: str) -> None:
        """The shared stream started over (or must be reloaded): close every live stream so
        it reconnects and resumes (``reset`` with ``epoch-changed`` when the epoch is new)."""
        n = 0
        for sub in self.hub.subscribers():
            close = getattr(sub, "close", None)
            if close is not None:
                close(reason)
                n += 1
        log.warning("hub: %s: %d live streams told to reconnect", reason, n)

    def _channel_view(self) -> dict[str, Any]:
        """Snapshots' channels: the newest payloads, warming markers for the rest."""
        now = self.clock.now_ms()
        if self.analytics is None:
            # A Redis follower before its analytics exist: what it mirrored so far.
            return channel_view(CHANNELS, self._mirrored_latest, None, now)
        return self.analytics.engine.channel_view(now)

    def analytics_health(self) -> dict[str, Any]:
        """For /health: ``state`` warming (some channel has no first value yet), waiting (some
        still has none a minute after start: inputs missing upstream) or ready."""
        now = self.clock.now_ms()
        if self.analytics is None:
            states = channel_states(CHANNELS, {}, None, now)
        else:
            states = self.analytics.engine.channel_states(now)
        warming = sorted(c for c, s in states.items() if s == "warming")
        waiting = sorted(c for c, s in states.items() if s == "waiting")
        state = "warming" if warming else "waiting" if waiting else "ready"
        return {"state": state, "warming": warming, "waiting": waiting}

    def feed(self, replay: str | None) -> Feed:
        """The live feed, or the replay ``replay`` (``FeedNotFound`` if there is none)."""
        if replay is None:
            return self.live
        return self.replays.feed(replay)

    async def _refresh(self, symbols: Sequence[str]) -> None:
        if self.source is not None:
            await self.source.refresh(symbols, self.pipeline.ingest)

    def _capture(self) -> SegmentCapture:
        """The live state a recording segment starts from (docs/replay.md)."""
        p = self.pipeline
        latest = self.analytics.latest if self.analytics is not None else {}
        return SegmentCapture(
            header={
                "version": 1,
                "epoch": self.epoch.id,
                "source": self.source_kind,
                "symbols": list(p.symbols),
            },
            bars={s: b.history("1m", RECORDED_HISTORY_MINUTES) for s, b in p.bars.items()},
            last_trades=list(p.last_trade.values()),
            last_quotes=list(p.last_quote.values()),
            status=p.status,
            analytics={"gex:SPX": latest["gex:SPX"]} if "gex:SPX" in latest else {},
        )

    @asynccontextmanager
    async def open_source(self) -> AsyncIterator[MarketSource]:
        """The market source for this run: Massive when MASSIVE_API_KEY is set, else the
        simulator. Never both, and never a fallback from one to the other."""
        s = self.settings
        if self.source_kind == "massive":
            assert s.massive.api_key is not None
            client = MassiveClient(
                s.massive.api_key,
                base_url=s.massive.base_url,
                transport=self.massive_transport,
                budget=RequestBudget.for_plan(s.massive.plan),
                max_retries=s.massive.max_retries,
                timeout_s=s.massive.timeout_s,
                on_request=self.metrics.count_massive_request,
                on_empty=lambda endpoint: self.metrics.massive_empty.labels(endpoint).inc(),
                on_walk=self.metrics.count_walk_stop,
            )
            async with client:
                yield MassiveSource(
                    client,
                    s.market.symbols,
                    self.clock,
                    MassiveCadence(
                        prices_s=s.massive.prices_s,
                        status_s=s.massive.status_s,
                        chain_s=s.massive.chain_s,
                        bars_s=s.massive.bars_s,
                    ),
                )
            return
        sim = MarketSimulator(
            SimulatorConfig(
                seed=s.simulator.seed,
                symbols=s.market.symbols,
                trades_per_second=s.simulator.trades_per_second,
                history_days=s.simulator.history_days,
                hours="always" if s.simulator.hours == "always" else "exchange",
            ),
            # With Redis every node simulates the same market: the path is a function of the
            # seed and the start, and the start is the shared epoch's.
            start_ms=self.hub.epoch.start_ms if self.redis is not None else self.clock.now_ms(),
        )
        yield SimulatedSource(sim, s.simulator.burst_ms, self.clock)

    async def run(
        self, *, task_status: trio.TaskStatus[SpotlightService] = trio.TASK_STATUS_IGNORED
    ) -> None:
        async with trio.open_nursery() as nursery:
            if self.redis is not None:
                # Connected and synced (epoch, history window) before anything else starts.
                await nursery.start(
                    supervise,
                    self.tree,
                    "redis",
                    "hub-backend",
                    partial(self.redis.run, self.hub),
                )
            async with self.open_source() as source:
                self.source = source
                history = await source.backfill()
                self.pipeline.load_history(history)
                del history
                if self.redis is not None and isinstance(source, SimulatedSource):
                    # The shared market path up to now: the same bars as the leader's.
                    self.pipeline.warm(await source.catch_up(self.clock.now_ms()))
                self.mirror.enabled = True
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
            ChannelCadence(gex_s=s.analytics.gex_s, levels_s=s.analytics.levels_s),
            self.executor_factory,
            metrics=self.metrics,
        )
        # A follower's mirrored channels land in the engine's own ``latest``: snapshots read
        # them, and a takeover's analytics start from them.
        self.analytics.engine.latest.update(self._mirrored_latest)
        self.mirror.latest = self.analytics.engine.latest
        if self.recorder is not None:
            self.analytics.engine.on_step = self.recorder.append
        market = MarketSupervisor(
            self.pipeline, source, self.source_reason, self.restart_policy, self.analytics
        )
        flusher = Flusher(lambda exc: self.connections.report("stream", "error", "?", [exc]))
        self.tree.state = "running"
        inputs_done = trio.Event()
        if self.recorder is not None:
            self.recorder.inputs_done = inputs_done

        async def run_market(
            *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
        ) -> None:
            # The recorder's last flush waits for this: everything ingested is recorded.
            try:
                if self.redis is None:
                    await supervise(
                        self.tree,
                        "market",
                        "supervisor",
                        market.run,
                        self.restart_policy,
                        task_status=task_status,
                    )
                else:
                    self.lease = LeaderLease(
                        self.redis,
                        s.redis.lease_ttl_s,
                        market.run,
                        self.restart_policy,
                        partial(self._before_leading, source),
                    )
                    await supervise(
                        self.tree,
                        "leader",
                        "lease",
                        self.lease.run,
                        self.restart_policy,
                        task_status=task_status,
                    )
            finally:
                inputs_done.set()

        try:
            async with trio.open_nursery() as nursery:
                if self.recorder is not None:
                    await nursery.start(
                        supervise, self.tree, "recorder", "recorder", self.recorder.run
                    )
                await nursery.start(supervise, self.tree, "replays", "manager", self.replays.run)
                await nursery.start(run_market)
                await nursery.start(supervise, self.tree, "flusher", "flusher", flusher.run)
                self.clients.flusher = flusher
                await nursery.start(
                    supervise,
                    self.tree,
                    "heartbeats",
                    "ticker",
                    partial(self.clients.run_heartbeats, self.settings.streams.heartbeat_s),
                )
                self.ready = True
                task_status.started(self)
        finally:
            self.clients.flusher = None
            self.ready = False
            self.tree.state = "stopped"

    async def _before_leading(self, source: MarketSource) -> None:
        """A node taking over the market starts at the present (see SimulatedSource)."""
        if isinstance(source, SimulatedSource):
            await source.catch_up(self.clock.now_ms())

    def scale_out(self) -> dict[str, Any]:
        """The backend, this node and its role, for /api/diag and /health."""
        if self.redis is None:
            return {"backend": "memory", "node": self.node_id}
        return {
            "backend": "redis",
            "node": self.node_id,
            **self.redis.health(),
            "lease": self.lease.stats() if self.lease is not None else None,
            "mirror": self.mirror.stats(),
        }

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
            "scaleOut": self.scale_out(),
            "market": {
                "source": self.source_kind,
                "reason": self.source_reason,
                **(self.source.diag() if self.source is not None else {}),
            },
            "access": self.access.diag(),
            "connections": self.connections.stats(),
            "uptimeS": round(self.uptime_s(), 3),
            "ready": self.ready,
            "shuttingDown": self.shutting_down,
            "memory": {**_memory(), "gc": {**self.gc, "counts": list(gc.get_count())}},
            "hub": self.hub.stats(),
            "pipeline": self.pipeline.stats(),
            "recording": {
                "enabled": self.recorder is not None,
                "dir": str(self.recordings.root),
                **(self.recorder.stats() if self.recorder is not None else {}),
            },
            "replays": self.replays.diag(),
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
