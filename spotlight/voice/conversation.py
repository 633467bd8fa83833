"""One voice connection, end to end: the protocol state, the agent, the replies.

``Conversation`` is both halves the WebSocket endpoint needs (web/ws_voice.py):

- ``receive(message)``: called by the connection's reader for every message, in order. It
  only runs the synchronous protocol step (voice/session.py) and acts on it: errors go
  straight back, a question is handed to the worker, a cancel is flagged. It never waits on
  the agent, so pings, pongs and a ``response.cancel`` are read while an answer is given.
- ``run()``: the connection's background task. It opens the agent's session and answers
  one question at a time: ``response.start``, what the agent says, ``response.done`` with
  the outcome (completed, cancelled, failed) and the audio sent and dropped.

Failures stay inside: an ``AgentFailure`` is told to the trader (``error`` with its code and
kind) and counted; any other exception is logged, counted as ``internal`` and told as
``agent_failed``; the connection and every other stream go on. Only a failure of the agent's
session itself ends ``run`` (the endpoint then closes with ``internal-error``, 4011, so the
client reconnects to a fresh one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from spotlight.engine.feed import Feed
from spotlight.voice.agent import Agent, AgentFailure, Outbound, Reply
from spotlight.voice.audio import BYTES_PER_SECOND, CHANNELS, SAMPLE_RATE, duration_ms
from spotlight.voice.session import Answer, Cancel, Refuse, Start, Turn, VoiceSession
from spotlight.voice.stats import VoiceStats

__all__ = ["Conversation"]

log = logging.getLogger(__name__)


class Conversation:
    def __init__(
        self,
        agent: Agent,
        feed: Feed,
        out: Outbound,
        stats: VoiceStats,
        *,
        max_audio_s: float,
        limits: dict[str, Any],
    ) -> None:
        self.agent = agent
        self.feed = feed
        self.out = out
        self.stats = stats
        self.state = VoiceSession(int(max_audio_s * BYTES_PER_SECOND))
        self.limits = {"maxAudioS": max_audio_s, **limits}
        self._next: Turn | None = None  # the question waiting for the worker (newest wins)
        self._wake = trio.Event()
        self._current: Reply | None = None

    # -- the reader's side ----------------------------------------------------------------
    async def receive(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            actions = self.state.receive_audio(message)
        else:
            actions = self.state.receive_text(message)
        for action in actions:
            if isinstance(action, Refuse):
                self.refuse(action.error.error, action.error.detail)
            elif isinstance(action, Start):
                self._started()
            elif isinstance(action, Cancel):
                self._cancel(action.turn)
            else:
                assert isinstance(action, Answer)
                self._next = action.turn
                self._wake.set()

    def refuse(self, error: str, detail: str) -> None:
        """An error message for the client (the connection stays up), counted."""
        self.stats.client_error(error)
        self.out.control("error", {"error": error, "detail": detail})

    def _started(self) -> None:
        agent = self.agent.describe()
        self.out.control(
            "session.started",
            {
                **agent,
                # Spoken answers: asked for, and the agent can speak.
                "speech": bool(agent.get("speech")) and self.state.speech,
                "feed": self.feed.name,
                "audio": {"format": "pcm16", "sampleRate": SAMPLE_RATE, "channels": CHANNELS},
                "limits": self.limits,
            },
        )

    def _cancel(self, turn: int) -> None:
        current = self._current
        if current is not None and current.turn.id == turn:
            current.cancel()
        elif self._next is not None and self._next.id == turn:
            self._next = None  # never started: done at once
            self.out.control("response.done", {"turn": turn, "status": "cancelled"})
            self.state.finished(turn)
            self.stats.turn(self.agent.name, "cancelled", 0, 0)

    # -- the worker -----------------------------------------------------------------------
    async def run(self) -> None:
        self.stats.opened()
        try:
            async with self.agent.session(self.feed) as session:
                while True:
                    await self._wake.wait()
                    self._wake = trio.Event()
                    turn, self._next = self._next, None
                    if turn is not None:
                        await self._answer(session.respond, turn)
        except Exception:
            log.exception("voice session failed")
            self.stats.failure(self.agent.name, "internal", "the voice session failed")
            self.out.control(
                "error", {"error": "agent_failed", "detail": "the voice coach failed; reconnect"}
            )
        finally:
            self.stats.closed()

    async def _answer(self, respond: Callable[[Turn, Reply], Awaitable[None]], turn: Turn) -> None:
        reply = Reply(turn, self.out, self.stats.tool)
        self._current = reply
        self.out.control(
            "response.start",
            {"turn": turn.id, "agent": self.agent.name, "input": "audio" if turn.audio else "text"},
        )
        status, error = "completed", None
        try:
            await respond(turn, reply)
        except AgentFailure as exc:
            status, error = "failed", exc
            self.stats.failure(self.agent.name, exc.kind, exc.detail)
            self.out.control("error", {"turn": turn.id, **exc.to_json()})
        except Exception:
            log.exception("voice agent failed on turn %d", turn.id)
            status = "failed"
            self.stats.failure(self.agent.name, "internal", "the agent failed on a question")
            self.out.control(
                "error",
                {
                    "turn": turn.id,
                    "error": "agent_failed",
                    "detail": "the coach failed on this question",
                },
            )
        finally:
            self._current = None
        if status == "completed" and reply.cancelled:
            status = "cancelled"
        reply.finish()
        self.out.control(
            "response.done",
            {
                "turn": turn.id,
                "status": status,
                "audioBytes": reply.audio_bytes,
                "audioMs": duration_ms(reply.audio_bytes),
                "droppedBytes": reply.dropped_bytes,
                **({"error": error.error} if error is not None else {}),
            },
        )
        self.state.finished(turn.id)
        self.stats.turn(self.agent.name, status, reply.audio_bytes, reply.dropped_bytes)
