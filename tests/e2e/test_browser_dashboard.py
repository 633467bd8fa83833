"""The trader's screen in a real headless Chromium against the real server (subprocesses of
``python -m spotlight serve``): sign in, candles render, a live update moves the last candle,
the timeframe and symbol switches work, the panels fill, the price lines are drawn, and when
the server restarts on the same port the page reconnects and resynchronises by itself.

Same browser set-up as test_browser_login.py (Debian's chromium through Playwright's sync
API; nothing downloaded). Every wait is for a condition in the page, bounded; screenshots go
to ``test-artifacts/dashboard-*.png``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from server_process import PIN, ROOT, STOP_S, Server, spotlight_server, stop_gracefully
from test_browser_login import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PLAYWRIGHT_MISSING, SETUP_HINT

if PLAYWRIGHT_MISSING is None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, expect, sync_playwright

NEW_YORK = ZoneInfo("America/New_York")
ANY = re.compile(r".+")  # any attribute value
STEP_MS = 20_000  # one page condition
RECONNECT_MS = 45_000  # a restart: stop, start (history), the client's backoff (1 s, 2 s, 4 s ...)

# Fast markets and analytics so every panel fills within seconds.
FAST_ENV = {
    "SPOTLIGHT_SIM_HISTORY_DAYS": "1",
    # The index prints around the clock, so the chart moves whenever the test runs.
    "SPOTLIGHT_SIM_HOURS": "always",
    "SPOTLIGHT_TRADES_PER_SECOND": "10",
    "SPOTLIGHT_GEX_S": "1",
    "SPOTLIGHT_LEVELS_S": "1",
    "SPOTLIGHT_SHUTDOWN_GRACE_S": "2",
}


def dashboard_server(
    data_dir: Path, port: int = 0, env: dict[str, str] | None = None
) -> contextlib.AbstractContextManager[Server]:
    """The login test's server with fast analytics (every panel fills within seconds)."""
    return spotlight_server(data_dir, port=port, env={**FAST_ENV, **(env or {})})


def require_browser() -> None:
    if PLAYWRIGHT_MISSING is not None:
        pytest.fail(f"the playwright package is missing ({PLAYWRIGHT_MISSING}): {SETUP_HINT}")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: {SETUP_HINT}")
    if not (ROOT / "node_modules" / "lightweight-charts").is_dir():
        pytest.fail("node_modules/lightweight-charts is missing: run `bash .ci/setup` (npm ci)")


@contextmanager
def browser_page(name: str) -> Iterator[Page]:
    """A fresh page; on failure a screenshot; at the end no uncaught errors allowed."""
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            page.set_default_navigation_timeout(STEP_MS)
            expect.set_options(timeout=STEP_MS)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                yield page
            except BaseException:
                with suppress(PlaywrightError):
                    shot(page, name, "failure")
                raise
            if errors:
                with suppress(PlaywrightError):
                    shot(page, name, "page-errors")
            assert not errors, f"uncaught errors in the page: {errors}"
        finally:
            browser.close()


def shot(page: Page, name: str, step: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}-{step}.png"))


def debug(page: Page) -> Any:
    return page.evaluate("window.spotlight.debug()")


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/")
    expect(page.locator("#login-form")).to_be_visible()
    page.locator("#pin").fill(PIN)
    page.locator("#login").click()
    expect(page.locator("body")).to_have_attribute("data-state", "signed-in")
    expect(page.locator("body")).to_have_attribute("data-conn", "open")
    expect(page.locator("#live")).to_have_text("live")


def wait_for_candles(page: Page, symbol: str, timeframe: str) -> None:
    """History loaded into the chart for this symbol and timeframe."""
    chart = page.locator("#chart")
    expect(chart).to_have_attribute("data-symbol", symbol)
    expect(chart).to_have_attribute("data-timeframe", timeframe)
    expect(chart).to_have_attribute("data-loading", "false")
    page.wait_for_function(
        """([symbol, tf]) => {
             const d = window.spotlight.debug();
             return d.symbol === symbol && d.timeframe === tf && d.bars.length > 10
               && d.chart !== null && d.chart.candles.length === d.bars.length;
           }""",
        arg=[symbol, timeframe],
    )


def chart_matches_bars(page: Page) -> None:
    """The chart draws exactly the merged bars (same count, last candle = last bar)."""
    d = debug(page)
    bars, candles = d["bars"], d["chart"]["candles"]
    assert len(bars) == len(candles)
    last, candle = bars[-1], candles[-1]
    assert (candle["open"], candle["high"], candle["low"], candle["close"]) == (
        last["o"],
        last["h"],
        last["l"],
        last["c"],
    )
    times = [c["time"] for c in candles]
    assert times == sorted(set(times)), "candle times must be unique and increasing"


def wait_for_live_move(page: Page) -> None:
    """A live bar event changes the last candle on the chart."""
    before = debug(page)["chart"]["candles"][-1]
    page.wait_for_function(
        """(before) => {
             const d = window.spotlight.debug();
             const c = d.chart.candles[d.chart.candles.length - 1];
             return c.time !== before.time || c.close !== before.close
               || c.high !== before.high || c.low !== before.low;
           }""",
        arg=before,
    )
    chart_matches_bars(page)


def test_dashboard_live_timeframes_panels_and_restart(tmp_path: Path) -> None:
    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with browser_page("dashboard") as page, dashboard_server(data_dir) as first:
        sign_in(page, first.url)
        epoch1 = page.locator("#epoch").inner_text().strip()
        assert epoch1, "the page shows the stream's epoch"
        expect(page.locator("#source")).to_have_text("simulated")
        expect(page.locator("#market-badge")).to_have_attribute("data-state", "simulated")

        # Candles render (I:SPX, 1m by default), and a live update moves the last one.
        wait_for_candles(page, "I:SPX", "1m")
        chart_matches_bars(page)
        bars = debug(page)["bars"]
        assert all(b["t"] % 60_000 == 0 for b in bars)
        assert page.locator("#chart canvas").count() > 0
        wait_for_live_move(page)
        assert debug(page)["stats"]["update"] + debug(page)["stats"]["append"] > 0

        # The panels fill from the analytics channels.
        expect(page.locator("#regime")).not_to_have_attribute("data-label", "")
        expect(page.locator("#regime")).not_to_have_text("\u2013")
        expect(page.locator("#basis")).to_contain_text("SPX/SPY 1")
        page.wait_for_function("Number(document.getElementById('gex-canvas').dataset.rows) > 5")
        expect(page.locator("#gex-summary dt").first).to_have_text("Total")
        expect(page.locator("#setups")).to_have_attribute("data-updated", ANY)
        expect(page.locator("#setups li").first).to_be_visible()
        expect(page.locator("#flow-panel")).to_have_attribute("data-updated", ANY)
        expect(page.locator("#flow-summary")).to_contain_text("0DTE calls")
        page.wait_for_function("Number(document.getElementById('coach').dataset.count) >= 1")
        # Walls, flip and levels are price lines on the SPX chart.
        page.wait_for_function(
            """() => {
                 const ids = (document.getElementById('chart').dataset.lines || '').split(',');
                 return ['callWall', 'putWall', 'PDH'].every((k) => ids.includes(k));
               }"""
        )
        titles = {line["title"] for line in debug(page)["chart"]["lines"]}
        assert {"Call wall", "Put wall", "PDH"} <= titles, titles
        page.mouse.move(0, 0)  # no crosshair in the picture (docs/img/dashboard.png)
        shot(page, "dashboard", "01-live-1m")

        # The timeframe switch: 5-minute candles from history, then live updates on them.
        page.locator('#timeframes button[data-tf="5m"]').click()
        expect(page.locator('#timeframes button[data-tf="5m"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        wait_for_candles(page, "I:SPX", "5m")
        bars = debug(page)["bars"]
        assert all(b["tf"] == "5m" and b["t"] % 300_000 == 0 for b in bars)
        wait_for_live_move(page)
        shot(page, "dashboard", "02-live-5m")

        # The symbol switch: SPY candles; SPX levels converted with the basis ratio.
        page.locator('#watchlist button[data-symbol="SPY"]').click()
        wait_for_candles(page, "SPY", "5m")
        assert all(b["s"] == "SPY" for b in debug(page)["bars"])
        page.wait_for_function(
            "(document.getElementById('chart').dataset.lines || '').includes('callWall')"
        )
        spy_close = debug(page)["bars"][-1]["c"]
        for line in debug(page)["chart"]["lines"]:
            assert abs(line["price"] / spy_close - 1) < 0.5, line  # SPY scale, not SPX points
        wait_for_live_move(page)
        page.locator('#watchlist button[data-symbol="I:SPX"]').click()
        page.locator('#timeframes button[data-tf="1m"]').click()
        wait_for_candles(page, "I:SPX", "1m")

        # Restart the server on the same port: the page notices, backs off, reconnects,
        # gets `reset` (new epoch) and reloads its history, all by itself.
        port = int(first.url.rsplit(":", 1)[1])
        stop_gracefully(first)
        expect(page.locator("body")).not_to_have_attribute("data-conn", "open")
        expect(page.locator("#live")).to_have_text("reconnecting")
        expect(page.locator("#countdown")).to_contain_text("in ")
        shot(page, "dashboard", "03-reconnecting")
        with dashboard_server(data_dir, port=port) as second:
            assert second.url == first.url
            expect(page.locator("body")).to_have_attribute(
                "data-conn", "open", timeout=RECONNECT_MS
            )
            expect(page.locator("#live")).to_have_text("live")
            expect(page.locator("#epoch")).not_to_have_text(epoch1)
            epoch2 = page.locator("#epoch").inner_text().strip()
            assert debug(page)["lastId"].startswith(f"{epoch2}:")
            wait_for_candles(page, "I:SPX", "1m")
            wait_for_live_move(page)
            expect(page.locator("#reconnect")).to_be_hidden()
            shot(page, "dashboard", "04-after-restart")
            stop_gracefully(second)


def replay_json(page: Page, url: str, replay_id: str) -> Any:
    r = page.request.get(f"{url}/api/replay/{replay_id}")
    assert r.status == 200, (r.status, r.text())
    return r.json()["replay"]


def progress(page: Page) -> float:
    return float(page.locator("#replay-progress").get_attribute("data-value") or "0")


def start_replay(page: Page, speed: str) -> str:
    """Replay yesterday (New York): with two days of simulator history it is a whole day
    rebuilt from 1-minute bars, so at speed many bars play each second; then start."""
    yesterday = (dt.datetime.now(NEW_YORK).date() - dt.timedelta(days=1)).isoformat()
    dates = page.locator("#replay-date option")
    expect(dates.first).to_have_attribute("value", ANY)
    texts = [o.inner_text() for o in dates.all()]
    assert any(t.startswith(f"{yesterday} ") and "simulated" in t for t in texts), texts
    page.locator("#replay-date").select_option(yesterday)
    page.locator("#replay-speed").select_option(speed)
    page.locator("#replay-start").click()
    expect(page.locator("body")).to_have_attribute("data-mode", "replay")
    expect(page.locator("#replay-panel")).to_have_attribute("data-state", "running")
    expect(page.locator("body")).to_have_attribute("data-conn", "open")
    expect(page.locator("#source")).to_have_text("replay")
    expect(page.locator("#market-badge")).to_have_attribute("data-state", "replay")
    replay_id = debug(page)["replay"]
    assert isinstance(replay_id, str) and replay_id
    return replay_id


def test_dashboard_replay_controls_drive_a_replay(tmp_path: Path) -> None:
    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    # Two days of history: yesterday is complete. Levels every 5 s of replay time (the
    # default) keep a 1000x replay of a rebuilt day cheap.
    replay_env = {"SPOTLIGHT_SIM_HISTORY_DAYS": "2", "SPOTLIGHT_LEVELS_S": "5"}
    with browser_page("replay") as page, dashboard_server(data_dir, env=replay_env) as srv:
        sign_in(page, srv.url)
        wait_for_candles(page, "I:SPX", "1m")
        panel = page.locator("#replay-panel")
        expect(panel).to_have_attribute("data-state", "idle")

        # Start: the chart and panels switch to the replay's stream and history.
        replay_id = start_replay(page, "1000")
        r = replay_json(page, srv.url, replay_id)
        assert r["origin"] == "simulated" and r["speed"] == 1000, r
        # "From the open" is the default (the replay includes the index, issue 15).
        expect(page.locator("#replay-from")).to_have_value("open")
        opened = dt.datetime.fromtimestamp(r["fromMs"] / 1000, NEW_YORK)
        assert r["start"] == "open" and (opened.hour, opened.minute) == (9, 30), r
        expect(page.locator("#chart")).to_have_attribute("data-mode", "replay")
        wait_for_candles(page, "I:SPX", "1m")
        epoch = r["epoch"]["id"]
        page.wait_for_function(
            "(epoch) => (window.spotlight.debug().lastId || '').startsWith(epoch + ':')", arg=epoch
        )
        expect(page.locator("#epoch")).to_have_text(epoch)
        # Progress is polled once a second and moves; replayed bars move the last candle.
        page.wait_for_function("Number(document.getElementById('replay-progress').value) > 0")
        first = progress(page)
        page.wait_for_function(
            "(p) => Number(document.getElementById('replay-progress').dataset.value) > p",
            arg=first,
        )
        expect(page.locator("#replay-position")).to_contain_text(" ET")
        wait_for_live_move(page)
        page.wait_for_function("document.getElementById('regime').dataset.label !== ''")
        shot(page, "replay", "01-running")

        # Pause: the position stops (two polls later it has not moved), then resume.
        page.locator("#replay-pause").click()
        expect(panel).to_have_attribute("data-state", "paused")
        expect(page.locator("#replay-pause")).to_have_text("Resume")
        held = replay_json(page, srv.url, replay_id)["positionMs"]
        polls = int(panel.get_attribute("data-polls") or "0")
        page.wait_for_function(
            "(n) => Number(document.getElementById('replay-panel').dataset.polls) >= n",
            arg=polls + 2,
        )
        assert replay_json(page, srv.url, replay_id)["positionMs"] == held
        expect(page.locator("#replay-state")).to_contain_text("paused")
        shot(page, "replay", "02-paused")
        page.locator("#replay-pause").click()
        expect(panel).to_have_attribute("data-state", "running")
        expect(page.locator("#replay-pause")).to_have_text("Pause")

        # Speed: changed while running.
        page.locator("#replay-speed").select_option("100")
        expect(page.locator("#replay-state")).to_contain_text("100\u00d7")
        assert replay_json(page, srv.url, replay_id)["speed"] == 100

        # Stop: back to the live market.
        page.locator("#replay-stop").click()
        expect(page.locator("body")).to_have_attribute("data-mode", "live")
        expect(panel).to_have_attribute("data-state", "idle")
        expect(page.locator("body")).to_have_attribute("data-conn", "open")
        expect(page.locator("#source")).to_have_text("simulated")
        expect(page.locator("#live")).to_have_text("live")
        expect(page.locator("#chart")).to_have_attribute("data-mode", "live")
        wait_for_candles(page, "I:SPX", "1m")
        assert replay_json(page, srv.url, replay_id)["state"] == "stopped"
        shot(page, "replay", "03-stopped-live")

        # A replay that vanishes (the server crashed and came back): its stream answers 404,
        # the page stops reconnecting and says "replay ended"; "Back to live" returns.
        start_replay(page, "10")
        port = int(srv.url.rsplit(":", 1)[1])
        os.killpg(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(STOP_S)
        expect(page.locator("body")).to_have_attribute("data-conn", "waiting")
        with dashboard_server(data_dir, port=port, env=replay_env) as again:
            assert again.url == srv.url
            expect(page.locator("body")).to_have_attribute(
                "data-conn", "ended", timeout=RECONNECT_MS
            )
            expect(page.locator("#live")).to_have_text("replay ended")
            expect(panel).to_have_attribute("data-state", "ended")
            expect(page.locator("#replay-state")).to_contain_text("replay ended")
            back = page.locator("#replay-live")
            expect(back).to_be_visible()
            shot(page, "replay", "04-ended")
            back.click()
            expect(page.locator("body")).to_have_attribute("data-mode", "live")
            expect(page.locator("body")).to_have_attribute("data-conn", "open")
            expect(page.locator("#source")).to_have_text("simulated")
            wait_for_candles(page, "I:SPX", "1m")
            stop_gracefully(again)
