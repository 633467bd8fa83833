// The reconnect schedule (spotlight/web/static/js/reconnect.js): pure, on explicit times.
import { test } from "node:test";
import assert from "node:assert/strict";

import { DEFAULTS, ReconnectSchedule, backoffMs } from "../../spotlight/web/static/js/reconnect.js";

const noJitter = () => 0; // delay = nominal
const noPause = { pauseAfter: Infinity };

test("backoff is 1 s base, x2, capped at 30 s", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 10].map((n) => backoffMs(n)),
    [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000],
  );
});

test("failures back off exponentially, then give up after 10 attempts", () => {
  const s = new ReconnectSchedule(noPause, noJitter);
  let now = 0;
  const delays = [];
  for (let i = 0; i < 9; i += 1) {
    assert.equal(s.tryAttempt(now).allowed, true);
    const d = s.onFailure(now, null);
    assert.equal(d.action, "retry");
    assert.equal(d.attempt, i + 2);
    delays.push(d.delayMs);
    now += d.delayMs;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  assert.equal(s.tryAttempt(now).allowed, true);
  assert.deepEqual(s.onFailure(now, 503), { action: "give-up", attempts: 10 });
});

test("jitter stays within [80%, 100%] of the nominal delay and never above the cap", () => {
  for (const r of [0, 0.25, 0.5, 0.999999]) {
    const s = new ReconnectSchedule(noPause, () => r);
    let now = 0;
    for (let n = 1; n < 10; n += 1) {
      s.tryAttempt(now);
      const d = s.onFailure(now, null);
      const nominal = backoffMs(n);
      assert.ok(d.delayMs <= nominal && d.delayMs >= 0.8 * nominal, `${n}: ${d.delayMs}`);
      assert.ok(d.delayMs <= DEFAULTS.capMs);
      now += d.delayMs;
    }
  }
  // Different random draws give different delays: the jitter is real.
  const a = new ReconnectSchedule(noPause, () => 0.1).onFailure(0, null).delayMs;
  const b = new ReconnectSchedule(noPause, () => 0.9).onFailure(0, null).delayMs;
  assert.notEqual(a, b);
});

test("a success resets the counter", () => {
  const s = new ReconnectSchedule(noPause, noJitter);
  s.onFailure(0, null);
  s.onFailure(1000, null);
  assert.equal(s.onFailure(3000, null).delayMs, 4000);
  s.onOpen(7000);
  // Long-lived connection drops: the next attempt is attempt 1 after 1 s.
  assert.deepEqual(s.onClose(60_000), { action: "retry", delayMs: 1000, attempt: 1, pause: false });
  assert.equal(s.onFailure(61_000, null).delayMs, 1000);
  assert.equal(s.onFailure(62_000, null).delayMs, 2000);
});

test("a drop is not a failed attempt: 10 attempts follow it before giving up", () => {
  const s = new ReconnectSchedule(noPause, noJitter);
  s.onOpen(0);
  let d = s.onClose(100_000);
  let now = 100_000;
  let attempts = 0;
  while (d.action === "retry") {
    now += d.delayMs;
    attempts += 1;
    d = s.onFailure(now, null);
  }
  assert.equal(attempts, 10);
  assert.equal(d.action, "give-up");
});

test("401 and 403 lock the schedule: no retry, attempts refused until reset", () => {
  for (const status of [401, 403]) {
    const s = new ReconnectSchedule({}, noJitter);
    assert.equal(s.tryAttempt(0).allowed, true);
    assert.deepEqual(s.onFailure(0, status), { action: "locked", status });
    assert.deepEqual(s.tryAttempt(100_000), { allowed: false, at: null, reason: "locked" });
    s.reset();
    assert.equal(s.tryAttempt(100_000).allowed, true);
  }
});

test("other statuses (404, 429, 500, 503) are retried with backoff", () => {
  for (const status of [404, 429, 500, 503]) {
    const d = new ReconnectSchedule(noPause, noJitter).onFailure(0, status);
    assert.equal(d.action, "retry");
    assert.equal(d.delayMs, 1000);
  }
});

test("attempts closer than the minimum interval are throttled with the time they become allowed", () => {
  const s = new ReconnectSchedule({ minIntervalMs: 1000 }, noJitter);
  assert.deepEqual(s.tryAttempt(5000), { allowed: true });
  assert.deepEqual(s.tryAttempt(5200), { allowed: false, at: 6000, reason: "throttled" });
  assert.deepEqual(s.tryAttempt(5999), { allowed: false, at: 6000, reason: "throttled" });
  assert.deepEqual(s.tryAttempt(6000), { allowed: true });
});

test("five failures within two minutes bring a 60 s pause", () => {
  const s = new ReconnectSchedule({}, noJitter);
  const out = [];
  let now = 0;
  for (let i = 0; i < 6; i += 1) {
    const d = s.onFailure(now, null);
    out.push([d.delayMs, d.pause]);
    now += d.delayMs;
  }
  assert.deepEqual(out, [
    [1000, false],
    [2000, false],
    [4000, false],
    [8000, false],
    [60000, true], // the 5th failure within 2 minutes: a longer pause than the 16 s backoff
    [30000, false],
  ]);
});

test("a connection that opens and drops at once counts toward the pause (no tight loop)", () => {
  const s = new ReconnectSchedule({}, noJitter);
  let now = 0;
  const delays = [];
  for (let i = 0; i < 5; i += 1) {
    s.tryAttempt(now);
    s.onOpen(now + 10);
    const d = s.onClose(now + 50); // lived 40 ms
    delays.push(d.delayMs);
    now += 50 + d.delayMs;
  }
  assert.deepEqual(delays, [1000, 1000, 1000, 1000, 60000]);
});

test("long-lived connections that drop do not build up a pause", () => {
  const s = new ReconnectSchedule({}, noJitter);
  let now = 0;
  for (let i = 0; i < 20; i += 1) {
    s.onOpen(now);
    now += 60_000;
    assert.deepEqual(s.onClose(now), { action: "retry", delayMs: 1000, attempt: 1, pause: false });
    now += 1000;
  }
});
