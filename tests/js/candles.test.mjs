// The client's candle rules (spotlight/web/static/js/candles.js) against docs/protocol.md.
import { test } from "node:test";
import assert from "node:assert/strict";

import { CandleSet, findBar, isValidBar, mergeBar } from "../../spotlight/web/static/js/candles.js";

const bar = (t, c, extra = {}) => ({ s: "SPY", tf: "1m", t, o: c, h: c + 1, l: c - 1, c, v: 10, n: 1, ...extra });

test("a bar for the current bucket updates the last candle in place", () => {
  const bars = [bar(0, 1), bar(60_000, 2)];
  const r = mergeBar(bars, bar(60_000, 5), "bar:update");
  assert.deepEqual(r, { action: "update", index: 1 });
  assert.equal(bars.length, 2);
  assert.equal(bars[1].c, 5);
});

test("a bar for a later bucket is appended, gaps are not filled", () => {
  const bars = [bar(0, 1)];
  assert.equal(mergeBar(bars, bar(180_000, 3), "bar:update").action, "append");
  assert.deepEqual(bars.map((b) => b.t), [0, 180_000]);
});

test("a stale bar:update for an older bucket is ignored", () => {
  const bars = [bar(0, 1), bar(60_000, 2)];
  const r = mergeBar(bars, bar(0, 99), "bar:update");
  assert.equal(r.action, "ignore");
  assert.equal(bars[0].c, 1);
});

test("a bar:close for an older bucket is a correction that replaces the bar with that start", () => {
  const bars = [bar(0, 1), bar(60_000, 2), bar(120_000, 3)];
  const r = mergeBar(bars, bar(60_000, 42), "bar:close");
  assert.deepEqual(r, { action: "replace", index: 1 });
  assert.equal(bars[1].c, 42);
  assert.equal(bars.length, 3);
});

test("a bar:close for an older bucket the chart does not have is ignored (no insert)", () => {
  const bars = [bar(0, 1), bar(120_000, 3)];
  assert.equal(mergeBar(bars, bar(60_000, 42), "bar:close").action, "ignore");
  assert.deepEqual(bars.map((b) => b.t), [0, 120_000]);
});

test("the daily bar updates in place through the day and a new day appends", () => {
  const day = 86_400_000;
  const d = (t, c) => bar(t, c, { tf: "1d" });
  const bars = [d(0, 1)];
  assert.equal(mergeBar(bars, d(day, 2), "bar:update").action, "append");
  assert.equal(mergeBar(bars, d(day, 3), "bar:update").action, "update");
  assert.equal(mergeBar(bars, d(day, 4), "bar:update").action, "update");
  assert.equal(bars.length, 2);
  assert.equal(bars[1].c, 4);
});

test("malformed bars are ignored", () => {
  const bars = [bar(0, 1)];
  for (const bad of [null, {}, { ...bar(60_000, 2), c: NaN }, { ...bar(60_000, 2), t: "x" }, { ...bar(60_000, 2), h: 0, l: 5 }]) {
    assert.equal(isValidBar(bad), false);
    assert.equal(mergeBar(bars, bad, "bar:update").action, "ignore");
  }
  assert.equal(bars.length, 1);
});

test("findBar finds by start time", () => {
  const bars = [0, 1, 2, 3, 4, 5, 6].map((i) => bar(i * 60_000, i));
  for (let i = 0; i < 7; i += 1) assert.equal(findBar(bars, i * 60_000), i);
  assert.equal(findBar(bars, 30_000), -1);
  assert.equal(findBar([], 0), -1);
});

test("CandleSet buffers live bars while history loads, then merges them on top", () => {
  const set = new CandleSet("SPY", "1m");
  assert.equal(set.apply(bar(120_000, 9), "bar:update").action, "buffered");
  assert.equal(set.apply(bar(180_000, 10), "bar:update").action, "buffered");
  const bars = set.load([bar(120_000, 3), bar(0, 1), bar(60_000, 2)]);
  assert.deepEqual(bars.map((b) => [b.t, b.c]), [[0, 1], [60_000, 2], [120_000, 9], [180_000, 10]]);
  assert.equal(set.loading, false);
  assert.equal(set.apply(bar(180_000, 11), "bar:update").action, "update");
  assert.equal(set.last.c, 11);
});

test("CandleSet ignores other symbols and timeframes", () => {
  const set = new CandleSet("SPY", "5m");
  set.load([bar(0, 1, { tf: "5m" })]);
  assert.equal(set.apply(bar(300_000, 2), "bar:update").action, "other"); // 1m
  assert.equal(set.apply(bar(300_000, 2, { s: "QQQ", tf: "5m" }), "bar:update").action, "other");
  assert.equal(set.apply(bar(300_000, 2, { tf: "5m" }), "bar:update").action, "append");
  assert.equal(set.bars.length, 2);
});

test("CandleSet.load keeps one bar per start and drops malformed ones", () => {
  const set = new CandleSet("SPY", "1m");
  const bars = set.load([bar(0, 1), bar(0, 2), { t: 60_000 }, bar(120_000, 3)]);
  assert.deepEqual(bars.map((b) => [b.t, b.c]), [[0, 2], [120_000, 3]]);
});

test("CandleSet.reload buffers again until the next load", () => {
  const set = new CandleSet("SPY", "1m");
  set.load([bar(0, 1)]);
  set.reload();
  assert.equal(set.apply(bar(60_000, 2), "bar:update").action, "buffered");
  set.load([bar(0, 1)]);
  assert.deepEqual(set.bars.map((b) => b.t), [0, 60_000]);
});
