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

from quart import Quart, Response, jsonify, request

from spotlight.auth.access import LoginOutcome
from spotlight.service import SpotlightService
from spotlight.web.errors import ApiError

__all__ = ["install_auth_routes", "login_id"]

# A login body is a few bytes; refuse anything large before parsing it.
MAX_LOGIN_BODY = 4096


def install_auth_routes(app: Quart, service: SpotlightService) -> None:
    access = service.access

    @app.post("/api/auth/pin")
    async def login() -> Response:
        if not access.enabled:
            return jsonify({"ok": True, "auth": "off"})
        if (request.content_length or 0) > MAX_LOGIN_BODY:
            raise ApiError(413, "too_large", f"a login body is at most {MAX_LOGIN_BODY} bytes")
        body = await request.get_json(force=True, silent=True)
        pin = body.get("pin") if isinstance(body, dict) else None
        if pin is None:
            pin = (await request.form).get("pin")
        if not isinstance(pin, str) or not pin:
            raise ApiError(400, "missing_pin", 'send {"pin": "<your PIN>"} as JSON')
        return _login_response(access.login(request.remote_addr, pin))

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
