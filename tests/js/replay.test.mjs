// The replay panel's speed text: the asked speed, and the speed reached when clearly slower.
import assert from "node:assert/strict";
import { test } from "node:test";

import { speedText } from "../../spotlight/web/static/js/replay.js";

test("the asked speed alone while the replay keeps up", () => {
  assert.equal(speedText({ state: "running", speed: 100, speedReached: 97.5 }), "100\u00d7");
  assert.equal(speedText({ state: "running", speed: 10, speedReached: null }), "10\u00d7");
  assert.equal(speedText({ state: "paused", speed: 10, speedReached: 2 }), "10\u00d7");
  assert.equal(speedText({ state: "running", speed: "max", speedReached: null }), "max");
});

test("the speed really reached when it is clearly below the asked one", () => {
  assert.equal(
    speedText({ state: "running", speed: 100, speedReached: 37.4 }),
    "100\u00d7 (reaching 37\u00d7)",
  );
  assert.equal(
    speedText({ state: "running", speed: 30, speedReached: 4.26 }),
    "30\u00d7 (reaching 4.3\u00d7)",
  );
});
