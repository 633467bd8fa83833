"""``/ws/prices``: the WebSocket stream of prices, bars and SPX channels.

Client -> server (JSON text, at most ``MAX_COMMAND_BYTES``):
    {"type": "subscribe", "symbols": [...], "channels": [...], "timeframe": "1m",
     "sinceSeq": N, "epoch": "..."}                    resume with sinceSeq + epoch (optional)
    {"type": "unsubscribe", "symbols": [...], "channels": [...]}
    {"type": "ping", "id": any}                        answered {"type": "pong", ...}
Server -> client: every message is ``{"type", "seq", "payload"}`` (hub events also carry
``id``): events exactly as the hub encoded them (``Event.ws``), and control messages
``snapshot``, ``reset``, ``pong``, ``heartbeat``, ``error``, ``slow``, ``shutdown``. Bad input
gets an ``error`` message and the connection stays open. docs/protocol.md is the reference.

Per connection: this handler's task writes; one child task reads commands. Subscribing is one
synchronous step (decide replay or snapshot, queue it, re-subscribe to the hub), and the
writer sends queued control messages before queued events, so nothing is missed, duplicated
or reordered. Access (session or stream token, Origin) is checked before the upgrade.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio
from quart import Quart, websocket

from spotlight.analytics.channels import CHANNELS
from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientSession
from spotlight.engine.feed import Feed
from spotlight.hub.event import Event
from spotlight.protocol.close import close_reason
from spotlight.protocol.resume import BadEventId, Reset, decide, parse_event_id
from spotlight.protocol.topics import stream_topics
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError
from spotlight.web.params import feed_param, symbol_list, timeframe_param

__all__ = ["MAX_COMMAND_BYTES", "install_ws_routes"]

# Commands are a few hundred bytes; anything far larger is refused with an error message.
MAX_COMMAND_BYTES = 16 * 1024


class WSConnection:
    def __init__(self, service: SpotlightService, session: ClientSession, feed: Feed) -> None:
        self.service = service
        self.feed = feed
        self.session = session
        self.inbox = session.inbox
        self.control: list[bytes] = []  # control messages, sent before queued events
        self.symbols: list[str] = []
        self.channels: list[str] = []
        self.timeframe = "1m"

    # -- messages -------------------------------------------------------------------------
    def _message(self, type: str, payload: object) -> bytes:
        return orjson.dumps({"type": type, "seq": self.feed.hub.last_seq, "payload": payload})

    def send_control(self, type: str, payload: object) -> None:
        self.control.append(self._message(type, payload))
        self.inbox.nudge()

    def error(self, error: str, detail: str) -> None:
        self.send_control("error", {"error": error, "detail": detail})

    # -- commands (synchronous: no await between deciding and subscribing) ---------------
    def handle(self, raw: str | bytes) -> None:
        if len(raw) > MAX_COMMAND_BYTES:
            self.error("too_large", f"a command is at most {MAX_COMMAND_BYTES} bytes")
            return
        try:
            cmd = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.error("bad_json", 'a command is a JSON object, e.g. {"type": "ping"}')
            return
        if not isinstance(cmd, dict):
            self.error("bad_command", 'a command is a JSON object with a "type"')
            return
        kind = cmd.get("type")
        try:
            if kind == "ping":
                self.send_control("pong", {"id": cmd.get("id")})
            elif kind == "subscribe":
                self.subscribe(cmd)
            elif kind == "unsubscribe":
                self.unsubscribe(cmd)
            else:
                self.error(
                    "unknown_type",
                    f"unknown command type {str(kind)[:40]!r}; use subscribe, unsubscribe or ping",
                )
        except ApiError as exc:
            self.error(exc.error, exc.detail)

    def _names(self, cmd: dict[str, Any], key: str) -> list[str]:
        value = cmd.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ApiError(400, f"bad_{key}", f"{key} must be a list of strings")
        return value

    def subscribe(self, cmd: dict[str, Any]) -> None:
        hub = self.feed.hub
        symbols = (
            symbol_list(",".join(self._names(cmd, "symbols")), self.feed.symbols)
            if cmd.get("symbols")
            else []
        )
        channels = self._names(cmd, "channels")
        for c in channels:
            if c not in CHANNELS:
                raise ApiError(
                    400,
                    "unknown_channel",
                    f"unknown channel {c[:40]!r}; available: {','.join(CHANNELS)}",
                )
        if not symbols and not channels:
            raise ApiError(400, "missing_symbols", "name symbols and/or channels to subscribe to")
        if "timeframe" in cmd:
            self.timeframe = timeframe_param(str(cmd["timeframe"]))
        new_topics = (*stream_topics(symbols, self.timeframe), *channels)
        resume = None
        if cmd.get("sinceSeq") is not None:
            try:
                resume = parse_event_id(f"{cmd.get('epoch')}:{int(cmd['sinceSeq'])}")
            except (BadEventId, ValueError, TypeError):
                raise ApiError(
                    400, "bad_since_seq", "sinceSeq needs an integer and the epoch it came from"
                ) from None
        decision = (
            None
            if resume is None
            else decide(resume, hub.epoch.id, hub.last_seq, hub.history, new_topics)
        )
        if decision is not None and not isinstance(decision, Reset):
            self.control.extend(e.ws for e in decision.events)
        else:
            if decision is not None:
                self.control.append(
                    self._message(
                        "reset",
                        {
                            "reason": decision.reason,
                            "epoch": hub.epoch.to_json(),
                            "lastSeq": hub.last_seq,
                        },
                    )
                )
            latest = self.feed.latest()
            self.control.append(
                self._message(
                    "snapshot",
                    {
                        **self.feed.pipeline.snapshot(symbols),
                        "timeframe": self.timeframe,
                        "channels": {c: latest.get(c) for c in channels},
                    },
                )
            )
        self.symbols = list(dict.fromkeys([*self.symbols, *symbols]))
        self.channels = list(dict.fromkeys([*self.channels, *channels]))
        self._resubscribe()
        self.inbox.nudge()

    def unsubscribe(self, cmd: dict[str, Any]) -> None:
        drop_symbols = set(self._names(cmd, "symbols"))
        drop_channels = set(self._names(cmd, "channels"))
        self.symbols = [s for s in self.symbols if s not in drop_symbols]
        self.channels = [c for c in self.channels if c not in drop_channels]
        self._resubscribe()
        self.send_control("unsubscribed", {"symbols": self.symbols, "channels": self.channels})

    def _resubscribe(self) -> None:
        hub = self.feed.hub
        hub.unsubscribe(self.inbox)
        topics = (*stream_topics(self.symbols, self.timeframe), *self.channels)
        self.session.topics = tuple(topics)
        if self.symbols or self.channels:
            hub.subscribe(self.inbox, topics)

    # -- the writer -----------------------------------------------------------------------
    async def write_loop(self) -> None:
        inbox, session = self.inbox, self.session
        while True:
            await inbox.wait()
            control, self.control = self.control, []
            for message in control:
                await websocket.send(message.decode())
            events: list[Event] = inbox.drain()
            for e in events:
                await websocket.send(e.ws.decode())
            if events:
                session.last_seq = events[-1].seq
                session.delivered += len(events)
            reason = inbox.closed_reason
            if reason is not None:
                cr = close_reason(reason)
                await websocket.send(
                    self._message(
                        cr.sse_event,
                        {
                            "reason": reason,
                            "reconnect": cr.reconnect,
                            "dropped": inbox.dropped,
                        },
                    ).decode()
                )
                await websocket.close(cr.ws_code, reason)
                return
            if inbox.heartbeat_due:
                inbox.heartbeat_due = False
                await websocket.send(self._message("heartbeat", inbox.stats()).decode())
            session.writes += 1


def install_ws_routes(app: Quart, service: SpotlightService) -> None:
    @app.websocket("/ws/prices")
    async def prices() -> None:
        if service.shutting_down:
            await websocket.close(close_reason("shutdown").ws_code, "shutting down")
            return
        if service.degraded and websocket.args.get("replay") is None:
            # Never stale data as live: with Redis unreachable this node has no live stream.
            await websocket.close(close_reason("degraded").ws_code, "degraded")
            return
        await websocket.accept()
        try:
            feed = feed_param(service, websocket.args.get("replay"))
        except ApiError as exc:
            await websocket.send(
                orjson.dumps(
                    {
                        "type": "error",
                        "seq": 0,
                        "payload": {"error": exc.error, "detail": exc.detail},
                    }
                ).decode()
            )
            code = close_reason("replay-ended" if exc.status == 404 else "bad-request").ws_code
            await websocket.close(code, exc.error)
            return
        s = service.settings
        session = service.clients.open(
            "ws",
            websocket.remote_addr or "?",
            (),
            ClientInbox(s.client_queue_bytes, s.client_queue_age_s),
        )
        conn = WSConnection(service, session, feed)
        reason = "client-closed"
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_read_commands, conn, nursery.cancel_scope)
                await conn.write_loop()
                nursery.cancel_scope.cancel()
            reason = session.inbox.closed_reason or reason
        finally:
            feed.hub.unsubscribe(session.inbox)
            session.inbox.detach()
            service.metrics.disconnects.labels("ws", reason).inc()
            service.clients.remove(session)


async def _read_commands(conn: WSConnection, scope: trio.CancelScope) -> None:
    try:
        while True:
            conn.handle(await websocket.receive())
    finally:
        scope.cancel()
