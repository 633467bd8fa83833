"""``GET /realtime/sse``: validate, open a client session, hand the body to the SSE writer."""

from __future__ import annotations

from quart import Quart, Response, request

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.sse_writer import sse_stream
from spotlight.protocol.topics import stream_topics
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError
from spotlight.web.params import resume_point, symbol_list, timeframe_param

__all__ = ["install_stream_routes"]


def install_stream_routes(app: Quart, service: SpotlightService) -> None:
    settings = service.settings

    @app.get("/realtime/sse")
    async def sse() -> Response:
        symbols = symbol_list(request.args.get("symbols"), settings.symbols)
        timeframe = timeframe_param(request.args.get("timeframe"))
        resume = resume_point(request.args, request.headers)
        if service.shutting_down:
            raise ApiError(503, "shutting_down", "server is restarting; reconnect shortly")
        topics = stream_topics(symbols, timeframe)
        remote = request.remote_addr or "?"
        body = sse_stream(
            hub=service.hub,
            open_session=lambda: service.clients.open(
                "sse",
                remote,
                topics,
                ClientInbox(settings.client_queue_bytes, settings.client_queue_age_s),
            ),
            registry=service.clients,
            metrics=service.metrics,
            resume_from=resume,
            snapshot=lambda: {**service.pipeline.snapshot(symbols), "timeframe": timeframe},
            heartbeat_s=settings.heartbeat_s,
            retry_ms=settings.retry_ms,
        )
        response = Response(
            body,
            status=200,
            content_type="text/event-stream; charset=utf-8",
            headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
        )
        # Quart ends responses after RESPONSE_TIMEOUT (60 s) by default; a stream must not.
        response.timeout = None
        return response
