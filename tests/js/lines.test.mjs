// Which price lines the chart draws (spotlight/web/static/js/lines.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { gammaLines, gexBucket, priceLines, spxFactor } from "../../spotlight/web/static/js/lines.js";

const bucket = (contracts, callWall, putWall, flip, ags = callWall) => ({
  contracts,
  totalGexBn: 1,
  strikes: contracts ? [{ strike: 6000, callGexBn: 1, putGexBn: -1, netGexBn: 0 }] : [],
  levels: { callWall, putWall, absGammaStrike: ags, maxNetStrike: callWall },
  flip: { level: flip, multiple: false, side: null },
});
const gex = { spot: 6004, buckets: { "0dte": bucket(10, 6050, 5950, 5987.5), all: bucket(99, 6100, 5900, 5990) } };
const levels = {
  levels: [
    { price: 6010, family: "prior_day", name: "PDH", weight: 2 },
    { price: 5990, family: "prior_day", name: "PDL", weight: 2 },
    { price: 6003.3, family: "vwap", name: "VWAP", weight: 2 },
    { price: 6025, family: "round", name: "round25:6025", weight: 0.5 },
    { price: 6040, family: "gamma", name: "call_wall", weight: 3 },
  ],
};

test("the 0DTE bucket is used when it has contracts, else all expiries", () => {
  assert.equal(gexBucket(gex).name, "0dte");
  const noToday = { buckets: { "0dte": bucket(0, null, null, null), all: bucket(5, 1, 2, 3) } };
  assert.equal(gexBucket(noToday).name, "all");
  assert.equal(gexBucket(gex, "all").name, "all");
  assert.equal(gexBucket(null), null);
  assert.equal(gexBucket({ buckets: "x" }), null);
});

test("I:SPX gets walls and flip from gex:SPX and key levels from levels:update", () => {
  const lines = priceLines("I:SPX", { levels, gex });
  const byId = Object.fromEntries(lines.map((l) => [l.id, l.price]));
  assert.deepEqual(byId, { callWall: 6050, putWall: 5950, flip: 5987.5, PDH: 6010, PDL: 5990, VWAP: 6003.3 });
  // Sorted by price; rounds and other families are not drawn.
  assert.deepEqual(lines.map((l) => l.price), [...lines.map((l) => l.price)].sort((a, b) => a - b));
});

test("without gex:SPX the gamma levels come from levels:update", () => {
  const byId = Object.fromEntries(priceLines("I:SPX", { levels }).map((l) => [l.id, l.price]));
  assert.equal(byId.callWall, 6040);
});

test("SPY converts SPX points with the basis ratio, and draws nothing without one", () => {
  assert.deepEqual(priceLines("SPY", { levels, gex }), []);
  const lines = priceLines("SPY", { levels, gex, basis: { ratio: 10 } });
  const byId = Object.fromEntries(lines.map((l) => [l.id, l.price]));
  assert.equal(byId.callWall, 605);
  assert.equal(byId.VWAP, 600.33);
  assert.equal(spxFactor("SPY", { ratio: 0 }), null);
});

test("other symbols get no SPX lines", () => {
  assert.deepEqual(priceLines("QQQ", { levels, gex, basis: { ratio: 10 } }), []);
});

test("malformed payloads draw nothing and do not throw", () => {
  for (const bad of [{ levels: "x" }, { levels: [null, 1, { name: "PDH", price: "a" }] }, null]) {
    assert.deepEqual(priceLines("I:SPX", { levels: bad, gex: { buckets: null } }), []);
  }
});

test("the walls and flip are the payload's gammaLevels, the server's one choice, when it has them", () => {
  // Near the bell the server moves to all expiries (the 0DTE walls collapsed onto ATM): the
  // chart must follow it, not pick the 0DTE bucket again because it still has contracts.
  const chosen = {
    ...gex,
    gammaLevels: { bucket: "all", reason: "0DTE walls inverted", callWall: 6100, putWall: 5900, absGammaStrike: 6000, flip: 5990 },
  };
  assert.equal(gammaLines(chosen).bucket, "all");
  const byId = Object.fromEntries(priceLines("I:SPX", { levels, gex: chosen }).map((l) => [l.id, l.price]));
  assert.equal(byId.callWall, 6100);
  assert.equal(byId.putWall, 5900);
  assert.equal(byId.flip, 5990);
  assert.equal(byId.ags, 6000);
  // No flip published (a 0DTE profile without a crossing): none drawn, walls still are.
  const noFlip = { gammaLevels: { ...chosen.gammaLevels, flip: null } };
  const ids = priceLines("I:SPX", { gex: noFlip }).map((l) => l.id);
  assert.deepEqual(ids.sort(), ["ags", "callWall", "putWall"]);
  // Without gammaLevels (an older recording): the bucket rule.
  assert.equal(gammaLines(gex).bucket, "0dte");
  assert.equal(gammaLines(gex).callWall, 6050);
  assert.equal(gammaLines(null), null);
});
