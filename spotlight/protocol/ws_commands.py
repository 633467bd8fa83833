"""What a client may say on a stream WebSocket, parsed and checked (pure).

Client to server, one JSON object per message (text, or UTF-8 JSON in a binary frame), at
most ``MAX_COMMAND_BYTES``:

    {"type": "subscribe", "symbols": [...], "channels": [...], "timeframe": "1m",
     "sinceSeq": N, "epoch": "..."}              resume rules as SSE's sinceSeq + epoch
    {"type": "unsubscribe", "symbols": [...], "channels": [...]}
    {"type": "ping", "id": "..."}               id: a string (<= 64 chars), number or null

``parse_command`` returns one of the command types or raises ``CommandError``: a WebSocket's
own error (the connection stays open and the client gets an ``error`` message), never an HTTP
one. The symbol, channel, timeframe and resume rules are the ones SSE uses
(``protocol/params.py``), so the codes and details are the same on both transports.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from spotlight.protocol.errors import InvalidRequest
from spotlight.protocol.params import channel_names, resume_point, symbol_names, timeframe_param
from spotlight.protocol.resume import EventId

__all__ = [
    "MAX_COMMAND_BYTES",
    "Command",
    "CommandError",
    "Ping",
    "Subscribe",
    "Unsubscribe",
    "parse_command",
]

# Commands are a few hundred bytes; anything far larger is refused with an error message.
MAX_COMMAND_BYTES = 16 * 1024
# A ping's id comes back in the pong: a short string or a number (an integer within what a
# JavaScript number holds exactly).
MAX_PING_ID_CHARS = 64
MAX_SAFE_INTEGER = 2**53 - 1


class CommandError(Exception):
    """A command the client got wrong: answered with ``{"error", "detail"}``, never fatal."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Subscribe:
    symbols: tuple[str, ...]
    channels: tuple[str, ...]
    timeframe: str | None  # None: keep the connection's current timeframe
    resume: EventId | None  # None: a snapshot of what was just subscribed


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    symbols: tuple[str, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Ping:
    id: object  # echoed in the pong: None, bool, a number or a short string


Command = Subscribe | Unsubscribe | Ping


def parse_command(raw: str | bytes, known_symbols: Sequence[str]) -> Command:
    if len(raw) > MAX_COMMAND_BYTES:
        raise CommandError("too_large", f"a command is at most {MAX_COMMAND_BYTES} bytes")
    try:
        cmd = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CommandError(
            "bad_json", 'a command is a JSON object, e.g. {"type": "ping"}'
        ) from None
    if not isinstance(cmd, dict):
        raise CommandError("bad_command", 'a command is a JSON object with a "type"')
    kind = cmd.get("type")
    try:
        if kind == "ping":
            return Ping(_ping_id(cmd.get("id")))
        if kind == "subscribe":
            return _subscribe(cmd, known_symbols)
        if kind == "unsubscribe":
            return Unsubscribe(
                tuple(s.strip().upper() for s in _names(cmd, "symbols")),
                tuple(c.strip() for c in _names(cmd, "channels")),
            )
    except InvalidRequest as exc:
        raise CommandError(exc.error, exc.detail) from None
    raise CommandError(
        "unknown_type",
        f"unknown command type {str(kind)[:40]!r}; use subscribe, unsubscribe or ping",
    )


def _ping_id(value: object) -> object:
    """A ping's id is echoed in the pong, so it is bounded: a string of at most
    ``MAX_PING_ID_CHARS`` characters, a finite number, a boolean or null."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) <= MAX_SAFE_INTEGER:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str) and len(value) <= MAX_PING_ID_CHARS:
        return value
    raise CommandError(
        "bad_id",
        f"a ping's id is a string of at most {MAX_PING_ID_CHARS} characters or a number",
    )


def _names(cmd: dict[str, Any], key: str) -> list[str]:
    value = cmd.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CommandError(f"bad_{key}", f"{key} must be a list of strings")
    return value


def _subscribe(cmd: dict[str, Any], known_symbols: Sequence[str]) -> Subscribe:
    raw_symbols = _names(cmd, "symbols")
    symbols = tuple(symbol_names(raw_symbols, known_symbols)) if raw_symbols else ()
    channels = channel_names(_names(cmd, "channels"))
    if not symbols and not channels:
        raise CommandError("missing_symbols", "name symbols and/or channels to subscribe to")
    timeframe = timeframe_param(str(cmd["timeframe"])) if "timeframe" in cmd else None
    return Subscribe(symbols, channels, timeframe, _resume(cmd))


def _resume(cmd: dict[str, Any]) -> EventId | None:
    args: dict[str, str] = {}
    since, epoch = cmd.get("sinceSeq"), cmd.get("epoch")
    if since is not None:
        if isinstance(since, bool) or not isinstance(since, int):
            raise CommandError("bad_sinceseq", f"sinceSeq must be an integer, not {since!r:.40}")
        args["sinceSeq"] = str(since)
    if epoch is not None:
        if not isinstance(epoch, str):
            raise CommandError("bad_epoch", "epoch must be the string id from a previous event")
        args["epoch"] = epoch
    return resume_point(args, None)
