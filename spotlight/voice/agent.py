"""What an agent is, and what it may say while it answers (``Reply``).

An agent answers turns (voice/session.py ``Turn``): the offline coach (voice/offline.py) or
the relay to an upstream realtime provider (voice/relay.py). Per connection it opens one
``AgentSession`` (``Agent.session``), whose ``respond`` is called for one turn at a time by
the connection's conversation (voice/conversation.py). While it answers it talks to the
client only through its ``Reply``:

- ``transcript`` (what the trader said), ``delta`` and ``answer`` (the coach's words),
  ``tool`` (a tool it used, with the arguments and whether it worked);
- ``audio``: PCM16 mono 24 kHz of the spoken answer. Audio is the one thing that may be
  dropped: when the client's outbound buffer is full (a slow link) frames are dropped and
  the client is told how much (``audio.dropped``, right after the first frame past the gap,
  or at the end of the answer);
- ``cancelled``: set when the trader cancels or interrupts; an agent stops talking soon
  after (everything it still says is discarded anyway).

A failure the trader must hear about (the upstream refused, timed out, dropped mid-answer)
is an ``AgentFailure`` with a ``kind`` that is counted (metrics, /api/diag).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import trio

from spotlight.engine.feed import Feed
from spotlight.voice.audio import duration_ms
from spotlight.voice.session import Turn

__all__ = ["Agent", "AgentFailure", "AgentSession", "Outbound", "Reply"]


class Outbound(Protocol):
    """The connection's way out (web/ws_voice.py puts it on the stream)."""

    def control(self, type: str, payload: dict[str, Any]) -> None: ...

    def audio(self, pcm: bytes) -> bool: ...  # False: dropped (the buffer is full)


class AgentFailure(Exception):
    """A failure the trader is told about; ``kind`` is a closed set (metrics label)."""

    def __init__(self, kind: str, error: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind  # refused, unauthorized, rejected, timeout, dropped, protocol, speech
        self.error = error  # the client's error code, e.g. "upstream_unavailable"
        self.detail = detail

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail, "kind": self.kind}


class Reply:
    def __init__(
        self, turn: Turn, out: Outbound, on_tool: Callable[[str, bool], None] | None = None
    ) -> None:
        self.turn = turn
        self.out = out
        self.on_tool = on_tool  # counts each tool call (name, ok)
        self._cancel = trio.Event()
        self.audio_bytes = 0  # sent
        self.dropped_bytes = 0  # refused by the buffer, this answer
        self._gap = 0  # dropped since the last frame that went out
        self.said: list[str] = []

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    async def wait_cancelled(self) -> None:
        await self._cancel.wait()

    def _send(self, type: str, payload: dict[str, Any]) -> None:
        self.out.control(type, {"turn": self.turn.id, **payload})

    def transcript(self, text: str) -> None:
        self._send("transcript", {"text": text, "final": True})

    def delta(self, text: str) -> None:
        if not self.cancelled:
            self._send("answer.delta", {"text": text})

    def answer(self, text: str) -> None:
        if not self.cancelled:
            self.said.append(text)
            self._send("answer", {"text": text})

    def tool(self, name: str, arguments: dict[str, Any], result: dict[str, Any]) -> None:
        if self.on_tool is not None:
            self.on_tool(name, bool(result.get("ok")))
        self._send(
            "tool",
            {"name": name, "arguments": arguments, "ok": bool(result.get("ok")), "result": result},
        )

    def notice(self, code: str, detail: str) -> None:
        self._send("notice", {"code": code, "detail": detail})

    def audio(self, pcm: bytes) -> bool:
        """One frame of the spoken answer; False when it was dropped (or cancelled)."""
        if self.cancelled or not self.turn.speech or not pcm:
            return False
        if self.out.audio(pcm):
            self.audio_bytes += len(pcm)
            if self._gap:  # the gap ended with this frame: say how long it was
                self._flush_gap()
            return True
        self._gap += len(pcm)
        self.dropped_bytes += len(pcm)
        return False

    def finish(self) -> None:
        """The answer is over: report a gap that ran to its end."""
        if self._gap:
            self._flush_gap()

    def _flush_gap(self) -> None:
        self._send(
            "audio.dropped",
            {
                "bytes": self._gap,
                "ms": duration_ms(self._gap),
                "totalBytes": self.dropped_bytes,
                "detail": "the connection could not keep up; this much of the answer's "
                "audio was dropped",
            },
        )
        self._gap = 0


class AgentSession(Protocol):
    async def respond(self, turn: Turn, reply: Reply) -> None:
        """Answer ``turn``; raises ``AgentFailure`` for what the trader must be told."""
        ...


class Agent(Protocol):
    name: str  # "offline" or "relay"

    def describe(self) -> dict[str, Any]:
        """What ``session.started`` and /api/diag say about this agent (never a secret)."""
        ...

    def session(self, feed: Feed) -> AbstractAsyncContextManager[AgentSession]: ...
