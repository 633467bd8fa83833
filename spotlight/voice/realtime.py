"""The OpenAI Realtime protocol over WebSocket, as the relay speaks it (sans-I/O).

``client_*`` build the events Spotlight sends upstream (JSON text frames); ``parse_event``
turns what the provider sends into the few typed events the relay acts on, and ignores the
rest (the protocol has many informational events). Event names of both the beta protocol
(``response.audio.delta``) and the GA one (``response.output_audio.delta``) are understood.

A push-to-talk session: ``turn_detection`` is off, the relay commits the trader's audio
itself and asks for a response; audio is ``pcm16`` (24 kHz mono) both ways.

Tool calls: the model ends a response with one or more ``function_call`` items; Spotlight
runs each tool, sends a ``function_call_output`` item with the same ``call_id``, and asks
for the next response (``response.create``), which speaks the answer.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "AudioDelta",
    "FunctionCall",
    "ResponseDone",
    "TextDelta",
    "TextDone",
    "UpstreamError",
    "UserTranscript",
    "client_audio_append",
    "client_commit",
    "client_function_output",
    "client_response_cancel",
    "client_response_create",
    "client_session_update",
    "client_user_text",
    "parse_event",
]

INSTRUCTIONS = (
    "You are Spotlight's trading coach for SPX 0DTE options traders. Answer in one or two "
    "short spoken sentences. Use the tools for every number (prices, levels, gamma walls and "
    "flip, regime, setups, flow); never guess one. If a tool says data is not ready, say so."
)


def _dumps(event: dict[str, Any]) -> str:
    return orjson.dumps(event).decode()


def client_session_update(tools: list[dict[str, Any]], instructions: str = INSTRUCTIONS) -> str:
    return _dumps(
        {
            "type": "session.update",
            "session": {
                "modalities": ["audio", "text"],
                "instructions": instructions,
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "input_audio_transcription": {"model": "whisper-1"},
                "turn_detection": None,
                "tools": tools,
                "tool_choice": "auto",
            },
        }
    )


def client_audio_append(pcm: bytes) -> str:
    return _dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(pcm).decode()})


def client_commit() -> str:
    return _dumps({"type": "input_audio_buffer.commit"})


def client_user_text(text: str) -> str:
    return _dumps(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": text}],
            },
        }
    )


def client_function_output(call_id: str, output: dict[str, Any]) -> str:
    return _dumps(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": call_id,
                "output": orjson.dumps(output).decode(),
            },
        }
    )


def client_response_create() -> str:
    return _dumps({"type": "response.create"})


def client_response_cancel() -> str:
    return _dumps({"type": "response.cancel"})


# -- what the provider sends ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UserTranscript:
    text: str


@dataclass(frozen=True, slots=True)
class AudioDelta:
    pcm: bytes


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class TextDone:
    text: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    call_id: str
    name: str
    arguments: str  # JSON text, as the model wrote it


@dataclass(frozen=True, slots=True)
class ResponseDone:
    status: str  # completed, cancelled, failed, incomplete
    detail: str


@dataclass(frozen=True, slots=True)
class UpstreamError:
    code: str
    message: str


Event = (
    UserTranscript | AudioDelta | TextDelta | TextDone | FunctionCall | ResponseDone | UpstreamError
)

_AUDIO = ("response.audio.delta", "response.output_audio.delta")
_TEXT_DELTA = (
    "response.audio_transcript.delta",
    "response.output_audio_transcript.delta",
    "response.text.delta",
    "response.output_text.delta",
)
_TEXT_DONE = {
    "response.audio_transcript.done": "transcript",
    "response.output_audio_transcript.done": "transcript",
    "response.text.done": "text",
    "response.output_text.done": "text",
}


class ProtocolViolation(ValueError):
    """The provider sent something that is not the protocol (counted as ``protocol``)."""


def parse_event(raw: str | bytes) -> Event | None:
    """One upstream message as an event, or None for the ones the relay does not act on."""
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ProtocolViolation("the provider sent a message that is not JSON") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise ProtocolViolation("the provider sent a message without a type")
    kind = msg["type"]
    if kind in _AUDIO:
        try:
            return AudioDelta(base64.b64decode(str(msg.get("delta", "")), validate=True))
        except (binascii.Error, ValueError):
            raise ProtocolViolation("an audio delta that is not base64") from None
    if kind in _TEXT_DELTA:
        return TextDelta(str(msg.get("delta", "")))
    if kind in _TEXT_DONE:
        return TextDone(str(msg.get(_TEXT_DONE[kind], "")))
    if kind == "conversation.item.input_audio_transcription.completed":
        return UserTranscript(str(msg.get("transcript", "")).strip())
    if kind == "response.output_item.done":
        item = msg.get("item") or {}
        if isinstance(item, dict) and item.get("type") == "function_call":
            return FunctionCall(
                str(item.get("call_id", "")),
                str(item.get("name", "")),
                str(item.get("arguments") or "{}"),
            )
        return None
    if kind == "response.done":
        response = msg.get("response") or {}
        status = str(response.get("status", "completed"))
        details = response.get("status_details") or {}
        error = details.get("error") if isinstance(details, dict) else None
        detail = str((error or {}).get("message") or (details or {}).get("reason") or "")
        return ResponseDone(status, detail)
    if kind == "error":
        error = msg.get("error") or {}
        return UpstreamError(
            str(error.get("code") or error.get("type") or "error"), str(error.get("message", ""))
        )
    return None
