"""Every Prometheus metric, declared once, on a registry owned by one server instance.

A registry per instance (not prometheus-client's global one) lets tests run several servers
in one process and lets replay pipelines (later) keep their own numbers. Label values are a
small closed set (event type, transport, reason); children are bound once where they are used,
never per event. Queue depths of individual clients are summarized at scrape time (max and
total per transport) instead of one series per client, which would be unbounded cardinality.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from spotlight.market.massive.client import RequestRecord
from spotlight.market.massive.pagination import Walk

__all__ = ["Metrics", "WriteStats"]

# Publish-to-write latency buckets (seconds): sub-millisecond resolution where the target
# lives (p99 <= 20 ms), coarse above it.
# fmt: off
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.025,
    0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)
# fmt: on
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class WriteStats:
    """Per-transport write statistics: updated on every socket write, exported at scrape.

    Plain integer and list updates, no lock: prometheus-client's Counter and Histogram take a
    mutex per update, which cost ~8% of the server's CPU at 10,000 writes/s (three updates per
    write). The server is single-threaded (Trio), so scrapes and updates never interleave.
    """

    __slots__ = (
        "batch_buckets",
        "batch_sum",
        "delivered",
        "latency_buckets",
        "latency_sum",
        "writes",
    )

    def __init__(self) -> None:
        self.delivered = 0  # events written
        self.writes = 0  # socket writes (each carries a batch)
        self.batch_buckets = [0] * (len(_BATCH_BUCKETS) + 1)  # last slot: +Inf
        self.batch_sum = 0
        self.latency_buckets = [0] * (len(_LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def record(self, events: int, latency_s: float) -> None:
        """One completed write of ``events`` events, the oldest published ``latency_s`` ago."""
        self.delivered += events
        self.writes += 1
        self.batch_buckets[bisect_left(_BATCH_BUCKETS, events)] += 1
        self.batch_sum += events
        self.latency_buckets[bisect_left(_LATENCY_BUCKETS, latency_s)] += 1
        self.latency_sum += latency_s

    def record_many(self, events: int, latency_s: float, writes: int) -> None:
        """``writes`` completed writes of the same ``events`` (a shared chunk's pass)."""
        self.delivered += events * writes
        self.writes += writes
        self.batch_buckets[bisect_left(_BATCH_BUCKETS, events)] += writes
        self.batch_sum += events * writes
        self.latency_buckets[bisect_left(_LATENCY_BUCKETS, latency_s)] += writes
        self.latency_sum += latency_s * writes


def _cumulative(bounds: tuple[float, ...], counts: list[int]) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    total = 0
    for bound, n in zip([*map(str, bounds), "+Inf"], counts, strict=True):
        total += n
        out.append((bound, total))
    return out


class _WriteCollector(Collector):
    def __init__(self, stats: dict[str, WriteStats]) -> None:
        self._stats = stats  # {transport: WriteStats}

    def collect(self) -> Iterator[Metric]:
        delivered = CounterMetricFamily(
            "spotlight_events_delivered",
            "Events written to client sockets, by transport",
            labels=["transport"],
        )
        batch = HistogramMetricFamily(
            "spotlight_client_write_batch_events",
            "Events per socket write (the batching lever)",
            labels=["transport"],
        )
        latency = HistogramMetricFamily(
            "spotlight_publish_to_write_seconds",
            "From hub publish to the completed socket write, for the oldest event of each write",
            labels=["transport"],
        )
        for transport, st in sorted(self._stats.items()):
            delivered.add_metric([transport], st.delivered)
            batch.add_metric(
                [transport], _cumulative(_BATCH_BUCKETS, st.batch_buckets), st.batch_sum
            )
            latency.add_metric(
                [transport], _cumulative(_LATENCY_BUCKETS, st.latency_buckets), st.latency_sum
            )
        yield delivered
        yield batch
        yield latency


class _QueueCollector(Collector):
    def __init__(self, source: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
        self._source = source  # yields (transport, queued_events, queued_bytes) per client

    def collect(self) -> Iterator[GaugeMetricFamily]:
        events = GaugeMetricFamily(
            "spotlight_client_queue_events",
            "Events queued per client right now, summarized per transport (stat=max|sum)",
            labels=["transport", "stat"],
        )
        nbytes = GaugeMetricFamily(
            "spotlight_client_queue_bytes",
            "Bytes queued per client right now, summarized per transport (stat=max|sum)",
            labels=["transport", "stat"],
        )
        agg: dict[str, list[int]] = {}
        for transport, n, b in self._source():
            a = agg.setdefault(transport, [0, 0, 0, 0])
            a[0] = max(a[0], n)
            a[1] += n
            a[2] = max(a[2], b)
            a[3] += b
        for transport, (nmax, nsum, bmax, bsum) in sorted(agg.items()):
            events.add_metric([transport, "max"], nmax)
            events.add_metric([transport, "sum"], nsum)
            nbytes.add_metric([transport, "max"], bmax)
            nbytes.add_metric([transport, "sum"], bsum)
        yield events
        yield nbytes


class _RestartCollector(Collector):
    def __init__(self, source: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self._source = source  # yields (actor name, restarts) for long-lived actors

    def collect(self) -> Iterator[Metric]:
        fam = CounterMetricFamily(
            "spotlight_actor_restarts",
            "Restarts of each supervised actor since start",
            labels=["actor"],
        )
        for name, restarts in self._source():
            fam.add_metric([name], restarts)
        yield fam


class _RecorderCollector(Collector):
    _COUNTERS = (
        ("records", "spotlight_recording_records", "Records appended to the recording"),
        ("dropped", "spotlight_recording_dropped", "Records dropped: the recording fell behind"),
        ("errors", "spotlight_recording_errors", "Recording write or prune failures"),
        ("bytesWritten", "spotlight_recording_bytes", "Bytes written to the recording"),
    )

    def __init__(self, stats: Callable[[], dict[str, object]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        for key, name, doc in self._COUNTERS:
            value = stats.get(key)
            if isinstance(value, int):
                yield CounterMetricFamily(name, doc, value=value)


class _HubBackendCollector(Collector):
    """The Redis backend's counters (docs/operations.md), read from it at scrape time."""

    _COUNTERS = (
        ("published", "spotlight_redis_published", "Events this node published to Redis"),
        ("delivered", "spotlight_redis_delivered", "Events this node's reader delivered"),
        ("duplicates", "spotlight_redis_duplicates", "Stream entries dropped as duplicates"),
        ("gaps", "spotlight_redis_gaps", "Sequence gaps the reader detected"),
        ("gapsRepaired", "spotlight_redis_gaps_repaired", "Gaps repaired from the stream"),
        ("gapEvents", "spotlight_redis_gap_events", "Events fetched to repair gaps"),
        ("resyncs", "spotlight_redis_resyncs", "Times the node re-synced with the stream"),
        ("epochChanges", "spotlight_redis_epoch_changes", "New epochs adopted (data loss)"),
        ("reconnects", "spotlight_redis_reconnects", "Reconnections to Redis"),
    )

    def __init__(self, stats: Callable[[], dict[str, object]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        for key, name, doc in self._COUNTERS:
            value = stats.get(key)
            if isinstance(value, int):
                yield CounterMetricFamily(name, doc, value=value)
        dropped = CounterMetricFamily(
            "spotlight_redis_dropped",
            "Events not published to Redis, by reason (not-leader, overflow, stale, fenced, "
            "epoch-changed, deposed)",
            labels=["reason"],
        )
        for reason, n in dict(stats.get("dropped") or {}).items():  # type: ignore[call-overload]
            dropped.add_metric([str(reason)], int(n))
        yield dropped
        yield GaugeMetricFamily(
            "spotlight_redis_degraded",
            "1 while this node cannot reach Redis (it says degraded)",
            value=0 if stats.get("state") == "ok" else 1,
        )
        yield GaugeMetricFamily(
            "spotlight_leader",
            "1 while this node holds the market lease",
            value=1 if stats.get("leader") else 0,
        )
        outbound = stats.get("outbound")
        yield GaugeMetricFamily(
            "spotlight_redis_outbound_events",
            "Events queued for Redis",
            value=outbound if isinstance(outbound, int) else 0,
        )


class _ConnectionCollector(Collector):
    def __init__(self, source: Callable[[], dict[str, int]]) -> None:
        self._source = source  # {state: open connections}

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily(
            "spotlight_open_connections",
            "Open TCP connections by state (head, http, idle, stream)",
            labels=["state"],
        )
        for state, n in sorted(self._source().items()):
            g.add_metric([state], n)
        yield g


class Metrics:
    def __init__(self) -> None:
        # No "<name>_created" series: prometheus-client exports one per counter, histogram and
        # label child by default (the time it was created), a second series for each that no
        # dashboard or alert here uses (issue 15). The switch is process-wide in the library
        # (the same as PROMETHEUS_DISABLE_CREATED_SERIES=true) and read at every scrape.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.sse_connections = Gauge("spotlight_sse_connections", "Open SSE streams", registry=r)
        self.ws_connections = Gauge(
            "spotlight_ws_connections", "Open WebSocket streams", registry=r
        )
        self.sse_dropped = Counter(
            "spotlight_sse_dropped_total",
            "Events not delivered to an SSE client, by reason (slow-bytes, slow-age: discarded "
            "when the client was cut off; conflated: superseded by a newer event for the same key)",
            ["reason"],
            registry=r,
        )
        self.ws_dropped = Counter(
            "spotlight_ws_dropped_total",
            "Events not delivered to a WebSocket client, by reason (as for SSE)",
            ["reason"],
            registry=r,
        )
        # By transport name (protocol/framing.py): what a stream updates, whichever it is.
        self.connections = {"sse": self.sse_connections, "ws": self.ws_connections}
        self.dropped = {"sse": self.sse_dropped, "ws": self.ws_dropped}
        self.disconnects = Counter(
            "spotlight_client_disconnects_total",
            "Streams ended, by transport and reason (client-closed, slow-bytes, slow-age, "
            "shutdown, error)",
            ["transport", "reason"],
            registry=r,
        )
        self.massive_empty = Counter(
            "spotlight_massive_empty_total",
            "Massive responses with no results (missing key or empty list), by endpoint",
            ["endpoint"],
            registry=r,
        )
        self.massive_walk_stops = Counter(
            "spotlight_massive_pagination_stops_total",
            "Massive pagination walks that ended early, by endpoint and reason (looped: "
            "next_url repeated a cursor, data kept de-duplicated; page_cap: data is partial)",
            ["endpoint", "reason"],
            registry=r,
        )
        self.option_quotes_refused = Counter(
            "spotlight_option_quotes_refused_total",
            "Option quotes whose mid was refused when parsed, by underlying and reason "
            "(crossed: ask below bid; zero-bid), counted per chain analyzed",
            ["underlying", "reason"],
            registry=r,
        )
        self.events_published = Counter(
            "spotlight_events_published_total",
            "Events published by the hub, by type",
            ["type"],
            registry=r,
        )
        self.writes: dict[str, WriteStats] = {"sse": WriteStats(), "ws": WriteStats()}
        r.register(_WriteCollector(self.writes))
        self.ticks_rejected = Counter(
            "spotlight_ticks_rejected_total",
            "Ticks refused by the normalizer or the bar builder, by pipeline and reason",
            ["pipeline", "reason"],
            registry=r,
        )
        self.massive_requests = Counter(
            "spotlight_massive_requests_total",
            "HTTP attempts to Massive, by endpoint, HTTP status ('none' when no answer) and "
            "outcome (ok, empty, retry, error: a malformed 200 body is status 200, error)",
            ["endpoint", "status", "outcome"],
            registry=r,
        )
        self.massive_retries = Counter(
            "spotlight_massive_retries_total",
            "Massive requests retried, by endpoint",
            ["endpoint"],
            registry=r,
        )
        self.massive_latency = Histogram(
            "spotlight_massive_request_seconds",
            "Latency of each HTTP attempt to Massive",
            ["endpoint"],
            registry=r,
        )
        self.replays_active = Gauge(
            "spotlight_replays_active", "Replays running or paused", registry=r
        )
        self.replays = Counter(
            "spotlight_replays_total",
            "Replays ended, by outcome (finished, stopped, failed, memory-limit)",
            ["outcome"],
            registry=r,
        )
        self.replay_events = Counter(
            "spotlight_replay_events_published_total",
            "Events published by replay hubs (all replays)",
            registry=r,
        )
        self._published_children: dict[str, Counter] = {}
        # The voice coach (/voice/ws, docs/voice.md).
        self.voice_sessions = Gauge(
            "spotlight_voice_sessions", "Open voice coach sessions (/voice/ws)", registry=r
        )
        self.voice_turns = Counter(
            "spotlight_voice_turns_total",
            "Voice questions, by agent (offline, relay) and outcome (completed, cancelled, failed)",
            ["agent", "outcome"],
            registry=r,
        )
        self.voice_client_errors = Counter(
            "spotlight_voice_client_errors_total",
            "Voice client messages refused, by error (bad_json, unknown_type, audio_too_long, "
            "frame_too_large, rate_limited, ...); the connection stays up",
            ["error"],
            registry=r,
        )
        self.voice_agent_failures = Counter(
            "spotlight_voice_agent_failures_total",
            "Voice answers that failed, by agent and kind (refused, unauthorized, rejected, "
            "timeout, dropped, protocol, error: the upstream provider; speech; internal)",
            ["agent", "kind"],
            registry=r,
        )
        self.voice_tool_calls = Counter(
            "spotlight_voice_tool_calls_total",
            "Coach tool calls, by tool and outcome (ok, error)",
            ["tool", "outcome"],
            registry=r,
        )
        self.voice_audio_dropped = Counter(
            "spotlight_voice_audio_dropped_bytes_total",
            "Answer audio not sent because the client's outbound buffer was full",
            registry=r,
        )
        # The connection layer (clients/connections.py, runtime/boundary.py).
        self.connection_failures = Counter(
            "spotlight_connection_failures_total",
            "Connections ended by an exception at their failure boundary, by endpoint (head, "
            "http, sse, ws, voice, refused) and kind (reset, timeout, closed: the peer or "
            "network went away; error: a bug, logged with its traceback)",
            ["endpoint", "kind"],
            registry=r,
        )
        self.connections_refused = Counter(
            "spotlight_connections_refused_total",
            "New connections refused, by reason (total: SPOTLIGHT_MAX_CONNECTIONS reached with "
            "no idle connection to close; address: SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS)",
            ["reason"],
            registry=r,
        )
        self.connections_evicted = Counter(
            "spotlight_connections_evicted_total",
            "Idle connections closed to make room for a new one at a connection cap, by the "
            "state they were in (head: no complete request yet; idle: keep-alive between "
            "requests)",
            ["state"],
            registry=r,
        )
        self.accept_errors = Counter(
            "spotlight_accept_errors_total",
            "accept() failures on the listening socket, by errno name (EMFILE: out of file "
            "descriptors)",
            ["errno"],
            registry=r,
        )
        self.http_responses = Counter(
            "spotlight_http_responses_total",
            "HTTP responses by status code: everything hypercorn and Quart answer, the raw "
            "stream paths' refusals (SSE errors, WebSocket upgrade errors) and connection-cap "
            "refusals; a stream's 200 or 101 is counted when it starts",
            ["status"],
            registry=r,
        )
        self.ws_command_errors = Counter(
            "spotlight_ws_command_errors_total",
            "/ws/prices commands refused with an error message, by error code (bad_json, "
            "bad_id, unknown_type, too_large, rate_limited, ...); the connection stays open",
            ["error"],
            registry=r,
        )
        self.pin_checks = Counter(
            "spotlight_pin_checks_total",
            "PIN login attempts, by outcome (ok, bad_pin, locked_out, busy: refused by the "
            "global rate of PIN checks)",
            ["outcome"],
            registry=r,
        )

    def count_massive_request(self, record: RequestRecord) -> None:
        status = str(record.status) if record.status is not None else "none"
        self.massive_requests.labels(record.endpoint, status, record.outcome).inc()
        self.massive_latency.labels(record.endpoint).observe(record.latency_s)
        if record.outcome == "retry":
            self.massive_retries.labels(record.endpoint).inc()

    def count_walk_stop(self, walk: Walk[object]) -> None:
        reason = "looped" if walk.looped else "page_cap"
        self.massive_walk_stops.labels(walk.endpoint, reason).inc()

    def count_published(self, type: str) -> None:
        child = self._published_children.get(type)
        if child is None:
            child = self._published_children[type] = self.events_published.labels(type)
        child.inc()

    def watch_queues(self, source: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
        self.registry.register(_QueueCollector(source))

    def watch_recorder(self, stats: Callable[[], dict[str, object]]) -> None:
        """Export the recorder's counters (read from it at scrape time)."""
        self.registry.register(_RecorderCollector(stats))

    def watch_hub_backend(self, stats: Callable[[], dict[str, object]]) -> None:
        """Export the Redis backend's counters and state (read at scrape time)."""
        self.registry.register(_HubBackendCollector(stats))

    def watch_connections(self, source: Callable[[], dict[str, int]]) -> None:
        """Export the open connections by state (read from the connection table at scrape)."""
        self.registry.register(_ConnectionCollector(source))

    def watch_actors(self, source: Callable[[], Iterable[tuple[str, int]]]) -> None:
        """Export restarts per supervised actor, read from the actor tree at scrape time."""
        self.registry.register(_RestartCollector(source))
