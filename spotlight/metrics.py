"""Every Prometheus metric, declared once, on a registry owned by one server instance.

A registry per instance (not prometheus-client's global one) lets tests run several servers
in one process and lets replay pipelines (later) keep their own numbers. Label values are a
small closed set (event type, transport, reason); children are bound once where they are used,
never per event. Queue depths of individual clients are summarized at scrape time (max and
total per transport) instead of one series per client, which would be unbounded cardinality.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["Metrics"]

# Publish-to-write latency buckets (seconds): sub-millisecond resolution where the target
# lives (p99 <= 20 ms), coarse above it.
_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


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


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.sse_connections = Gauge("spotlight_sse_connections", "Open SSE streams", registry=r)
        self.sse_dropped = Counter(
            "spotlight_sse_dropped_total",
            "Events not delivered to an SSE client, by reason (slow-bytes, slow-age: discarded "
            "when the client was cut off; conflated: superseded by a newer event for the same key)",
            ["reason"],
            registry=r,
        )
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
        self.events_published = Counter(
            "spotlight_events_published_total",
            "Events published by the hub, by type",
            ["type"],
            registry=r,
        )
        self.events_delivered = Counter(
            "spotlight_events_delivered_total",
            "Events written to client sockets, by transport",
            ["transport"],
            registry=r,
        )
        self.write_batch = Histogram(
            "spotlight_client_write_batch_events",
            "Events per socket write (the batching lever)",
            ["transport"],
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.publish_to_write = Histogram(
            "spotlight_publish_to_write_seconds",
            "From hub publish to the completed socket write, for the oldest event of each batch",
            ["transport"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ticks_rejected = Counter(
            "spotlight_ticks_rejected_total",
            "Ticks refused by the normalizer or the bar builder, by pipeline and reason",
            ["pipeline", "reason"],
            registry=r,
        )
        self.actor_restarts = Counter(
            "spotlight_actor_restarts_total",
            "Supervised actor restarts, by actor",
            ["actor"],
            registry=r,
        )
        self._published_children: dict[str, Counter] = {}

    def count_published(self, type: str) -> None:
        child = self._published_children.get(type)
        if child is None:
            child = self._published_children[type] = self.events_published.labels(type)
        child.inc()

    def watch_queues(self, source: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
        self.registry.register(_QueueCollector(source))
