"""``/ws/prices``: the WebSocket stream of prices, bars and SPX channels (the route).

Commands are parsed by ``protocol/ws_commands.py``; everything else is shared: the stream
state (``clients/stream.py``, the same messages and fields as SSE), the snapshot and the
refresh of stale prices (``web/stream_request.py``), the raw-socket transport
(``web/ws_socket.py``). docs/protocol.md is the reference.

A ``subscribe`` first refreshes the stale prices of the symbols it names (bounded, shared
with every other subscriber, as on SSE), then subscribes in one synchronous step: replay or
snapshot, queued after everything already pending for this client. Commands are handled one
at a time, in order, so replies come back in the order they were asked for.
"""

from __future__ import annotations

from collections.abc import Mapping

from spotlight.clients.stream import Stream
from spotlight.engine.feed import Feed
from spotlight.protocol.topics import bar_topic, stream_topics
from spotlight.protocol.ws_commands import (
    CommandError,
    Ping,
    Subscribe,
    Unsubscribe,
    parse_command,
)
from spotlight.service import SpotlightService
from spotlight.web.params import feed_param
from spotlight.web.stream_request import refresh_prices, snapshot_for
from spotlight.web.ws_socket import Handler, WSEndpoint

__all__ = ["PRICES"]


def _feed(service: SpotlightService, query: Mapping[str, str]) -> Feed:
    return feed_param(service, query.get("replay"))


class PricesHandler:
    """One connection's command state: what it subscribed to, at which timeframe."""

    __slots__ = (
        "channels",
        "feed",
        "stream",
        "symbols",
        "timeframe",
    )

    def __init__(self, feed: Feed, stream: Stream) -> None:
        self.feed = feed
        self.stream = stream
        self.symbols: list[str] = []
        self.channels: list[str] = []
        self.timeframe = "1m"

    async def __call__(self, raw: str | bytes) -> None:
        try:
            command = parse_command(raw, self.feed.symbols)
        except CommandError as exc:
            self.stream.metrics.ws_command_errors.labels(exc.error).inc()
            self.stream.send_control("error", exc.to_json())
            return
        if isinstance(command, Ping):
            self.stream.send_control("pong", {"id": command.id})
        elif isinstance(command, Subscribe):
            await refresh_prices(self.feed, command.symbols)
            self._subscribe(command)
        elif isinstance(command, Unsubscribe):
            self._unsubscribe(command)

    def _subscribe(self, cmd: Subscribe) -> None:
        if cmd.timeframe is not None and cmd.timeframe != self.timeframe:
            # Bars at the old timeframe stop; the symbols already subscribed move over (their
            # bars at the new one come with this command's snapshot or replay).
            self.stream.unsubscribe([bar_topic(s, self.timeframe) for s in self.symbols])
            self.timeframe = cmd.timeframe
            cmd = Subscribe(
                tuple(dict.fromkeys([*self.symbols, *cmd.symbols])),
                cmd.channels,
                cmd.timeframe,
                cmd.resume,
            )
        topics = (*stream_topics(cmd.symbols, self.timeframe), *cmd.channels)
        snapshot = snapshot_for(self.feed, cmd.symbols, self.timeframe, cmd.channels)
        self.stream.subscribe(topics, cmd.resume, snapshot)
        self.symbols = list(dict.fromkeys([*self.symbols, *cmd.symbols]))
        self.channels = list(dict.fromkeys([*self.channels, *cmd.channels]))

    def _unsubscribe(self, cmd: Unsubscribe) -> None:
        drop_symbols, drop_channels = set(cmd.symbols), set(cmd.channels)
        self.symbols = [s for s in self.symbols if s not in drop_symbols]
        self.channels = [c for c in self.channels if c not in drop_channels]
        dropped = stream_topics(drop_symbols, self.timeframe)[1:]  # not the status topic
        self.stream.unsubscribe((*dropped, *drop_channels))
        if not self.symbols and not self.channels:
            self.stream.unsubscribe(stream_topics((), self.timeframe))  # status too
        self.stream.send_control(
            "unsubscribed", {"symbols": self.symbols, "channels": self.channels}
        )


def _handler(service: SpotlightService, feed: Feed, stream: Stream) -> Handler:
    return PricesHandler(feed, stream)


def _on_flood(stream: Stream, handler: Handler, limit: int) -> None:
    stream.metrics.ws_command_errors.labels("rate_limited").inc()
    stream.send_control(
        "error",
        {
            "error": "rate_limited",
            "detail": f"at most {limit} commands per second; the rest were dropped",
        },
    )


PRICES = WSEndpoint(
    path="/ws/prices",
    # Commands are a few hundred bytes (parse_command answers `too_large` past 16 KiB);
    # a message past 1 MiB is not a command at all: the connection is closed with 1009.
    max_message_bytes=1 << 20,
    # A dashboard sends a handful of commands a minute; 50 a second is far above any honest
    # client and far below what would cost the server anything.
    max_messages=50,
    window_s=1.0,
    # Pings go out at every heartbeat (SPOTLIGHT_HEARTBEAT_S); three unanswered ones and the
    # peer is gone.
    idle_heartbeats=3,
    feed=_feed,
    handler=_handler,
    on_flood=_on_flood,
)
