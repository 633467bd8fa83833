"""What a new user hits first (issue 15), in a real headless Chromium against the real server:
the symbol-then-timeframe switch from the default index, and a replay's chart on open.

Same set-up as test_browser_dashboard.py (Debian's chromium through Playwright's sync API,
``python -m spotlight serve`` subprocesses); any uncaught page error fails the test and a
failure leaves a screenshot in ``test-artifacts/newuser-*.png`` (git-ignored).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from server_process import ROOT, STOP_S
from test_browser_dashboard import (
    ANY,
    NEW_YORK,
    browser_page,
    chart_matches_bars,
    dashboard_server,
    debug,
    replay_json,
    require_browser,
    shot,
    sign_in,
    wait_for_candles,
    wait_for_live_move,
)
from test_browser_login import PLAYWRIGHT_MISSING

if PLAYWRIGHT_MISSING is None:
    from playwright.sync_api import Route, expect

KEY = "test-key"  # the fake Massive's API key


def test_symbol_then_timeframe_from_the_default_index(tmp_path: Path) -> None:
    """Fresh browser on I:SPX (no volume), then SPY (volume), then 5m and 15m: the volume
    series must survive the change of time grid (it used to throw ``Value is null`` in
    lightweight-charts and leave the chart blank on the old timeframe)."""
    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with browser_page("newuser") as page, dashboard_server(data_dir) as srv:
        sign_in(page, srv.url)
        wait_for_candles(page, "I:SPX", "1m")
        page.locator('#watchlist button[data-symbol="SPY"]').click()
        wait_for_candles(page, "SPY", "1m")
        for tf, step_ms in (("5m", 300_000), ("15m", 900_000), ("1m", 60_000)):
            page.locator(f'#timeframes button[data-tf="{tf}"]').click()
            wait_for_candles(page, "SPY", tf)
            chart_matches_bars(page)
            d = debug(page)
            assert all(b["tf"] == tf and b["t"] % step_ms == 0 for b in d["bars"])
            # The chart's own candles are on the new grid (not the old timeframe's).
            assert all(c["time"] % (step_ms // 1000) == 0 for c in d["chart"]["candles"])
            assert d["chart"]["volume"] == len(d["bars"]), "SPY has a volume bar per candle"
        wait_for_live_move(page)
        # Back to the index and onto another grid: no volume series data at all.
        page.locator('#watchlist button[data-symbol="I:SPX"]').click()
        page.locator('#timeframes button[data-tf="5m"]').click()
        wait_for_candles(page, "I:SPX", "5m")
        chart_matches_bars(page)
        assert debug(page)["chart"]["volume"] == 0
        expect(page.locator("#chart")).to_have_attribute("data-timeframe", "5m")
        shot(page, "newuser", "01-spy-then-timeframes")


@contextmanager
def fake_massive() -> Iterator[str]:
    """``python -m spotlight fake-massive`` on a free port; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotlight", "fake-massive", "--port", "0", "--key", KEY],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "fake Massive on http://127.0.0.1:<port> (key ..."
        assert line.startswith("fake Massive on "), line
        yield line.split()[3]
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(STOP_S)
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_replay_chart_opens_with_its_history(tmp_path: Path) -> None:
    """The page asks for a replay's history right after starting it. A Massive replay first
    fetches its aggregates (slowed to 2 s here by the fake's latency fault): the history must
    wait for them, not answer the 0 bars of a replay still loading, so the chart opens full
    instead of with a few candles at the right edge and no price lines."""
    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fake_massive() as base:
        env = {"MASSIVE_API_KEY": KEY, "SPOTLIGHT_MASSIVE_BASE_URL": base}
        with (
            browser_page("newuser-replay") as page,
            dashboard_server(data_dir, env=env) as srv,
        ):
            sign_in(page, srv.url)
            wait_for_candles(page, "I:SPX", "1m")
            r = page.request.post(
                f"{base}/__fake/faults",
                data={
                    "endpoint": "aggs",
                    "kind": "latency",
                    "times": None,
                    "params": {"seconds": 2},
                },
            )
            assert r.status in (200, 201), r.text()
            histories: list[int] = []

            def note(response: Any) -> None:
                if "/api/history" in response.url and "replay=" in response.url:
                    histories.append(len(response.json()["bars"]))

            page.on("response", note)
            today = dt.datetime.now(NEW_YORK).date().isoformat()
            options = page.locator("#replay-date option")
            expect(options.first).to_have_attribute("value", ANY)
            past = [v for o in options.all() if (v := o.get_attribute("value") or "") < today]
            assert past, [o.inner_text() for o in options.all()]
            page.locator("#replay-date").select_option(past[0])
            page.locator("#replay-speed").select_option("1")
            page.locator("#replay-start").click()
            expect(page.locator("body")).to_have_attribute("data-mode", "replay")
            replay_id = debug(page)["replay"]
            wait_for_candles(page, "I:SPX", "1m")
            # At 1x only a candle or two can have been played: the rest is the history.
            page.wait_for_function("window.spotlight.debug().bars.length > 300")
            start = replay_json(page, srv.url, replay_id)
            assert start["origin"] == "massive", start
            assert debug(page)["bars"][0]["t"] < start["fromMs"], "the bars before the start"
            chart_matches_bars(page)
            assert histories and histories[0] > 300, histories
            shot(page, "newuser-replay", "01-replay-open")

            # The page's own fallback, for a load longer than the server's wait: its first
            # history answer is empty (faked here, as a server that did not wait would), and
            # the replay's first status after loading makes it ask again.
            page.locator("#replay-stop").click()
            expect(page.locator("body")).to_have_attribute("data-mode", "live")
            wait_for_candles(page, "I:SPX", "1m")
            faked: list[str] = []

            def empty_once(route: Route) -> None:
                if faked:
                    route.continue_()
                    return
                faked.append(route.request.url)
                route.fulfill(json={"symbol": "I:SPX", "timeframe": "1m", "bars": []})

            page.route("**/api/history?*replay=*", empty_once)
            page.locator("#replay-start").click()
            expect(page.locator("body")).to_have_attribute("data-mode", "replay")
            page.wait_for_function("window.spotlight.debug().bars.length > 300")
            again = replay_json(page, srv.url, debug(page)["replay"])
            assert len(faked) == 1, faked  # the empty answer was given, and then ...
            assert debug(page)["bars"][0]["t"] < again["fromMs"]  # ... the history came
            chart_matches_bars(page)
            shot(page, "newuser-replay", "02-reloaded-on-status")
