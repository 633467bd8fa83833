"""Access control on the real server: every rule of docs/security.md, over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import trio
from support import http, running_server, sse

from spotlight.auth import Signer, load_or_create_secret

PIN = "246810"


def auth_on(tmp: Path, **extra: Any) -> dict[str, Any]:
    return {"auth": "pin", "pin": PIN, "data_dir": str(tmp), **extra}


async def login(c: httpx.AsyncClient, pin: str = PIN) -> httpx.Response:
    return await c.post("/api/auth/pin", json={"pin": pin})


async def test_protected_endpoints_need_a_session_and_health_stays_public(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path, metrics_networks=())) as srv, http(srv.url) as c:
        assert (await c.get("/health")).status_code == 200
        for path in ("/api/diag", "/api/history?symbol=SPY", "/api/auth/token", "/api/metrics"):
            r = await c.get(path)
            assert r.status_code == 401, path
            assert r.json()["error"] == "unauthorized" and r.json()["detail"]
        me = (await c.get("/api/auth/me")).json()
        assert me == {"authenticated": False, "auth": "pin", "login": None}
        # The stream endpoint, served on the socket, applies the same gate.
        r = await c.get("/realtime/sse?symbols=SPY")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        # Logged in, everything opens.
        assert (await login(c)).status_code == 200
        assert (await c.get("/api/diag")).status_code == 200
        me = (await c.get("/api/auth/me")).json()
        assert me["authenticated"] is True
        # The login's opaque id (the page keeps its alerts under it): stable for the session,
        # another for another login, and not the session id the cookie carries.
        assert re.fullmatch(r"[0-9a-f]{16}", me["login"]), me
        assert (await c.get("/api/auth/me")).json()["login"] == me["login"]
        assert me["login"] not in c.cookies["spotlight_session"]
        async with http(srv.url) as other:
            assert (await login(other)).status_code == 200
            assert (await other.get("/api/auth/me")).json()["login"] != me["login"]
        async with sse(c, "/realtime/sse?symbols=SPY") as s:
            assert (await s.until(lambda f: f.event == "snapshot")).epoch == srv.service.epoch.id


async def test_cookie_attributes_in_development_mode(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        r = await login(c)
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("spotlight_session=")
        for part in ("HttpOnly", "Path=/", "Max-Age=2592000", "SameSite=Lax"):
            assert part in cookie, (part, cookie)
        assert "Secure" not in cookie
        out = (await c.post("/api/auth/logout")).headers["set-cookie"]
        assert "Max-Age=0" in out and "spotlight_session=" in out
        assert (await c.get("/api/diag")).status_code == 401  # the client dropped the cookie


async def test_cookie_attributes_in_production_mode(tmp_path: Path) -> None:
    public = "https://spot.example.com"
    async with running_server(**auth_on(tmp_path, public_url=public)) as srv, http(srv.url) as c:
        # A browser behind the HTTPS proxy sends the public origin: it counts as our own.
        r = await c.post("/api/auth/pin", json={"pin": PIN}, headers={"Origin": public})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie
        assert srv.service.access.diag()["cookieMode"] == "production"


async def test_wrong_pins_lock_the_address_out_with_retry_after(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        for _ in range(5):
            r = await login(c, "000000")
            assert r.status_code == 401 and r.json()["error"] == "bad_pin"
        r = await login(c, "000000")
        assert r.status_code == 429 and r.json()["error"] == "locked_out"
        assert int(r.headers["retry-after"]) == r.json()["retryAfterS"] >= 29
        # Even the right PIN is refused while locked: guessing cannot continue.
        r = await login(c)
        assert r.status_code == 429
        assert srv.service.access.diag()["lockout"]["locked"] == 1
        for bad in (b"not json", b"{}", b'{"pin": 123456}'):
            r = await c.post(
                "/api/auth/pin", content=bad, headers={"content-type": "application/json"}
            )
            assert r.status_code in (400, 429), bad


async def test_sessions_survive_a_restart_with_the_same_data_dir(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        await login(c)
        cookies = dict(c.cookies)
    async with running_server(**auth_on(tmp_path, pin=None)) as srv2:
        async with http(srv2.url) as c2:
            c2.cookies.update(cookies)
            assert (await c2.get("/api/diag")).status_code == 200
            assert srv2.service.access.generated_pin is not None  # no PIN set: one generated
    async with running_server(**auth_on(tmp_path / "other")) as srv3, http(srv3.url) as c3:
        c3.cookies.update(cookies)
        assert (await c3.get("/api/diag")).status_code == 401  # another key: not ours


async def test_stream_tokens_open_streams_without_a_cookie(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        await login(c)
        body = (await c.get("/api/auth/token")).json()
        assert body["expiresInS"] == srv.service.settings.auth.stream_token_ttl_s
        async with http(srv.url) as anon:  # no cookie, as a cross-origin client would be
            url = f"/realtime/sse?symbols=SPY&token={body['token']}"
            async with sse(anon, url) as s:
                assert (await s.until(lambda f: f.event == "snapshot")).epoch
            r = await anon.get("/realtime/sse?symbols=SPY&token=garbage")
            assert r.status_code == 401 and r.json()["error"] == "bad_token"
            # A token that expired (signed with the server's key, an hour ago).
            secret = load_or_create_secret(tmp_path / "secret_key")
            old = Signer(secret, clock=lambda: time.time() - 3600).issue_stream_token(60)
            r = await anon.get(f"/realtime/sse?symbols=SPY&token={old}")
            assert r.status_code == 401 and "expired" in r.json()["detail"]
            # A session value is not a stream token.
            session = c.cookies["spotlight_session"]
            r = await anon.get(f"/realtime/sse?symbols=SPY&token={session}")
            assert r.status_code == 401
            # Tokens only open streams, not the API.
            r = await anon.get(f"/api/diag?token={body['token']}")
            assert r.status_code == 401


async def test_origin_is_checked_on_state_changing_requests(tmp_path: Path) -> None:
    extra = {"allowed_origins": ("https://desk.example",)}
    async with running_server(**auth_on(tmp_path, **extra)) as srv, http(srv.url) as c:
        evil = {"Origin": "https://evil.example"}
        r = await c.post("/api/auth/pin", json={"pin": PIN}, headers=evil)
        assert r.status_code == 403 and r.json()["error"] == "forbidden_origin"
        r = await c.post("/api/auth/logout", headers={"Origin": "null"})
        assert r.status_code == 403
        own = {"Origin": srv.url}
        assert (await c.post("/api/auth/pin", json={"pin": PIN}, headers=own)).status_code == 200
        desk = {"Origin": "https://desk.example"}
        assert (await c.post("/api/auth/logout", headers=desk)).status_code == 200
        # Reads are not state-changing: a foreign Origin on GET is answered (CORS decides
        # whether a browser lets the page see it).
        assert (await c.get("/health", headers=evil)).status_code == 200


async def test_cors_is_off_unless_configured(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        r = await c.get("/api/auth/me", headers={"Origin": "https://app.example"})
        assert "access-control-allow-origin" not in r.headers
    cors = {"cors_origins": ("https://app.example",), "allowed_origins": ("https://app.example",)}
    async with running_server(**auth_on(tmp_path, **cors)) as srv, http(srv.url) as c:
        origin = {"Origin": "https://app.example"}
        r = await c.get("/api/auth/me", headers=origin)
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        assert r.headers["access-control-allow-credentials"] == "true"
        pre = await c.options(
            "/api/history", headers={**origin, "Access-Control-Request-Method": "GET"}
        )
        assert pre.status_code == 204 and "GET" in pre.headers["access-control-allow-methods"]
        r = await c.get("/api/auth/me", headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_metrics_by_network_or_bearer_token(tmp_path: Path) -> None:
    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        # Default: loopback may scrape without logging in.
        assert (await c.get("/api/metrics")).status_code == 200
    closed = {"metrics_networks": (), "metrics_token": "scrape-secret"}
    async with running_server(**auth_on(tmp_path, **closed)) as srv, http(srv.url) as c:
        assert (await c.get("/api/metrics")).status_code == 401
        r = await c.get("/api/metrics", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        r = await c.get("/api/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert r.status_code == 200 and "spotlight_sse_connections" in r.text


async def test_auth_off_is_explicit_and_visible(tmp_path: Path) -> None:
    async with running_server(auth="off") as srv, http(srv.url) as c:
        diag = (await c.get("/api/diag")).json()
        assert diag["access"]["auth"] == "off" and "SPOTLIGHT_AUTH=off" in diag["access"]["warning"]
        assert (await c.get("/api/auth/me")).json() == {
            "authenticated": True,
            "auth": "off",
            "login": "local",
        }


async def test_generated_pin_is_printed_with_a_working_login_link(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTLIGHT_")}
    env.update(PORT="0", SPOTLIGHT_SIM_HISTORY_DAYS="0", SPOTLIGHT_DATA_DIR=str(tmp_path))
    proc = _start(env)
    assert proc.stderr is not None
    try:
        link = url = None
        with trio.fail_after(30):
            while url is None:
                line = await trio.to_thread.run_sync(proc.stderr.readline)
                assert line, "server exited early"
                if m := re.search(r"One-click login: (\S+)", line):
                    link = m.group(1)
                if "Spotlight on http://" in line:
                    url = line.split("Spotlight on ", 1)[1].split()[0]
        # The PIN rides in the fragment, which browsers never send (so it is never logged);
        # the page posts it (tests/e2e checks that in a browser).
        assert link is not None
        m = re.fullmatch(rf"{re.escape(url)}/#pin=(\d{{6}})", link)
        assert m is not None, link
        async with httpx.AsyncClient(base_url=url, timeout=10) as c:
            assert (await c.get("/api/diag")).status_code == 401
            assert (await login(c, m.group(1))).status_code == 200
            assert (await c.get("/api/diag")).status_code == 200
            page = await c.get("/")
            assert page.status_code == 200 and "/static/js/app.js" in page.text
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "spotlight", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


async def test_websocket_upgrades_are_refused_with_distinct_close_codes(tmp_path: Path) -> None:
    """No token: 4401 (stop retrying until logged in); foreign Origin: 4403."""
    from trio_websocket import ConnectionClosed, open_websocket_url

    async with running_server(**auth_on(tmp_path)) as srv:
        ws_url = srv.url.replace("http://", "ws://") + "/ws/prices"
        cases: list[tuple[str, list[tuple[bytes, bytes]], int]] = [
            (ws_url, [], 4401),
            (ws_url + "?token=garbage", [], 4401),
            (ws_url, [(b"Origin", b"https://evil.example")], 4403),
        ]
        for url, headers, code in cases:
            with trio.fail_after(10):
                async with open_websocket_url(url, extra_headers=headers) as ws:
                    try:
                        await ws.get_message()
                        raise AssertionError("the server should have closed the socket")
                    except ConnectionClosed as closed:
                        assert closed.reason is not None
                        assert closed.reason.code == code, (url, headers, closed.reason)


async def test_a_stream_token_opens_the_websocket(tmp_path: Path) -> None:
    from trio_websocket import open_websocket_url

    async with running_server(**auth_on(tmp_path)) as srv, http(srv.url) as c:
        await login(c)
        token = (await c.get("/api/auth/token")).json()["token"]
        url = srv.url.replace("http://", "ws://") + f"/ws/prices?token={token}"
        async with open_websocket_url(url) as ws:
            await ws.send_message('{"type": "subscribe", "symbols": ["SPY"]}')
            with trio.fail_after(10):
                first = await ws.get_message()
            assert '"type":"snapshot"' in str(first)
