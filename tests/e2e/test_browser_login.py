"""A real headless Chromium signs in with the PIN, survives a reload and a server restart,
signs out, and is locked out after repeated wrong PINs, against the real server run as
``python -m spotlight serve`` subprocesses.

It drives Debian's chromium (``/usr/bin/chromium``) through Playwright's sync API; nothing is
downloaded (``bash .ci/setup test`` installs both). Screenshots of every state are saved in
``test-artifacts/`` at the repository root for a person to look at.
"""

from __future__ import annotations

import re
from contextlib import suppress
from pathlib import Path

import pytest
from server_process import PIN, ROOT, Server, spotlight_server, stop_gracefully

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, expect, sync_playwright

    PLAYWRIGHT_MISSING: str | None = None
except ImportError as exc:  # pragma: no cover - reported as a failure, never a skip
    PLAYWRIGHT_MISSING = str(exc)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
WRONG_PIN = "135790"
MAX_WRONG_TRIES = 20  # the lockout starts well before this many wrong PINs
STEP_MS = 15_000  # every browser wait is bounded by this
SETUP_HINT = "run `bash .ci/setup test` (installs Debian's chromium and the playwright package)"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"login-{name}.png"), full_page=True)


def expect_signed_out(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-state", "signed-out", timeout=STEP_MS)
    expect(page.locator("#login-form")).to_be_visible(timeout=STEP_MS)
    expect(page.locator("#pin")).to_be_visible(timeout=STEP_MS)
    expect(page.locator("#signed-in")).to_be_hidden(timeout=STEP_MS)


def expect_signed_in(page: Page) -> str:
    """Wait for the signed-in view with a live epoch id; return that id."""
    expect(page.locator("body")).to_have_attribute("data-state", "signed-in", timeout=STEP_MS)
    expect(page.locator("#signed-in")).to_be_visible(timeout=STEP_MS)
    expect(page.locator("#signed-in-status")).to_have_text("Signed in", timeout=STEP_MS)
    expect(page.locator("#login-form")).to_be_hidden(timeout=STEP_MS)
    expect(page.locator("#epoch")).to_have_text(re.compile(r"\S"), timeout=STEP_MS)
    expect(page.locator("#source")).to_have_text("simulated", timeout=STEP_MS)
    expect(page.locator("#live")).to_have_text("live", timeout=STEP_MS)
    return page.locator("#epoch").inner_text().strip()


def diag_status(page: Page, server: Server) -> int:
    """/api/diag's status with the browser's own cookies (the page's request context)."""
    return page.request.get(f"{server.url}/api/diag", timeout=STEP_MS).status


def diag_epoch(page: Page, server: Server) -> str:
    r = page.request.get(f"{server.url}/api/diag", timeout=STEP_MS)
    assert r.status == 200, (r.status, r.text())
    epoch_id = r.json()["epoch"]["id"]
    assert isinstance(epoch_id, str)
    return epoch_id


def test_pin_login_survives_reload_and_restart_then_signs_out(tmp_path: Path) -> None:
    if PLAYWRIGHT_MISSING is not None:
        pytest.fail(f"the playwright package is missing ({PLAYWRIGHT_MISSING}): {SETUP_HINT}")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {SETUP_HINT}")
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob("login-*.png"):
        old.unlink()
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            context = browser.new_context(viewport={"width": 900, "height": 640})
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            page.set_default_navigation_timeout(STEP_MS)
            page_errors: list[str] = []
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            try:
                _journey(page, data_dir)
            except BaseException:
                with suppress(PlaywrightError):
                    shot(page, "failure")
                raise
            assert not page_errors, f"uncaught errors in the page: {page_errors}"
        finally:
            browser.close()


def _journey(page: Page, data_dir: Path) -> None:
    with spotlight_server(data_dir) as first:
        # A fresh browser sees the PIN form, and the API refuses it.
        page.goto(f"{first.url}/")
        expect_signed_out(page)
        pin = page.locator("#pin")
        expect(pin).to_have_attribute("type", "password")
        expect(pin).to_have_attribute("inputmode", "numeric")
        expect(pin).to_have_attribute("autocomplete", "one-time-code")
        expect(page.get_by_label("PIN")).to_be_visible()
        assert diag_status(page, first) == 401
        shot(page, "01-signed-out")

        # A wrong PIN shows an error and keeps the form.
        pin.fill(WRONG_PIN)
        page.locator("#login").click()
        expect(page.locator("#login-error")).to_be_visible(timeout=STEP_MS)
        expect(page.locator("#login-error")).to_contain_text("Wrong PIN", timeout=STEP_MS)
        expect_signed_out_form_kept(page)
        assert diag_status(page, first) == 401
        shot(page, "02-wrong-pin")

        # The right PIN signs in: the page shows this server's epoch from /api/diag.
        pin.fill(PIN)
        page.locator("#login").click()
        epoch1 = expect_signed_in(page)
        assert epoch1 == diag_epoch(page, first)
        cookies = {c.get("name"): c for c in page.context.cookies(first.url)}
        assert "spotlight_session" in cookies, cookies.keys()
        assert cookies["spotlight_session"].get("httpOnly") is True
        shot(page, "03-signed-in")

        # A reload keeps the session.
        page.reload()
        assert expect_signed_in(page) == epoch1
        shot(page, "04-after-reload")

        stop_gracefully(first)

    # A new server process with the same data dir (same signing key) on a new port: the
    # browser's cookie for 127.0.0.1 (cookies are not per port) still signs it in.
    with spotlight_server(data_dir) as second:
        assert second.url != first.url
        page.goto(f"{second.url}/")
        epoch2 = expect_signed_in(page)
        assert epoch2 != epoch1, "the page still shows the old server's epoch"
        assert epoch2 == diag_epoch(page, second)
        shot(page, "05-after-restart")

        # Signing out returns to the form and ends API access.
        page.locator("#logout").click()
        expect_signed_out(page)
        expect(page.locator("#login-error")).to_be_hidden(timeout=STEP_MS)
        assert diag_status(page, second) == 401
        shot(page, "06-signed-out")

        # ...and a reload stays signed out.
        page.reload()
        expect_signed_out(page)
        assert diag_status(page, second) == 401
        shot(page, "07-signed-out-after-reload")

        # The one-click link printed at start carries the PIN in the URL fragment: opening it
        # signs in, and the PIN is removed from the address bar.
        page.goto(f"{second.url}/#pin={PIN}")
        assert expect_signed_in(page) == epoch2
        assert "pin" not in page.url, page.url
        shot(page, "07b-one-click-link")
        page.locator("#logout").click()
        expect_signed_out(page)

        # Repeated wrong PINs lock this address out: the page counts the wait down.
        for _ in range(MAX_WRONG_TRIES):
            page.locator("#pin").fill(WRONG_PIN)
            with page.expect_response(lambda r: r.url.endswith("/api/auth/pin")) as answer:
                page.locator("#login").click()
            if answer.value.status == 429:
                break
            assert answer.value.status == 401, answer.value.status
            expect(page.locator("#login")).to_be_enabled(timeout=STEP_MS)
        else:
            pytest.fail(f"no lockout after {MAX_WRONG_TRIES} wrong PINs")
        error = page.locator("#login-error")
        expect(error).to_have_text(re.compile(r"Try again in \d+ s"), timeout=STEP_MS)
        expect(page.locator("#login")).to_be_disabled(timeout=STEP_MS)
        shot(page, "08-locked-out")

        stop_gracefully(second)


def expect_signed_out_form_kept(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-state", "signed-out", timeout=STEP_MS)
    expect(page.locator("#signed-in")).to_be_hidden(timeout=STEP_MS)
    expect(page.locator("#login")).to_be_enabled(timeout=STEP_MS)
