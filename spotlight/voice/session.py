"""One voice connection's protocol state, as synchronous steps (sans-I/O).

Feed it what the client sends (``receive_text``, ``receive_audio``) and what the agent
finished (``finished``); it returns ``Action``s for the I/O side (voice/conversation.py)
to carry out, and never awaits. Rules:

- Nothing but ``session.start`` before ``session.start`` (``not_started``); a second one is
  refused (``already_started``).
- Audio (binary frames, PCM16: an even number of bytes) accumulates for the turn being
  spoken, bounded by ``max_audio_bytes``: past it the turn's audio is discarded, the client
  is told once (``audio_too_long``), and what follows is ignored until the turn ends
  (``input.commit`` or ``input.clear``).
- ``input.commit`` or ``input.text`` asks a question: a new turn. A turn asked while another
  is being answered interrupts it (the answer in progress is cancelled first: push-to-talk
  while the coach speaks means "stop, listen").
- ``response.cancel`` cancels the answer in progress (nothing to cancel is not an error).
"""

from __future__ import annotations

from dataclasses import dataclass

from spotlight.voice.audio import BYTES_PER_SECOND
from spotlight.voice.messages import (
    InputClear,
    InputCommit,
    InputText,
    ResponseCancel,
    SessionStart,
    VoiceError,
    parse_client_message,
)

__all__ = ["Action", "Answer", "Cancel", "Refuse", "Start", "Turn", "VoiceSession"]


@dataclass(frozen=True, slots=True)
class Turn:
    id: int
    audio: bytes | None  # the question as PCM16 mono 24 kHz, or
    text: str | None  # as typed
    speech: bool  # a spoken answer is wanted


@dataclass(frozen=True, slots=True)
class Start:
    speech: bool


@dataclass(frozen=True, slots=True)
class Answer:
    turn: Turn


@dataclass(frozen=True, slots=True)
class Cancel:
    turn: int  # the turn whose answer to stop


@dataclass(frozen=True, slots=True)
class Refuse:
    error: VoiceError


Action = Start | Answer | Cancel | Refuse


class VoiceSession:
    def __init__(self, max_audio_bytes: int) -> None:
        self.max_audio_bytes = max_audio_bytes
        self.started = False
        self.speech = True
        self._buffer = bytearray()
        self._overflowed = False
        self.turns = 0
        self.answering: int | None = None  # the turn being answered
        self.audio_bytes_in = 0

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def receive_text(self, raw: str) -> list[Action]:
        try:
            msg = parse_client_message(raw)
        except VoiceError as exc:
            return [Refuse(exc)]
        if isinstance(msg, SessionStart):
            if self.started:
                return [Refuse(VoiceError("already_started", "this session has started"))]
            self.started, self.speech = True, msg.speech
            return [Start(msg.speech)]
        if not self.started:
            return [Refuse(_not_started())]
        if isinstance(msg, InputClear):
            self._end_turn()
            return []
        if isinstance(msg, ResponseCancel):
            return [Cancel(self.answering)] if self.answering is not None else []
        if isinstance(msg, InputText):
            self._end_turn()
            return self._ask(None, msg.text)
        assert isinstance(msg, InputCommit)
        overflowed, audio = self._overflowed, bytes(self._buffer)
        self._end_turn()
        if overflowed:
            return [Refuse(self._too_long("its audio was discarded; ask again, shorter"))]
        if not audio:
            return [Refuse(VoiceError("empty_input", "input.commit with no audio sent"))]
        return self._ask(audio, None)

    def receive_audio(self, data: bytes) -> list[Action]:
        if not self.started:
            return [Refuse(_not_started())]
        if len(data) % 2:
            return [Refuse(VoiceError("bad_audio", "audio is PCM16: an even number of bytes"))]
        self.audio_bytes_in += len(data)
        if self._overflowed:
            return []
        if len(self._buffer) + len(data) > self.max_audio_bytes:
            self._buffer.clear()
            self._overflowed = True
            return [Refuse(self._too_long("the rest of this turn is ignored until input.commit"))]
        self._buffer += data
        return []

    def finished(self, turn: int) -> None:
        """The agent is done with ``turn`` (answered, cancelled or failed)."""
        if self.answering == turn:
            self.answering = None

    def _ask(self, audio: bytes | None, text: str | None) -> list[Action]:
        actions: list[Action] = []
        if self.answering is not None:
            actions.append(Cancel(self.answering))
        self.turns += 1
        self.answering = self.turns
        actions.append(Answer(Turn(self.turns, audio, text, self.speech)))
        return actions

    def _end_turn(self) -> None:
        self._buffer.clear()
        self._overflowed = False

    def _too_long(self, what: str) -> VoiceError:
        seconds = self.max_audio_bytes / BYTES_PER_SECOND
        return VoiceError("audio_too_long", f"a question is at most {seconds:g} s of audio; {what}")


def _not_started() -> VoiceError:
    return VoiceError("not_started", 'send {"type": "session.start"} first')
