"""Access control: the one gate every request passes, whichever path serves it.

Requests reach Spotlight two ways: through hypercorn and the ASGI app (``web/app.py``) or,
for SSE streams on a fresh connection, straight from the connection router
(``web/sse_socket.py``). Both describe the request as a ``RequestView`` and ask
``Access.check``; a ``Denial`` becomes the same JSON error on either path. The rules
(docs/security.md):

1. A state-changing request (POST, PUT, PATCH, DELETE) or a WebSocket upgrade whose Origin is
   neither the server's own nor in ``SPOTLIGHT_ALLOWED_ORIGINS`` is refused (403): it is a
   cross-site request forgery or WebSocket hijacking attempt. Non-browser clients send no
   Origin and are not affected.
2. With ``SPOTLIGHT_AUTH=off`` nothing else is checked (local development; logged and shown
   in /api/diag as a warning).
3. Public: ``/health``, the page and its static files, ``/api/auth/pin`` and ``/api/auth/me``.
4. ``/api/metrics``: a bearer token (``SPOTLIGHT_METRICS_TOKEN``), or a client address in
   ``SPOTLIGHT_METRICS_NETWORKS`` (loopback by default), or a session.
5. Streams (``/realtime/sse``, ``/ws/...``, ``/voice/ws``): a session cookie or a stream
   token (``?token=``, from ``GET /api/auth/token``), for clients that cannot send the
   cookie (cross-origin).
6. Everything else: a session cookie.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from spotlight.auth.cookies import (
    CookiePolicy,
    clear_cookie_header,
    decide_mode,
    read_cookie,
    set_cookie_header,
)
from spotlight.auth.keys import load_or_create_secret, secret_from_text
from spotlight.auth.lockout import Lockout
from spotlight.auth.networks import NetworkAllowList, client_key
from spotlight.auth.origin import OriginPolicy
from spotlight.auth.pin import PinCheck, generate_pin
from spotlight.auth.rate import TokenBucket
from spotlight.auth.tokens import Signer
from spotlight.config import ConfigError, Settings

__all__ = ["Access", "Denial", "LoginOutcome", "RequestView"]

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/", "/health", "/api/auth/pin", "/api/auth/me", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/",)
STREAM_PATHS = frozenset({"/realtime/sse", "/voice/ws"})
STREAM_PREFIXES = ("/ws/",)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class RequestView:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-case names
    client: str | None  # peer address
    scheme: str = "http"
    websocket: bool = False


@dataclass(frozen=True, slots=True)
class Denial:
    status: int
    error: str
    detail: str

    def body(self) -> dict[str, str]:
        return {"error": self.error, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    ok: bool
    set_cookie: str | None = None  # Set-Cookie header value on success
    denial: Denial | None = None
    retry_after_s: float = 0.0


class Access:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = settings.auth.mode != "off"
        self.mode = decide_mode(settings.auth.public_url)
        self.cookies = CookiePolicy.for_mode(self.mode)
        # Behind a TLS-terminating proxy the request looks like plain http while browsers send
        # Origin: https://...; the public URL's origin is therefore always the server's own.
        own = (_origin_of(settings.auth.public_url),) if settings.auth.public_url else ()
        try:
            self.origins = OriginPolicy((*settings.auth.allowed_origins, *own))
            OriginPolicy(settings.auth.cors_origins)  # validates the entries
            self.metrics_networks = NetworkAllowList(settings.auth.metrics_networks)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self.cors_origins = frozenset(o.rstrip("/").lower() for o in settings.auth.cors_origins)
        self.metrics_token = settings.auth.metrics_token
        self.stream_token_ttl_s = settings.auth.stream_token_ttl_s
        self.lockout = Lockout(monotonic)
        # Every PIN check costs ~35 ms of CPU (scrypt): bounded for the whole server too.
        self.pin_rate = TokenBucket(
            settings.auth.pin_checks_per_s, max(1.0, 2 * settings.auth.pin_checks_per_s), monotonic
        )
        self.generated_pin: str | None = None
        self.pin: PinCheck | None = None
        self.signer: Signer | None = None
        if self.enabled:
            pin = settings.auth.pin
            if pin is None:
                pin = self.generated_pin = generate_pin()
            try:
                self.pin = PinCheck(pin)
                secret = (
                    secret_from_text(settings.auth.secret_key)
                    if settings.auth.secret_key
                    else load_or_create_secret(Path(settings.server.data_dir) / "secret_key")
                )
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            self.signer = Signer(secret, clock)

    # -- the gate -------------------------------------------------------------------------
    def check(self, req: RequestView) -> Denial | None:
        if (req.method in STATE_CHANGING or req.websocket) and not self.origins.allows(
            req.headers.get("origin"), req.headers.get("host"), req.scheme
        ):
            return Denial(
                403,
                "forbidden_origin",
                f"Origin {req.headers.get('origin')!r} may not make this request; "
                "add it to SPOTLIGHT_ALLOWED_ORIGINS if it should",
            )
        if not self.enabled:
            return None
        path = req.path
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return None
        if path == "/api/metrics":
            if self._metrics_allowed(req) or self.has_session(req):
                return None
            return Denial(
                401,
                "unauthorized",
                "metrics need 'Authorization: Bearer <SPOTLIGHT_METRICS_TOKEN>', a "
                "client address in SPOTLIGHT_METRICS_NETWORKS, or a session",
            )
        if path in STREAM_PATHS or path.startswith(STREAM_PREFIXES):
            if self.has_session(req):
                return None
            token = req.query.get("token")
            if token is None:
                return Denial(
                    401,
                    "unauthorized",
                    "log in (POST /api/auth/pin), or pass ?token= from GET /api/auth/token",
                )
            assert self.signer is not None
            check = self.signer.check_stream_token(token)
            if check.ok:
                return None
            return Denial(
                401,
                "bad_token",
                f"stream token {check.reason}: fetch a new one from /api/auth/token",
            )
        if self.has_session(req):
            return None
        return Denial(401, "unauthorized", 'log in first: POST /api/auth/pin with {"pin": ...}')

    def has_session(self, req: RequestView) -> bool:
        return self.session_valid(req.headers.get("cookie"))

    def session_valid(self, cookie_header: str | None) -> bool:
        if not self.enabled:
            return True
        assert self.signer is not None
        return self.signer.check_session(read_cookie(cookie_header, self.cookies.name)).ok

    def owner(self, cookie_header: str | None) -> str:
        """Who is asking, for scoping replays: the login session's id ("local" with auth off,
        "anonymous" without a valid session)."""
        if not self.enabled:
            return "local"
        assert self.signer is not None
        check = self.signer.check_session(read_cookie(cookie_header, self.cookies.name))
        return check.id if check.ok and check.id else "anonymous"

    def _metrics_allowed(self, req: RequestView) -> bool:
        if self.metrics_networks.allows(req.client):
            return True
        if self.metrics_token is None:
            return False
        auth = req.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            value.strip().encode(), self.metrics_token.encode()
        )

    # -- login, logout, tokens ------------------------------------------------------------
    def login(self, client: str | None, pin: object) -> LoginOutcome:
        """The whole login as one synchronous step (the PIN hashed on the caller's thread).
        The web route uses the three steps below instead, with the hash in a worker thread."""
        early = self.login_precheck(client)
        if early is not None:
            return early
        return self.login_result(client, self.pin_matches(pin))

    def login_precheck(self, client: str | None) -> LoginOutcome | None:
        """Before any hashing: the address's lockout, then the global rate of PIN checks.
        None: go ahead and check the PIN (``pin_matches``), then call ``login_result``."""
        assert self.pin is not None
        wait = self.lockout.retry_after(client_key(client))
        if wait > 0:
            return LoginOutcome(False, denial=_locked(wait), retry_after_s=wait)
        if not self.pin_rate.take():
            wait = max(1.0, self.pin_rate.wait_s())
            return LoginOutcome(
                False,
                denial=Denial(
                    429, "busy", "too many PIN logins on this server right now; retry shortly"
                ),
                retry_after_s=wait,
            )
        return None

    def pin_matches(self, pin: object) -> bool:
        """The expensive part (scrypt, ~35 ms): safe to run in a worker thread."""
        assert self.pin is not None
        return isinstance(pin, str) and self.pin.matches(pin)

    def login_result(self, client: str | None, ok: bool) -> LoginOutcome:
        assert self.signer is not None
        # An IPv6 host controls its whole /64: count it as one client (client_key).
        who = client_key(client)
        if ok:
            self.lockout.success(who)
            value = self.signer.issue_session(self.cookies.max_age_s)
            return LoginOutcome(True, set_cookie=set_cookie_header(self.cookies, value))
        lock = self.lockout.failure(who)
        if lock > 0:
            return LoginOutcome(False, denial=_locked(lock), retry_after_s=lock)
        return LoginOutcome(False, denial=Denial(401, "bad_pin", "wrong PIN"))

    def logout_cookie(self) -> str:
        return clear_cookie_header(self.cookies)

    def stream_token(self) -> tuple[str, float]:
        assert self.signer is not None
        return self.signer.issue_stream_token(self.stream_token_ttl_s), self.stream_token_ttl_s

    # -- CORS (off unless SPOTLIGHT_CORS_ORIGINS lists origins) ---------------------------
    def cors_headers(self, origin: str | None) -> list[tuple[str, str]]:
        if not origin or origin.rstrip("/").lower() not in self.cors_origins:
            return []
        return [
            ("access-control-allow-origin", origin),
            ("access-control-allow-credentials", "true"),
            ("vary", "Origin"),
        ]

    def diag(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "auth": "pin" if self.enabled else "off",
            "cookieMode": self.mode,
            "lockout": self.lockout.stats(),
            "pinChecks": {
                "perSecond": self.pin_rate.rate,
                "checked": self.pin_rate.taken,
                "refusedBusy": self.pin_rate.refused,
            },
            "cors": sorted(self.cors_origins),
        }
        if not self.enabled:
            out["warning"] = "SPOTLIGHT_AUTH=off: every endpoint is open (local development only)"
        return out


def _origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (SPOTLIGHT_PUBLIC_URL may carry a path)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"SPOTLIGHT_PUBLIC_URL={url!r} must look like https://host[:port][/path]")
    return f"{parts.scheme}://{parts.netloc}"


def _locked(wait: float) -> Denial:
    return Denial(
        429,
        "locked_out",
        f"too many wrong PINs from this address; try again in {int(wait + 0.999)} s",
    )
