"""Signed, expiring session values (the cookie) and stream tokens (``?token=`` on SSE/WS).

Both are stateless: the server keeps no list of issued values, it checks the signature and
the expiry. So a value stays valid until it expires even after logout (logout only deletes
the cookie from the browser); changing the secret revokes every value at once.

Wire format (version 1), URL-safe base64 without padding, 88 characters::

    version (1 byte) | purpose (1) | issued_at (float64, Unix s) | expires_at (float64)
    | random id (16 bytes) | HMAC-SHA256 over all of the above (32 bytes)

Each purpose signs with its own key, derived from the secret as HMAC(secret, label), and its
purpose byte is inside the signed part: a session value presented as a stream token (or the
reverse) fails the signature check. The random id makes every value unique, so two logins in
the same second never share a value.

Checks never raise on client input: the verdict says ``missing`` (no value), ``malformed``
(not a value this server could have written), ``bad-signature`` (forged, tampered with,
signed with another secret or for another purpose) or ``expired`` (the clock reached
``expires_at``; a value is valid while ``now < expires_at``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "DEFAULT_SESSION_TTL_S",
    "DEFAULT_STREAM_TOKEN_TTL_S",
    "CheckReason",
    "SessionCheck",
    "Signer",
    "TokenCheck",
]

DEFAULT_SESSION_TTL_S: Final = 30 * 86400.0  # matches the cookie's Max-Age
# A stream token only has to live from GET /api/auth/token to the connect that follows,
# and it travels in a URL that proxies may log: one minute covers a slow reconnect.
DEFAULT_STREAM_TOKEN_TTL_S: Final = 60.0
MIN_SECRET_BYTES: Final = 32

CheckReason = Literal["missing", "malformed", "bad-signature", "expired"]

_VERSION: Final = 1
_PURPOSE_SESSION: Final = 1
_PURPOSE_STREAM: Final = 2
_BODY = struct.Struct(">BBdd16s")
_MAC_BYTES: Final = 32
_RAW_BYTES: Final = _BODY.size + _MAC_BYTES  # 66
_TOKEN_CHARS: Final = (_RAW_BYTES * 8 + 5) // 6  # 88, unpadded base64
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
# (ok, reason, expires_at, id): id is the value's random id (hex) when the signature is good
_Outcome = tuple[bool, CheckReason | None, float | None, str | None]


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    # None when ok; otherwise why the value was refused.
    reason: CheckReason | None = None
    # Unix seconds at which the value stops being valid: set when ok or "expired" (the
    # signature was good), None when the value could not be trusted at all.
    expires_at: float | None = None
    # The value's random id (hex), when its signature was good: names one login session.
    id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionCheck(_Verdict):
    """Verdict on a session cookie value."""


@dataclass(frozen=True, slots=True)
class TokenCheck(_Verdict):
    """Verdict on a stream token."""


class Signer:
    """Issues and checks session values and stream tokens with one secret and one clock.

    ``clock`` returns Unix seconds (``time.time``); tests pass a fake. Wall time, not a
    monotonic clock, because values outlive the process that issued them.
    """

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
            got = len(secret) if isinstance(secret, bytes) else type(secret).__name__
            raise ValueError(
                f"Signer needs a secret of at least {MIN_SECRET_BYTES} bytes, got {got}; use "
                "load_or_create_secret() or secret_from_text()"
            )
        self._clock = clock
        self._keys = {
            _PURPOSE_SESSION: _derive_key(secret, b"spotlight/session/v1"),
            _PURPOSE_STREAM: _derive_key(secret, b"spotlight/stream-token/v1"),
        }

    def issue_session(self, ttl_s: float = DEFAULT_SESSION_TTL_S) -> str:
        return self._issue(_PURPOSE_SESSION, ttl_s)

    def check_session(self, value: str | None) -> SessionCheck:
        return SessionCheck(*self._check(_PURPOSE_SESSION, value))

    def issue_stream_token(self, ttl_s: float = DEFAULT_STREAM_TOKEN_TTL_S) -> str:
        return self._issue(_PURPOSE_STREAM, ttl_s)

    def check_stream_token(self, value: str | None) -> TokenCheck:
        return TokenCheck(*self._check(_PURPOSE_STREAM, value))

    def _issue(self, purpose: int, ttl_s: float) -> str:
        if not (math.isfinite(ttl_s) and ttl_s > 0):
            raise ValueError(f"token ttl_s must be a positive number of seconds, not {ttl_s!r}")
        issued = float(self._clock())
        body = _BODY.pack(_VERSION, purpose, issued, issued + ttl_s, secrets.token_bytes(16))
        mac = hmac.new(self._keys[purpose], body, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(body + mac).rstrip(b"=").decode("ascii")

    def _check(self, purpose: int, value: str | None) -> _Outcome:
        if not value:
            return False, "missing", None, None
        raw = _decode(value)
        if raw is None:
            return False, "malformed", None, None
        body, mac = raw[: _BODY.size], raw[_BODY.size :]
        version, got_purpose, _issued, expires_at, raw_id = _BODY.unpack(body)
        if version != _VERSION:
            return False, "malformed", None, None
        expected = hmac.new(self._keys[purpose], body, hashlib.sha256).digest()
        # The purpose test is redundant with the per-purpose key; it stays as a second lock.
        if not hmac.compare_digest(mac, expected) or got_purpose != purpose:
            return False, "bad-signature", None, None
        if not self._clock() < expires_at:
            return False, "expired", expires_at, raw_id.hex()
        return True, None, expires_at, raw_id.hex()


def _derive_key(secret: bytes, label: bytes) -> bytes:
    return hmac.new(secret, label, hashlib.sha256).digest()


def _decode(value: object) -> bytes | None:
    """The raw bytes of a well-formed value, or None (never raises on client input)."""
    if not isinstance(value, str) or len(value) != _TOKEN_CHARS:
        return None
    if not _TOKEN_RE.fullmatch(value):
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _RAW_BYTES else None
