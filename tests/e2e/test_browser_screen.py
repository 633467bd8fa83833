"""The screen's improvements (issue 15, item 7) in a real headless Chromium against the real
server: the 30m button, volume and change in the legend, keyboard shortcuts, every panel in
view at 1440x900, the GEX spot label beside the bars, setup prices in SPX points on SPY,
price alerts (line, notice, notification, kept per login), and a replay badge that reads
plainly. Screenshots go to ``test-artifacts/screen-*.png`` (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from server_process import PIN
from test_browser_dashboard import (
    browser_page,
    chart_matches_bars,
    dashboard_server,
    debug,
    require_browser,
    shot,
    sign_in,
    start_replay,
    wait_for_candles,
)
from test_browser_login import PLAYWRIGHT_MISSING

if PLAYWRIGHT_MISSING is None:
    from playwright.sync_api import Page, expect

# Desktop notifications, recorded instead of shown (and granted, as a trader would).
NOTIFICATIONS = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({ title, body: options?.body }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""

# The worst case the side column must hold: twelve setups, a full flow feed, a full coach.
FILL_PANELS = """async () => {
  const m = await import("/static/js/panels.js");
  const setup = (i) => ({ kind: "wall_fade", direction: i % 2 ? "long" : "short",
    state: "watching", entry: 6000 + i, stop: 6010 + i, targets: [5990, 5980],
    invalidation: "a close beyond the wall", rationale: "test" });
  m.renderSetups({ setups: Array.from({ length: 12 }, (_, i) => setup(i)) }, "I:SPX", null);
  const flow = new m.FlowFeed();
  flow.add({ alerts: Array.from({ length: 60 }, (_, i) => ({ id: `t${i}`, kind: "sweep",
    optionType: "call", strike: 6000 + i, side: "buy", premium: 1e6, deltaVolume: 100,
    volOi: 1.5, tsMs: Date.now() })), aggregates: { zeroDte: {}, all: {} } });
  const coach = new m.CoachFeed();
  for (let i = 0; i < 40; i++) {
    coach.add({ id: `c${i}`, text: `note ${i}`, severity: "info", tsMs: Date.now() });
  }
  const box = (id) => document.getElementById(id).getBoundingClientRect();
  const side = document.querySelector(".side");
  const first = (id) => document.querySelector(`#${id} li`).getBoundingClientRect();
  return {
    viewport: [innerWidth, innerHeight],
    pageScrolls: document.scrollingElement.scrollHeight > innerHeight + 1,
    sideScrolls: side.scrollHeight > side.clientHeight + 1,
    panels: Object.fromEntries(["regime-panel", "gex-panel", "setups-panel", "flow-panel",
      "coach-panel"].map((id) => [id, [box(id).top, box(id).bottom]])),
    firstItems: Object.fromEntries(
      ["setups", "flow", "coach"].map((id) => [id, [first(id).top, first(id).bottom]])),
  };
}"""


BRACKET_ALERTS = """() => {
  const p = window.spotlight.debug().prices["I:SPX"];
  const input = document.getElementById("alert-price");
  for (const level of [p + 0.01, p - 0.01]) {
    input.value = level.toFixed(2);
    document.getElementById("alert-form").requestSubmit();
  }
  // Still in the same task: the two alerts and their lines on the chart.
  const d = window.spotlight.debug();
  return {
    directions: d.alerts.map((a) => a.direction).sort(),
    lines: d.chart.lines.filter((l) => l.title.startsWith("Alert")).map((l) => l.price),
  };
}"""


def press(page: Page, key: str) -> None:
    page.locator("body").press(key)


def legend(page: Page) -> dict[str, str]:
    cells = page.locator("#legend [data-k]")
    return {c.get_attribute("data-k") or "": c.inner_text() for c in cells.all()}


def test_the_screen_for_a_trader(tmp_path: Path) -> None:
    require_browser()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {"SPOTLIGHT_SIM_HISTORY_DAYS": "2"}
    with browser_page("screen") as page, dashboard_server(data_dir, env=env) as srv:
        page.add_init_script(NOTIFICATIONS)
        sign_in(page, srv.url)
        wait_for_candles(page, "I:SPX", "1m")
        symbols = [b.get_attribute("data-symbol") for b in page.locator("#watchlist button").all()]
        assert "SPY" in symbols and "I:SPX" in symbols, symbols

        # Every panel in view at 1440x900, with the side column at its fullest.
        layout: Any = page.evaluate(FILL_PANELS)
        assert layout["viewport"] == [1440, 900], layout
        assert not layout["pageScrolls"] and not layout["sideScrolls"], layout
        for name, (top, bottom) in {**layout["panels"], **layout["firstItems"]}.items():
            assert 0 <= top < bottom <= 900, (name, top, bottom, layout)
        shot(page, "screen", "01-panels-in-view")

        # The GEX spot label sits in its own gutter, right of the bars.
        gex = page.locator("#gex-canvas")
        page.wait_for_function("Number(document.getElementById('gex-canvas').dataset.rows) > 5")
        plot_right = int(gex.get_attribute("data-plot-right") or "0")
        label_left = int(gex.get_attribute("data-label-left") or "-1")
        assert 0 < plot_right <= label_left, (plot_right, label_left)

        # The legend: change from the previous close; no volume for the index.
        page.mouse.move(0, 0)
        page.wait_for_function("document.querySelector('#legend [data-k=\"\\u0394\"]') !== null")
        assert "V" not in legend(page) and re.fullmatch(
            r"[+\u2212][\d,.]+ \([+\u2212][\d.]+%\)", legend(page)["\u0394"]
        ), legend(page)

        # Keyboard: n selects the n-th symbol, Shift+n the n-th timeframe, [ and ] step.
        press(page, str(symbols.index("SPY") + 1))
        wait_for_candles(page, "SPY", "1m")
        assert re.fullmatch(r"[\d.]+[KMB]?", legend(page)["V"]), legend(page)  # a stock's volume
        press(page, "Shift+Digit4")  # the 30m button, the fourth timeframe
        expect(page.locator('#timeframes button[data-tf="30m"]')).to_have_attribute(
            "aria-pressed", "true"
        )
        wait_for_candles(page, "SPY", "30m")
        assert all(b["t"] % 1_800_000 == 0 for b in debug(page)["bars"])
        chart_matches_bars(page)
        press(page, "BracketRight")
        wait_for_candles(page, "SPY", "1h")
        press(page, "BracketLeft")
        wait_for_candles(page, "SPY", "30m")
        page.locator('#timeframes button[data-tf="5m"]').click()
        wait_for_candles(page, "SPY", "5m")
        press(page, "?")
        expect(page.locator("#shortcuts")).to_be_visible()
        expect(page.locator("#shortcuts")).to_contain_text("Shift+1")
        shot(page, "screen", "02-shortcuts")
        press(page, "Escape")
        expect(page.locator("#shortcuts")).to_be_hidden()

        # Setups are SPX points: on the SPY chart they say so (and give the SPY price).
        expect(page.locator("#setups-units")).to_have_text("SPX points")
        entries = page.locator("#setups .setup .small span").first
        if entries.count():
            expect(entries).to_contain_text("SPX")
        press(page, str(symbols.index("I:SPX") + 1))
        wait_for_candles(page, "I:SPX", "5m")
        expect(page.locator("#setups-units")).to_have_text("")

        # Alerts: a cent above and a cent below the index's price, both set through the form
        # in one task of the page (no tick in between): its next move crosses one of them.
        bracket = page.evaluate(BRACKET_ALERTS)
        assert bracket["directions"] == ["down", "up"] and len(bracket["lines"]) == 2, bracket
        expect(page.locator("#alerts .chip")).to_have_count(2)
        # Alt+click on the chart: an alert at that price.
        box = page.locator("#chart").bounding_box()
        assert box is not None
        page.keyboard.down("Alt")
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 40)
        page.keyboard.up("Alt")
        expect(page.locator("#alerts .chip")).to_have_count(3)
        notice = page.locator("#alert-notices .notice").first
        expect(notice).to_be_visible(timeout=30_000)
        expect(notice).to_contain_text("I:SPX")
        expect(page.locator("#alerts .chip.fired").first).to_be_visible()
        notes = page.evaluate("window.__notifications")
        assert notes and "I:SPX crossed" in notes[0]["title"], notes
        shot(page, "screen", "03-alert-fired")
        alerts = debug(page)["alerts"]
        assert len(alerts) == 3 and any(a["triggeredMs"] for a in alerts), alerts

        # Kept per login: a reload keeps them (under the login /api/auth/me names) ...
        login = page.request.get(f"{srv.url}/api/auth/me").json()["login"]
        assert page.locator("body").get_attribute("data-login") == login
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-conn", "open")
        page.wait_for_function("window.spotlight.debug().alerts.length === 3")
        stored = page.evaluate(f"JSON.parse(localStorage.getItem('spotlight.alerts.{login}'))")
        assert [a["price"] for a in stored] == [a["price"] for a in alerts]
        # ... and another login starts with none.
        page.locator("#logout").click()
        expect(page.locator("body")).to_have_attribute("data-state", "signed-out")
        page.locator("#pin").fill(PIN)
        page.locator("#login").click()
        expect(page.locator("body")).to_have_attribute("data-conn", "open")
        expect(page.locator("body")).not_to_have_attribute("data-login", login)
        assert debug(page)["alerts"] == []
        expect(page.locator("#alerts .chip")).to_have_count(0)

        # A replay's badge reads as a sentence, not "REPLAY REPLAY 2026-11-20 SIMULATED".
        start_replay(page, "10")
        badge = page.locator("#market-badge")
        expect(page.locator("#market-replay")).to_contain_text(
            "rebuilt from the simulator's minute bars"
        )
        expect(page.locator("#market-replay")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \u00b7 "))
        expect(page.locator("#market-state")).to_have_text("")
        assert "replay replay" not in badge.inner_text().lower()
        shot(page, "screen", "04-replay-badge")
