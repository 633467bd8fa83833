"""Login, logout, session status and stream tokens (docs/security.md).

- ``POST /api/auth/pin`` ``{"pin": "..."}``: sets the session cookie (200), or 401
  ``bad_pin``, or 429 ``locked_out`` with ``Retry-After`` after repeated wrong PINs.
- The one-click link printed at start is ``/#pin=...``: the page reads the PIN from the URL
  fragment (never sent to servers or proxies, so never logged) and posts it here.
- ``POST /api/auth/logout``: clears the cookie.
- ``GET /api/auth/me``: ``{"authenticated", "auth", "login"}`` (public); ``login`` is an
  opaque id of the session (null when signed out), under which the page keeps its alerts.
- ``GET /api/auth/token``: a short-lived stream token for SSE/WebSocket (session required).
- ``GET /``: the page (public; it shows the login form when signed out).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs

import orjson
import trio
from quart import Quart, Response, jsonify, request

from spotlight.auth.access import LoginOutcome
from spotlight.service import SpotlightService
from spotlight.web.bodies import read_body
from spotlight.web.errors import ApiError

__all__ = ["install_auth_routes", "login_id"]

# A login body is a few bytes; refuse anything large before parsing it.
MAX_LOGIN_BODY = 4096


def install_auth_routes(app: Quart, service: SpotlightService) -> None:
    access = service.access
    # PIN hashes run in worker threads, one at a time (the global rate is Access.pin_rate).
    hashing = trio.CapacityLimiter(1)

    @app.post("/api/auth/pin")
    async def login() -> Response:
        if not access.enabled:
            return jsonify({"ok": True, "auth": "off"})
        pin = await _pin_from_body(service.settings.server.request_timeout_s)
        outcome = access.login_precheck(request.remote_addr)
        if outcome is None:
            # scrypt (~35 ms) in a worker thread, one at a time: never on the event loop.
            ok = await trio.to_thread.run_sync(access.pin_matches, pin, limiter=hashing)
            outcome = access.login_result(request.remote_addr, ok)
        service.metrics.pin_checks.labels(_outcome_label(outcome)).inc()
        return _login_response(outcome)

    @app.post("/api/auth/logout")
    async def logout() -> Response:
        response = jsonify({"ok": True})
        if access.enabled:
            response.headers.add("Set-Cookie", access.logout_cookie())
        return response

    @app.get("/api/auth/me")
    async def me() -> dict[str, Any]:
        cookie = request.headers.get("cookie")
        authenticated = access.session_valid(cookie)
        return {
            "authenticated": authenticated,
            "auth": "pin" if access.enabled else "off",
            "login": login_id(access.owner(cookie)) if authenticated else None,
        }

    @app.get("/api/auth/token")
    async def token() -> dict[str, Any]:
        if not access.enabled:
            raise ApiError(404, "auth_off", "SPOTLIGHT_AUTH=off: streams need no token")
        value, ttl = access.stream_token()
        return {"token": value, "expiresInS": ttl}

    @app.get("/")
    async def index() -> Response:
        return await app.send_static_file("index.html")


async def _pin_from_body(timeout_s: float) -> str:
    """The PIN from a JSON body ``{"pin": "..."}`` or a form body ``pin=...``."""
    raw = await read_body(MAX_LOGIN_BODY, "a login body", timeout_s)
    pin: object = None
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            pin = parse_qs(raw.decode("utf-8"), max_num_fields=8).get("pin", [None])[0]
        except (UnicodeDecodeError, ValueError):
            pin = None
    elif raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError(400, "bad_json", 'send {"pin": "<your PIN>"} as JSON in UTF-8') from None
        pin = body.get("pin") if isinstance(body, dict) else None
    if not isinstance(pin, str) or not pin:
        raise ApiError(400, "missing_pin", 'send {"pin": "<your PIN>"} as JSON')
    return pin


def _outcome_label(outcome: LoginOutcome) -> str:
    if outcome.ok:
        return "ok"
    assert outcome.denial is not None
    return outcome.denial.error


def login_id(owner: str) -> str:
    """An opaque, stable id for one login (the session), for what the page keeps per login
    (its price alerts, in localStorage): a hash, so the session id itself never reaches
    scripts; "local" with authentication off."""
    if owner == "local":
        return owner
    return hashlib.sha256(f"spotlight-login:{owner}".encode()).hexdigest()[:16]


def _login_response(outcome: LoginOutcome) -> Response:
    if outcome.ok:
        response = jsonify({"ok": True})
        assert outcome.set_cookie is not None
        response.headers.add("Set-Cookie", outcome.set_cookie)
        return response
    assert outcome.denial is not None
    body: dict[str, Any] = outcome.denial.body()
    response = jsonify(body)
    response.status_code = outcome.denial.status
    if outcome.denial.status == 429:
        body["retryAfterS"] = int(outcome.retry_after_s + 0.999)
        response = jsonify(body)
        response.status_code = 429
        response.headers["Retry-After"] = str(body["retryAfterS"])
    return response
