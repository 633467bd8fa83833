// The screen's words and rules (issue 15): legend fields, the market badge, setup prices in
// SPX points, price alerts, keyboard shortcuts, the GEX canvas's columns.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AlertBook, MAX_ALERTS, MAX_LOGINS } from "../../spotlight/web/static/js/alerts.js";
import { gexLayout } from "../../spotlight/web/static/js/gex-canvas.js";
import { badgeText, fmtVolume, legendFields, setupPrice } from "../../spotlight/web/static/js/labels.js";
import { shortcutFor } from "../../spotlight/web/static/js/shortcuts.js";

const TFS = ["1m", "5m", "15m", "30m", "1h", "1d"];

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

test("the legend has the change from the previous close and the volume (not for an index)", () => {
  const prev = { t: 0, o: 99, h: 101, l: 98, c: 100, v: 10 };
  const bar = { t: 60, o: 100, h: 102, l: 99.5, c: 101.5, v: 1_250_000 };
  const spy = Object.fromEntries(legendFields(bar, prev, "SPY").map(([k, v]) => [k, v]));
  assert.equal(spy.C, "101.50");
  assert.equal(spy["\u0394"], "+1.50 (+1.50%)");
  assert.equal(spy.V, "1.25M");
  const spx = legendFields({ ...bar, v: 0 }, prev, "I:SPX").map(([k]) => k);
  assert.deepEqual(spx, ["O", "H", "L", "C", "\u0394"]); // an index has no volume
  // The first bar has no previous one: the change is from its own open.
  const first = Object.fromEntries(legendFields({ ...bar, c: 99 }, null, "SPY").map(([k, v, t]) => [k, [v, t]]));
  assert.deepEqual(first["\u0394"], ["\u22121.00 (\u22121.00%)", "down"]);
  assert.deepEqual(legendFields(null, null, "SPY"), []);
  assert.deepEqual([fmtVolume(950), fmtVolume(12_345), fmtVolume(3.1e9)], ["950", "12.3K", "3.1B"]);
});

test("the badge reads plainly for a replay and does not repeat itself live", () => {
  assert.deepEqual(badgeText({ source: "simulated", state: "simulated" }), { source: "simulated", state: "", detail: "" });
  assert.deepEqual(badgeText({ source: "massive", state: "delayed" }), { source: "massive", state: "delayed", detail: "" });
  const rebuilt = { source: "replay", state: "replay", replay: { date: "2026-11-20", origin: "simulated" } };
  assert.deepEqual(badgeText(rebuilt), {
    source: "replay",
    state: "",
    detail: "2026-11-20 \u00b7 rebuilt from the simulator's minute bars",
  });
  const recorded = { source: "replay", state: "degraded", replay: { date: "2026-11-20", origin: "recorded" } };
  assert.deepEqual(badgeText(recorded), { source: "replay", state: "degraded", detail: "2026-11-20 \u00b7 recorded" });
  assert.equal(badgeText({ ...recorded, state: "starting" }).state, "loading");
  assert.equal(badgeText({ ...recorded, state: "live" }).state, ""); // "live" in a replay would mislead
});

test("setup prices are SPX points, labelled so off the SPX chart", () => {
  assert.equal(setupPrice(6012.5, "I:SPX", null), "6,012.50");
  assert.equal(setupPrice(6012.5, "SPY", { ratio: 10 }), "6,012.50 SPX (\u2248 601.25 SPY)");
  assert.equal(setupPrice(6012.5, "SPY", null), "6,012.50 SPX"); // no ratio yet
  assert.equal(setupPrice(6012.5, "QQQ", { ratio: 10 }), "6,012.50 SPX");
  assert.equal(setupPrice(null, "SPY", null), "\u2013");
});

test("an alert fires once when the price crosses its level, in its direction", () => {
  let now = 1000;
  const store = new MemoryStorage();
  const book = new AlertBook(store, "login-a", () => now);
  const up = book.add("SPY", 601, 600); // above the price: fires on the way up
  const down = book.add("SPY", 598, 600);
  assert.equal(up.direction, "up");
  assert.equal(down.direction, "down");
  assert.deepEqual(book.check("SPY", 600.5), []);
  assert.deepEqual(book.check("QQQ", 700), []); // another symbol
  now = 2000;
  const fired = book.check("SPY", 601.02);
  assert.deepEqual(fired.map((a) => a.id), [up.id]);
  assert.equal(fired[0].triggeredMs, 2000);
  assert.equal(fired[0].triggeredAt, 601.02);
  assert.deepEqual(book.check("SPY", 602), []); // once
  assert.deepEqual(book.check("SPY", 597.9).map((a) => a.id), [down.id]);
  // Set without a price: the first price seen decides the direction, and does not fire.
  const blind = book.add("QQQ", 500, null);
  assert.deepEqual(book.check("QQQ", 505), []);
  assert.equal(book.list("QQQ")[0].direction, "down");
  assert.deepEqual(book.check("QQQ", 499.99).map((a) => a.id), [blind.id]);
});

test("alerts are kept per login, survive a new page, and are bounded", () => {
  const store = new MemoryStorage();
  const a = new AlertBook(store, "login-a");
  a.add("I:SPX", 6000, 5990);
  a.add("SPY", 600, 601);
  assert.throws(() => a.add("SPY", 600, 601), /already an alert/);
  assert.throws(() => a.add("SPY", -1, 601), /above 0/);
  const again = new AlertBook(store, "login-a"); // a reload
  assert.deepEqual(again.list().map((x) => [x.symbol, x.price]), [["I:SPX", 6000], ["SPY", 600]]);
  assert.deepEqual(new AlertBook(store, "login-b").list(), []); // another login: its own list
  again.remove(again.list("SPY")[0].id);
  assert.deepEqual(new AlertBook(store, "login-a").list().map((x) => x.symbol), ["I:SPX"]);
  for (let i = 1; i < MAX_ALERTS; i++) again.add("QQQ", 100 + i, 50);
  assert.throws(() => again.add("QQQ", 99, 50), /at most/);
  // Only the most recent logins keep a list.
  for (let i = 0; i < MAX_LOGINS; i++) new AlertBook(store, `other-${i}`).add("SPY", 1 + i, 2);
  assert.equal(store.getItem("spotlight.alerts.login-a"), null);
  assert.notEqual(store.getItem(`spotlight.alerts.other-${MAX_LOGINS - 1}`), null);
  store.setItem("spotlight.alerts.broken", "{not json");
  assert.deepEqual(new AlertBook(store, "broken").list(), []);
});

test("keys choose symbols and timeframes, never while typing or with modifiers", () => {
  const symbols = ["I:SPX", "QQQ", "SPY"];
  const press = (code, key, extra = {}) => shortcutFor({ code, key, target: { tagName: "BODY" }, ...extra }, symbols, TFS, "5m");
  assert.deepEqual(press("Digit3", "3"), { kind: "symbol", value: "SPY" });
  assert.equal(press("Digit4", "4"), null); // no fourth symbol
  assert.deepEqual(press("Digit4", "$", { shiftKey: true }), { kind: "timeframe", value: "30m" });
  assert.deepEqual(press("BracketRight", "]"), { kind: "timeframe", value: "15m" });
  assert.deepEqual(press("BracketLeft", "["), { kind: "timeframe", value: "1m" });
  assert.equal(shortcutFor({ code: "BracketLeft", key: "[", target: null }, symbols, TFS, "1m"), null);
  assert.deepEqual(press("KeyA", "a"), { kind: "alert" });
  assert.deepEqual(press("Slash", "?", { shiftKey: true }), { kind: "help" });
  assert.equal(press("Digit1", "1", { ctrlKey: true }), null);
  assert.equal(press("Digit1", "1", { target: { tagName: "INPUT" } }), null);
  assert.equal(press("Digit1", "1", { target: { tagName: "DIV", isContentEditable: true } }), null);
});

test("the GEX marker labels have a gutter of their own, right of the bars", () => {
  for (const width of [160, 240, 300, 336, 480]) {
    for (const labelW of [30, 62, 80]) {
      const l = gexLayout(width, labelW);
      assert.ok(l.plotLeft < l.mid && l.mid < l.plotRight && l.plotRight <= width, JSON.stringify(l));
      if (l.labelX === null) {
        assert.ok(width - labelW < 160, `labels dropped at ${width}/${labelW}`); // too narrow only
        continue;
      }
      assert.ok(l.labelLeft >= l.plotRight, `label over the bars at ${width}/${labelW}: ${JSON.stringify(l)}`);
      assert.ok(l.labelX <= width && l.plotRight - l.plotLeft >= 100);
    }
  }
});
