"""Operations endpoints: ``/health``, ``/api/metrics`` (Prometheus text) and ``/api/diag``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Quart, Response

from spotlight.service import SpotlightService
from spotlight.web.seed_diag import seed_fields

__all__ = ["install_ops_routes"]


def install_ops_routes(app: Quart, service: SpotlightService) -> None:
    @app.get("/health")
    async def health() -> tuple[dict[str, Any], int]:
        # Liveness: answering at all means the event loop runs. Readiness is detail, so a
        # load balancer can choose; 503 while not ready (starting or shutting down) and while
        # degraded (Redis backend: this node cannot see the shared stream, so a balancer
        # sends new clients to a node that can). Streams are served once ready (200);
        # "warming" says the analytics channels do not all have a first value yet, and names
        # them (docs/operations.md).
        degraded = service.degraded
        ready = service.ready and not service.shutting_down and not degraded
        analytics = service.analytics_health()
        if ready:
            status = "warming" if analytics["warming"] else "ok"
        else:
            status = "degraded" if degraded and service.ready else "not-ready"
        body = {
            "status": status,
            "live": True,
            "ready": ready,
            "analytics": analytics,
            "epoch": service.epoch.to_json(),
            "uptimeS": round(service.uptime_s(), 3),
            "checks": {
                "market": {"source": service.source_kind, "running": service.ready},
                "hub": {
                    "lastSeq": service.hub.last_seq,
                    "backend": service.hub.backend.kind,
                    **service.hub.backend.health(),
                },
                "node": service.node_id,
                "leader": service.lease.is_leader if service.lease is not None else None,
                "shuttingDown": service.shutting_down,
            },
        }
        return body, 200 if ready else 503

    @app.get("/api/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/api/diag")
    async def diag() -> dict[str, Any]:
        body = {**service.diag(), "voice": service.voice.stats.diag()}
        seed = seed_fields(service.uptime_s())
        # The seed's names beside ours (web/seed_diag.py): ours stay numbers for machines.
        body["uptime"] = seed["uptime"]
        body["memory"] = {**body.get("memory", {}), **seed["memory"]}
        return body
