"""The WebSocket frames a server writes besides messages: close, ping, pong (pure).

Server frames are never masked (RFC 6455 section 5.1), so they are plain bytes built once;
message frames are built by the hub (``hub.event.ws_frame``). Parsing what a client sends is
wsproto's job (``clients/ws_inbound.py``): it checks masking, opcodes, fragmentation and UTF-8.

Close codes used here (section 7.4.1) besides the table in ``protocol/close.py``:
1000 normal closure, 1002 protocol error, 1003 unsupported data, 1007 invalid payload
(bad UTF-8), 1008 policy violation, 1009 message too big, 1011 internal error.
"""

from __future__ import annotations

import struct

__all__ = [
    "INTERNAL_ERROR",
    "MESSAGE_TOO_BIG",
    "NORMAL",
    "PROTOCOL_ERROR",
    "close_frame",
    "ping_frame",
    "pong_frame",
]

NORMAL = 1000
PROTOCOL_ERROR = 1002
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011

_CLOSE, _PING, _PONG = 0x8, 0x9, 0xA
_MAX_CONTROL = 125  # control frames carry at most 125 bytes (section 5.5)


def _control(opcode: int, payload: bytes) -> bytes:
    if len(payload) > _MAX_CONTROL:
        raise ValueError(
            f"control frame payload is at most {_MAX_CONTROL} bytes, not {len(payload)}"
        )
    return bytes((0x80 | opcode, len(payload))) + payload


def close_frame(code: int, reason: str = "") -> bytes:
    """A close frame; ``reason`` is cut to fit (UTF-8, whole characters only)."""
    raw = reason.encode()
    if len(raw) > _MAX_CONTROL - 2:
        raw = raw[: _MAX_CONTROL - 2].decode(errors="ignore").encode()
    return _control(_CLOSE, struct.pack("!H", code) + raw)


def ping_frame(payload: bytes = b"") -> bytes:
    return _control(_PING, payload)


def pong_frame(payload: bytes = b"") -> bytes:
    """The answer to a ping: the same payload (section 5.5.3)."""
    return _control(_PONG, payload)
