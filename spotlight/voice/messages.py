"""What a voice client sends as text frames, parsed into commands (pure).

Control messages are JSON objects with a ``type`` (docs/voice.md has the protocol):

    {"type": "session.start", "speech": true}   begin; speech=false: text answers only
    {"type": "input.commit"}                    the audio sent since the last commit is a question
    {"type": "input.clear"}                     forget the audio sent since the last commit
    {"type": "input.text", "text": "..."}       a typed question
    {"type": "response.cancel"}                 stop the answer being given

Binary frames are audio (PCM16 mono 24 kHz) and are not parsed here. Anything malformed
raises ``VoiceError`` with a stable ``error`` code and a ``detail`` that says what to send
instead; the endpoint answers with an ``error`` message and the connection stays up.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

__all__ = [
    "CLIENT_TYPES",
    "InputClear",
    "InputCommit",
    "InputText",
    "ResponseCancel",
    "SessionStart",
    "VoiceError",
    "parse_client_message",
]

# A typed question longer than this is not a question (and would be read aloud in full).
MAX_TEXT_CHARS = 500


class VoiceError(Exception):
    """A client mistake, answered with ``{"type": "error", "payload": to_json()}``."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class SessionStart:
    speech: bool = True  # spoken answers wanted (binary audio frames)


@dataclass(frozen=True, slots=True)
class InputCommit:
    pass


@dataclass(frozen=True, slots=True)
class InputClear:
    pass


@dataclass(frozen=True, slots=True)
class InputText:
    text: str


@dataclass(frozen=True, slots=True)
class ResponseCancel:
    pass


ClientMessage = SessionStart | InputCommit | InputClear | InputText | ResponseCancel

CLIENT_TYPES = ("session.start", "input.commit", "input.clear", "input.text", "response.cancel")


def parse_client_message(raw: str) -> ClientMessage:
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise VoiceError(
            "bad_json", 'a text frame must be one JSON object, e.g. {"type": "input.commit"}'
        ) from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise VoiceError("bad_message", "a control message is a JSON object with a string type")
    kind = msg["type"]
    if kind == "session.start":
        speech = msg.get("speech", True)
        if not isinstance(speech, bool):
            raise VoiceError("bad_message", "session.start: speech must be true or false")
        return SessionStart(speech)
    if kind == "input.commit":
        return InputCommit()
    if kind == "input.clear":
        return InputClear()
    if kind == "response.cancel":
        return ResponseCancel()
    if kind == "input.text":
        text = msg.get("text")
        if not isinstance(text, str) or not text.strip():
            raise VoiceError("bad_message", "input.text needs a non-empty string text")
        if len(text) > MAX_TEXT_CHARS:
            raise VoiceError("text_too_long", f"input.text is at most {MAX_TEXT_CHARS} characters")
        return InputText(text.strip())
    raise VoiceError(
        "unknown_type", f"unknown message type {kind[:40]!r}; known: {', '.join(CLIENT_TYPES)}"
    )
