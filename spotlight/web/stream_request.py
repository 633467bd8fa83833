"""What every stream request shares, whichever transport carries it: the SSE request's
validation, the snapshot a fresh subscriber gets, and the refresh of stale prices before it.

SSE uses all of it on both of its transports: the direct socket path (``web/sse_socket.py``,
every stream that opens its own connection, which is what EventSource does) and the raw-ASGI
fallback (``web/sse_endpoint.py``, for a stream that arrives on a connection hypercorn
already serves). The WebSocket endpoint (``web/ws_prices.py``) takes the same snapshot and
refresh for each ``subscribe`` command. So the rules, the errors and the stream state
(``clients/stream.py``) are the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import trio

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.stream import Stream
from spotlight.engine.feed import Feed
from spotlight.protocol.errors import InvalidRequest
from spotlight.protocol.framing import SSE, Framing
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
    "REFRESH_WAIT_S",
    "SSE_PATH",
    "SSERequest",
    "degraded_detail",
    "new_stream",
    "open_sse_stream",
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
    try:
        feed = feed_param(service, args.get("replay"))
        channels = channel_list(args.get("channels"))
        symbols = (
            symbol_list(args.get("symbols"), feed.symbols)
            if args.get("symbols") or not channels
            else []
        )
        timeframe = timeframe_param(args.get("timeframe"))
        resume = resume_point(args, last_event_id)
    except InvalidRequest as exc:
        raise ApiError.invalid(exc) from None
    if service.shutting_down:
        raise ApiError(503, "shutting_down", "server is restarting; reconnect shortly")
    if feed is service.live and service.degraded:
        raise ApiError(503, "degraded", degraded_detail(service))
    topics = (*stream_topics(symbols, timeframe), *channels)
    return SSERequest(feed, symbols, timeframe, resume, topics, channels)


def degraded_detail(service: SpotlightService) -> str:
    """Why this node refuses live streams now (the Redis backend is unreachable)."""
    reason = service.redis.reason if service.redis is not None else None
    return (
        f"this node cannot reach the shared stream ({reason or 'Redis unavailable'}) and will "
        "not serve stale data as live; retry shortly or use another node"
    )


# A subscriber waits at most this long for a stale price to be fetched before its snapshot
# is built (with whatever is known): a slow upstream must not hold a stream open empty.
REFRESH_WAIT_S = 2.0


async def refresh_prices(feed: Feed, symbols: Sequence[str]) -> None:
    """Bring the subscribed symbols' latest prices up to date (bounded; never raises).

    The Massive source fetches each stale symbol once for all concurrent callers; the
    simulator and replays are always current."""
    refresh = feed.refresh
    if refresh is None or not symbols:
        return
    with trio.move_on_after(REFRESH_WAIT_S):
        await refresh(list(symbols))


def snapshot_for(
    feed: Feed, symbols: Sequence[str], timeframe: str, channels: Sequence[str]
) -> Callable[[], object]:
    """The fresh-start snapshot: latest bar per symbol and timeframe, last trade and quote,
    and the latest payload of each named channel."""

    def snapshot() -> object:
        latest = feed.latest()
        return {
            **feed.pipeline.snapshot(list(symbols)),
            "timeframe": timeframe,
            "channels": {c: latest.get(c) for c in channels},
        }

    return snapshot


def new_stream(service: SpotlightService, feed: Feed, framing: Framing, remote: str) -> Stream:
    """Register a stream's session (with its bounded inbox) and its state, unsubscribed."""
    settings = service.settings
    inbox = ClientInbox(settings.streams.client_queue_bytes, settings.streams.client_queue_age_s)
    session = service.clients.open(framing.name, remote, (), inbox)
    return Stream(
        feed.hub, session, service.clients, service.metrics, framing, settings.streams.retry_ms
    )


def open_sse_stream(service: SpotlightService, req: SSERequest, remote: str) -> Stream:
    """An SSE stream for ``req``, subscribed: its prelude is ready to write."""
    stream = new_stream(service, req.feed, SSE, remote)
    stream.subscribe(
        req.topics, req.resume, snapshot_for(req.feed, req.symbols, req.timeframe, req.channels)
    )
    return stream
