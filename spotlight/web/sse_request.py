"""One SSE request, whichever transport carries it: validate, then build the body.

Both SSE transports use this: the direct socket path (``web/sse_socket.py``, every stream
that opens its own connection, which is what EventSource does) and the raw-ASGI fallback
(``web/sse_endpoint.py``, for a stream that arrives on a connection hypercorn already serves).
So the rules, errors and the writer (``clients.sse_writer.sse_stream``) are the same for both.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import trio

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientSession
from spotlight.clients.sse_writer import SSEWriter, sse_stream
from spotlight.engine.feed import Feed
from spotlight.protocol.resume import EventId
from spotlight.protocol.topics import stream_topics
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError
from spotlight.web.params import (
    channel_list,
    feed_param,
    resume_point,
    symbol_list,
    timeframe_param,
)

__all__ = [
    "SSE_PATH",
    "SSERequest",
    "new_session",
    "new_sse_writer",
    "open_sse_body",
    "parse_sse_request",
    "refresh_prices",
    "snapshot_for",
]

SSE_PATH = "/realtime/sse"


@dataclass(frozen=True, slots=True)
class SSERequest:
    feed: Feed  # live, or the replay named by replay=<id>
    symbols: list[str]
    timeframe: str
    resume: EventId | None
    topics: tuple[str, ...]
    channels: tuple[str, ...] = ()


def parse_sse_request(
    service: SpotlightService, method: str, query: str, last_event_id: str | None
) -> SSERequest:
    """Validate a stream request; raises ``ApiError`` (4xx/503) with a clear message."""
    if method != "GET":
        raise ApiError(405, "method_not_allowed", f"{SSE_PATH} accepts GET only")
    args = dict(parse_qsl(query, keep_blank_values=True))
    feed = feed_param(service, args.get("replay"))
    channels = channel_list(args.get("channels"))
    symbols = (
        symbol_list(args.get("symbols"), feed.symbols)
        if args.get("symbols") or not channels
        else []
    )
    timeframe = timeframe_param(args.get("timeframe"))
    resume = resume_point(args, last_event_id)
    if service.shutting_down:
        raise ApiError(503, "shutting_down", "server is restarting; reconnect shortly")
    if feed is service.live and service.degraded:
        raise ApiError(503, "degraded", _degraded_detail(service))
    topics = (*stream_topics(symbols, timeframe), *channels)
    return SSERequest(feed, symbols, timeframe, resume, topics, channels)


def _degraded_detail(service: SpotlightService) -> str:
    reason = service.redis.reason if service.redis is not None else None
    return (
        f"this node cannot reach the shared stream ({reason or 'Redis unavailable'}) and will "
        "not serve stale data as live; retry shortly or use another node"
    )


# A subscriber waits at most this long for a stale price to be fetched before its snapshot
# is built (with whatever is known): a slow upstream must not hold a stream open empty.
REFRESH_WAIT_S = 2.0


async def refresh_prices(service: SpotlightService, req: SSERequest) -> None:
    """Bring the subscribed symbols' latest prices up to date (bounded; never raises)."""
    refresh = req.feed.refresh
    if refresh is None:
        return
    with trio.move_on_after(REFRESH_WAIT_S):
        await refresh(req.symbols)


def new_session(service: SpotlightService, req: SSERequest, remote: str) -> ClientSession:
    """Register the stream's session with its bounded inbox."""
    settings = service.settings
    inbox = ClientInbox(settings.client_queue_bytes, settings.client_queue_age_s)
    return service.clients.open("sse", remote, req.topics, inbox)


def snapshot_for(service: SpotlightService, req: SSERequest) -> Callable[[], object]:
    """The fresh-start snapshot: latest bar per symbol and timeframe, last trade and quote."""

    def snapshot() -> object:
        latest = req.feed.latest()
        return {
            **req.feed.pipeline.snapshot(req.symbols),
            "timeframe": req.timeframe,
            "channels": {c: latest.get(c) for c in req.channels},
        }

    return snapshot


def new_sse_writer(service: SpotlightService, req: SSERequest, remote: str) -> SSEWriter:
    return SSEWriter(
        req.feed.hub,
        new_session(service, req, remote),
        service.clients,
        service.metrics,
        service.settings.retry_ms,
    )


def open_sse_body(
    service: SpotlightService, req: SSERequest, remote: str
) -> AsyncGenerator[bytes, None]:
    """The response body as chunks, for a transport that writes asynchronously (ASGI)."""
    return sse_stream(
        hub=req.feed.hub,
        open_session=lambda: new_session(service, req, remote),
        registry=service.clients,
        metrics=service.metrics,
        resume_from=req.resume,
        snapshot=snapshot_for(service, req),
        retry_ms=service.settings.retry_ms,
    )
