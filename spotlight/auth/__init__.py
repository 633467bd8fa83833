"""Access control: pure primitives and the one gate built from them (no I/O framework; time
from an injected clock). Each module has one job:

- ``access``: the gate every request passes (``Access.check``), on either serving path.

- ``pin``: generate, validate, hash and check PINs (scrypt, constant-time comparison).
- ``keys``: the signing secret, configured or persisted once so sessions survive restarts.
- ``tokens``: signed, expiring session values and stream tokens (``Signer``).
- ``lockout``: growing per-address lockout after wrong PINs, bounded memory.
- ``rate``: a token bucket (the global rate of PIN checks).
- ``origin``: the Origin check for state-changing requests and WebSocket upgrades.
- ``networks``: network allow-lists (metrics) and per-client keys.
- ``cookies``: the session cookie's attributes, decided once (``decide_mode``), and parsing.
"""

from spotlight.auth.access import Access, Denial, LoginOutcome, RequestView
from spotlight.auth.cookies import (
    DEVELOPMENT,
    PRODUCTION,
    CookiePolicy,
    clear_cookie_header,
    decide_mode,
    read_cookie,
    set_cookie_header,
)
from spotlight.auth.keys import SECRET_BYTES, load_or_create_secret, secret_from_text
from spotlight.auth.lockout import Lockout
from spotlight.auth.networks import LOOPBACK, NetworkAllowList, client_key, parse_address
from spotlight.auth.origin import OriginPolicy, normalize_origin
from spotlight.auth.pin import PinCheck, generate_pin, hash_pin, validate_pin, verify_pin
from spotlight.auth.rate import TokenBucket
from spotlight.auth.tokens import (
    DEFAULT_SESSION_TTL_S,
    DEFAULT_STREAM_TOKEN_TTL_S,
    CheckReason,
    SessionCheck,
    Signer,
    TokenCheck,
)

__all__ = [
    "DEFAULT_SESSION_TTL_S",
    "DEFAULT_STREAM_TOKEN_TTL_S",
    "DEVELOPMENT",
    "LOOPBACK",
    "PRODUCTION",
    "SECRET_BYTES",
    "Access",
    "CheckReason",
    "CookiePolicy",
    "Denial",
    "Lockout",
    "LoginOutcome",
    "NetworkAllowList",
    "OriginPolicy",
    "PinCheck",
    "RequestView",
    "SessionCheck",
    "Signer",
    "TokenBucket",
    "TokenCheck",
    "clear_cookie_header",
    "client_key",
    "decide_mode",
    "generate_pin",
    "hash_pin",
    "load_or_create_secret",
    "normalize_origin",
    "parse_address",
    "read_cookie",
    "secret_from_text",
    "set_cookie_header",
    "validate_pin",
    "verify_pin",
]
