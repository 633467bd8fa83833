"""The relay: a realtime voice provider upstream (OpenAI Realtime protocol), with Spotlight
answering the model's tool calls from its own market data.

Configured by ``SPOTLIGHT_VOICE_URL`` (``wss://...``) and ``SPOTLIGHT_VOICE_KEY`` (sent as
``Authorization: Bearer``; never logged or shown). Per voice connection one upstream
connection, opened at the first question and again after a failure, so a provider outage
costs a clear message per question, not the trader's session.

Per turn: the question (the trader's audio, appended in chunks and committed, or the typed
text) and ``response.create``; then the provider's events until ``response.done``: audio to
the client (droppable), transcript text as ``answer.delta``/``answer``, the trader's words
as ``transcript``. A response that ends in ``function_call`` items is answered here: each tool
runs on the feed the client watches, its result goes back as ``function_call_output`` with
the same ``call_id``, then ``response.create`` (at most ``MAX_TOOL_ROUNDS`` rounds).

Failures become ``AgentFailure`` kinds, counted in the metrics and /api/diag: ``refused``
(no connection), ``unauthorized`` (401/403), ``rejected`` (another status), ``timeout`` (no
connection, or no event for ``timeout_s`` during an answer), ``dropped`` (the connection
closed mid-answer), ``protocol`` (not the protocol), ``error`` (the provider's error event).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    ConnectionTimeout,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from spotlight.engine.feed import Feed
from spotlight.voice import realtime as rt
from spotlight.voice.agent import AgentFailure, Reply
from spotlight.voice.session import Turn
from spotlight.voice.tools import run_tool, tool_specs

__all__ = ["RelayAgent", "RelayConfig", "upstream_label"]

log = logging.getLogger(__name__)

# A question's audio goes up in appends of this many bytes (~0.7 s; ~44 KB as base64).
APPEND_BYTES = 32_768
# Tool rounds per question: a model that keeps calling tools is stopped, not followed.
MAX_TOOL_ROUNDS = 4
# An audio delta is a fraction of a second; a message this large is not one.
MAX_UPSTREAM_MESSAGE = 4 << 20
# How often a wait for the provider looks at the trader's cancel.
CANCEL_POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class RelayConfig:
    url: str
    key: str | None = field(default=None, repr=False)
    timeout_s: float = 15.0


def upstream_label(url: str) -> str:
    """The provider's address without credentials or query (for diag and the client)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


class RelayAgent:
    name = "relay"

    def __init__(self, config: RelayConfig) -> None:
        self.config = config

    def describe(self) -> dict[str, Any]:
        label = upstream_label(self.config.url)
        return {
            "agent": self.name,
            "speech": True,
            "upstream": label,
            "notice": f"questions (audio or text) and tool results are sent to {label}",
        }

    @asynccontextmanager
    async def session(self, feed: Feed) -> AsyncIterator[_RelaySession]:
        async with trio.open_nursery() as nursery:
            session = _RelaySession(self.config, feed, nursery)
            try:
                yield session
            finally:
                session.disconnect()


class _RelaySession:
    def __init__(self, config: RelayConfig, feed: Feed, nursery: trio.Nursery) -> None:
        self.config = config
        self.feed = feed
        self._nursery = nursery
        self._ws: WebSocketConnection | None = None
        self._holder: trio.CancelScope | None = None

    # -- the upstream connection ----------------------------------------------------------
    async def _connection(self) -> WebSocketConnection:
        if self._ws is not None and not self._ws.closed:
            return self._ws
        self.disconnect()
        try:
            ws: WebSocketConnection = await self._nursery.start(self._hold)
        except ConnectionRejected as exc:
            status = exc.status_code
            if status in (401, 403):
                raise AgentFailure(
                    "unauthorized",
                    "upstream_unauthorized",
                    f"the voice provider refused the key (HTTP {status}): "
                    "check SPOTLIGHT_VOICE_KEY",
                ) from None
            raise AgentFailure(
                "rejected", "upstream_unavailable", f"the voice provider answered HTTP {status}"
            ) from None
        except (ConnectionTimeout, trio.TooSlowError):
            raise AgentFailure(
                "timeout",
                "upstream_timeout",
                f"no connection to the voice provider within {self.config.timeout_s:g} s",
            ) from None
        except (OSError, HandshakeError, ConnectionClosed) as exc:
            raise AgentFailure(
                "refused", "upstream_unavailable", f"cannot reach the voice provider: {exc}"
            ) from None
        self._ws = ws
        try:
            await ws.send_message(rt.client_session_update(tool_specs(self.feed)))
        except ConnectionClosed:
            raise self._dropped(ws) from None
        return ws

    async def _hold(self, task_status: trio.TaskStatus[WebSocketConnection]) -> None:
        """Owns one upstream connection until ``disconnect`` (its context stays in this task)."""
        headers = [(b"openai-beta", b"realtime=v1")]
        if self.config.key:
            headers.append((b"authorization", f"Bearer {self.config.key}".encode()))
        scope = self._holder = trio.CancelScope()
        started = False
        try:
            with scope:
                async with open_websocket_url(
                    self.config.url,
                    extra_headers=headers,
                    connect_timeout=self.config.timeout_s,
                    disconnect_timeout=2.0,
                    max_message_size=MAX_UPSTREAM_MESSAGE,
                    message_queue_size=64,
                ) as ws:
                    started = True
                    task_status.started(ws)
                    await trio.sleep_forever()
        except BaseExceptionGroup as group:  # trio-websocket's nursery may wrap its error
            leaf = _leaf(group)
            if not isinstance(leaf, Exception):
                raise  # a cancellation: never swallowed
            if not started:
                raise leaf from None
            log.debug("voice upstream closed: %r", leaf)
        except Exception as exc:
            if not started:
                raise
            log.debug("voice upstream closed: %r", exc)

    def disconnect(self) -> None:
        if self._holder is not None:
            self._holder.cancel()
        self._holder = self._ws = None

    def _dropped(self, ws: WebSocketConnection) -> AgentFailure:
        reason = ws.closed
        self.disconnect()
        what = f" ({reason.code} {reason.reason or ''})".rstrip() if reason else ""
        return AgentFailure(
            "dropped", "upstream_dropped", f"the voice provider closed the connection{what}"
        )

    # -- one question ---------------------------------------------------------------------
    async def respond(self, turn: Turn, reply: Reply) -> None:
        ws = await self._connection()
        try:
            if turn.audio is not None:
                for i in range(0, len(turn.audio), APPEND_BYTES):
                    await ws.send_message(rt.client_audio_append(turn.audio[i : i + APPEND_BYTES]))
                await ws.send_message(rt.client_commit())
            else:
                reply.transcript(turn.text or "")
                await ws.send_message(rt.client_user_text(turn.text or ""))
            await ws.send_message(rt.client_response_create())
            for _ in range(MAX_TOOL_ROUNDS + 1):
                calls = await self._until_done(ws, reply)
                if not calls or reply.cancelled:
                    return
                for call in calls:
                    await ws.send_message(
                        rt.client_function_output(call.call_id, self._run(call, reply))
                    )
                await ws.send_message(rt.client_response_create())
        except ConnectionClosed:
            raise self._dropped(ws) from None
        raise AgentFailure(
            "protocol",
            "upstream_loop",
            f"the model asked for tools {MAX_TOOL_ROUNDS} times in a row",
        )

    def _run(self, call: rt.FunctionCall, reply: Reply) -> dict[str, Any]:
        try:
            args = orjson.loads(call.arguments or "{}")
        except orjson.JSONDecodeError:
            args = None
        if not isinstance(args, dict):
            result: dict[str, Any] = {
                "ok": False,
                "error": "bad_arguments",
                "detail": "arguments must be a JSON object",
            }
            args = {}
        else:
            result = run_tool(self.feed, call.name, args)
        reply.tool(call.name, args, result)
        return result

    async def _until_done(self, ws: WebSocketConnection, reply: Reply) -> list[rt.FunctionCall]:
        """The provider's events up to ``response.done``; the function calls it asked for."""
        calls: dict[str, rt.FunctionCall] = {}
        text: list[str] = []
        cancel_sent = False
        deadline = trio.current_time() + self.config.timeout_s
        while True:
            if reply.cancelled and not cancel_sent:
                await ws.send_message(rt.client_response_cancel())
                cancel_sent = True
            raw: str | bytes | None = None
            with trio.move_on_after(CANCEL_POLL_S):
                raw = await ws.get_message()
            if raw is None:
                if trio.current_time() >= deadline:
                    self.disconnect()
                    raise AgentFailure(
                        "timeout",
                        "upstream_timeout",
                        f"the voice provider sent nothing for {self.config.timeout_s:g} s",
                    )
                continue
            deadline = trio.current_time() + self.config.timeout_s
            try:
                event = rt.parse_event(raw)
            except rt.ProtocolViolation as exc:
                self.disconnect()
                raise AgentFailure("protocol", "upstream_protocol", str(exc)) from None
            if isinstance(event, rt.AudioDelta):
                reply.audio(event.pcm)
            elif isinstance(event, rt.TextDelta):
                text.append(event.text)
                reply.delta(event.text)
            elif isinstance(event, rt.TextDone):
                text = [event.text]
            elif isinstance(event, rt.UserTranscript):
                reply.transcript(event.text)
            elif isinstance(event, rt.FunctionCall):
                calls[event.call_id] = event
            elif isinstance(event, rt.UpstreamError):
                if event.code == "response_cancel_not_active":
                    continue  # our cancel crossed the response's end: nothing to stop
                raise AgentFailure(
                    "error", "upstream_error", f"the voice provider: {event.message or event.code}"
                )
            elif isinstance(event, rt.ResponseDone):
                if "".join(text).strip():
                    reply.answer("".join(text).strip())
                if event.status == "failed":
                    raise AgentFailure(
                        "error",
                        "upstream_failed",
                        f"the voice provider failed the answer: {event.detail or 'no detail'}",
                    )
                return list(calls.values())


def _leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc
