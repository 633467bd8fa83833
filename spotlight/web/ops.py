"""Operations endpoints: ``/health``, ``/api/metrics`` (Prometheus text) and ``/api/diag``."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from quart import Quart, Response

from spotlight.service import SpotlightService

__all__ = ["install_ops_routes"]


def install_ops_routes(app: Quart, service: SpotlightService) -> None:
    @app.get("/health")
    async def health() -> tuple[dict[str, Any], int]:
        # Liveness: answering at all means the event loop runs. Readiness is detail, so a
        # load balancer can choose; 503 only while not ready (starting or shutting down).
        ready = service.ready and not service.shutting_down
        body = {
            "status": "ok" if ready else "not-ready",
            "live": True,
            "ready": ready,
            "epoch": service.epoch.to_json(),
            "uptimeS": round(service.uptime_s(), 3),
            "checks": {
                "market": {"source": service.source_kind, "running": service.ready},
                "hub": {"lastSeq": service.hub.last_seq},
                "shuttingDown": service.shutting_down,
            },
        }
        return body, 200 if ready else 503

    @app.get("/api/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/api/diag")
    async def diag() -> dict[str, Any]:
        return {**service.diag(), "voice": service.voice.stats.diag()}
