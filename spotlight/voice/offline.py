"""The built-in offline coach: pocketsphinx hears, a small grammar understands, the tools
answer from the live analytics, espeak-ng speaks. Nothing leaves the machine.

Used when no upstream is configured (``SPOTLIGHT_VOICE_URL`` unset). Without espeak-ng the
answers are text only, and ``session.started`` carries a notice saying so.

The spoken answer is paced: frames of 100 ms go out no more than ``LEAD_MS`` ahead of real
time, as a realtime provider streams them. A client that keeps up therefore holds a small
buffer, a cancel stops the voice within ~half a second, and the outbound cap (256 KB) is
reached only by a client that really cannot keep up, whose late audio is then dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from spotlight.engine.feed import Feed
from spotlight.voice import stt
from spotlight.voice.agent import AgentFailure, Reply
from spotlight.voice.audio import frames
from spotlight.voice.intents import HELP, parse_intent
from spotlight.voice.session import Turn
from spotlight.voice.tools import run_tool, speak
from spotlight.voice.tts import Speaker, SpeechFailed

__all__ = ["FRAME_MS", "LEAD_MS", "OfflineCoach"]

FRAME_MS = 100  # one binary frame: 4,800 bytes at 24 kHz
LEAD_MS = 500  # how far ahead of real time the audio may be sent

SPEECH_MISSING = "espeak-ng is not installed on the server: answers are text only"


class OfflineCoach:
    name = "offline"

    def __init__(
        self,
        speaker: Speaker | None = None,
        transcribe: Callable[[bytes], Awaitable[str]] = stt.transcribe,
    ) -> None:
        self.speaker = speaker or Speaker()
        self.transcribe = transcribe

    def describe(self) -> dict[str, Any]:
        return {
            "agent": self.name,
            "speech": self.speaker.available,
            "recognizer": "pocketsphinx (grammar: docs/voice.md)",
            "notice": None if self.speaker.available else SPEECH_MISSING,
        }

    @asynccontextmanager
    async def session(self, feed: Feed) -> AsyncIterator[_OfflineSession]:
        yield _OfflineSession(self, feed)


class _OfflineSession:
    def __init__(self, coach: OfflineCoach, feed: Feed) -> None:
        self.coach = coach
        self.feed = feed

    async def respond(self, turn: Turn, reply: Reply) -> None:
        if turn.audio is not None:
            try:
                text = await self.coach.transcribe(turn.audio)
            except stt.SttUnavailable as exc:
                raise AgentFailure(
                    "speech", "stt_unavailable", f"{exc}; type the question"
                ) from None
        else:
            text = turn.text or ""
        reply.transcript(text)
        answer = self.answer(text, reply)
        reply.answer(answer)
        speaker = self.coach.speaker
        if not turn.speech or not speaker.available or reply.cancelled:
            return
        try:
            pcm = await speaker.synthesize(answer)
        except SpeechFailed as exc:
            raise AgentFailure("speech", "speech_failed", f"{exc}; the answer is in text") from None
        await _play(pcm, reply)

    def answer(self, text: str, reply: Reply) -> str:
        intent = parse_intent(text) if text else None
        if intent is None:
            heard = f'I heard "{text}". ' if text else "I didn't catch that. "
            return heard + HELP
        if intent.tool == "help":
            return HELP
        result = run_tool(self.feed, intent.tool, intent.args)
        reply.tool(intent.tool, intent.args, result)
        return speak(intent.tool, result)


async def _play(pcm: bytes, reply: Reply) -> None:
    """Send ``pcm`` in frames, at most ``LEAD_MS`` ahead of real time; stop when cancelled."""
    start = trio.current_time()
    sent_ms = 0
    for frame in frames(pcm, FRAME_MS):
        with trio.move_on_at(start + (sent_ms - LEAD_MS) / 1000):
            await reply.wait_cancelled()
        if reply.cancelled:
            return
        reply.audio(frame)
        sent_ms += FRAME_MS
