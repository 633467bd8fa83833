// The voice coach's reconnect policy (spotlight/web/static/js/voice-reconnect.js): pure.
import { test } from "node:test";
import assert from "node:assert/strict";

import { INITIAL, VOICE_POLICY, closeKind, step } from "../../spotlight/web/static/js/voice-reconnect.js";

const noJitter = () => 0;

/** Run events through the policy; returns the last {state, action}. */
function run(events, random = noJitter, state = INITIAL) {
  let out = { state, action: { type: "none" } };
  for (const e of events) out = step(out.state, e, random);
  return out;
}

const fail = { type: "closed", code: 1006, wasOpen: false };
const drop = { type: "closed", code: 1006, wasOpen: true };

test("a dropped session retries after 1 s, then doubles to at most 30 s, 10 attempts, then gives up", () => {
  let { state, action } = run([{ type: "start" }, { type: "opened" }, drop]);
  assert.deepEqual(action, { type: "wait", delayMs: 1000 });
  assert.equal(state.phase, "waiting");
  assert.equal(state.attempt, 1);
  const delays = [action.delayMs];
  const attempts = [state.attempt];
  for (let i = 0; i < 9; i += 1) {
    ({ state, action } = step(state, { type: "timer" }, noJitter));
    assert.deepEqual(action, { type: "connect" });
    assert.equal(state.phase, "connecting");
    ({ state, action } = step(state, fail, noJitter));
    if (action.type === "wait") {
      delays.push(action.delayMs);
      attempts.push(state.attempt);
    }
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000]);
  assert.deepEqual(attempts, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // The 10th attempt fails too: "max reconnects reached", nothing scheduled.
  ({ state, action } = step(step(state, { type: "timer" }, noJitter).state, fail, noJitter));
  assert.equal(state.phase, "gave-up");
  assert.equal(state.failures, VOICE_POLICY.maxAttempts);
  assert.deepEqual(action, { type: "none" });
  // Retry starts over at attempt 1.
  ({ state, action } = step(state, { type: "start" }, noJitter));
  assert.deepEqual([state.phase, state.attempt, state.failures, action.type], ["connecting", 1, 0, "connect"]);
});

test("a successful open resets the counter; a socket closed before session.started does not", () => {
  let out = run([{ type: "start" }, fail, { type: "timer" }, fail, { type: "timer" }, fail]);
  assert.equal(out.state.failures, 3);
  assert.equal(out.action.delayMs, 8000);
  out = run([{ type: "timer" }, { type: "opened" }], noJitter, out.state);
  assert.deepEqual(out.state, { phase: "open", failures: 0, attempt: 0 });
  out = run([drop], noJitter, out.state);
  assert.equal(out.action.delayMs, 1000); // back to 1 s
  // Accepted then closed at once, never session.started: a failed attempt (no tight loop).
  out = run([{ type: "timer" }, { type: "closed", code: 1012, wasOpen: false }], noJitter, out.state);
  assert.equal(out.state.failures, 1);
  assert.equal(out.action.delayMs, 2000);
});

test("jitter keeps each delay within 80-100 % of the nominal one, never above 30 s", () => {
  for (const r of [0, 0.3, 0.999999]) {
    let out = run([{ type: "start" }], () => r);
    for (let n = 2; n <= 10; n += 1) {
      out = step(out.state, fail, () => r);
      const nominal = Math.min(30000, 1000 * 2 ** (n - 1));
      assert.ok(out.action.delayMs <= nominal && out.action.delayMs >= 0.8 * nominal, `${n}: ${out.action.delayMs}`);
      out = step(out.state, { type: "timer" }, () => r);
    }
  }
});

test("no reconnect after a manual close or an auth refusal; final codes end it", () => {
  let out = run([{ type: "start" }, { type: "opened" }, { type: "stop" }, drop]);
  assert.equal(out.state.phase, "closed");
  assert.deepEqual(out.action, { type: "none" });
  for (const code of [4401, 4403]) {
    out = run([{ type: "start" }, { type: "closed", code, wasOpen: false }]);
    assert.equal(out.state.phase, "locked");
    assert.deepEqual(out.action, { type: "none" });
  }
  for (const code of [4410, 4400, 1002, 1007, 1009]) {
    out = run([{ type: "start" }, { type: "opened" }, { type: "closed", code, wasOpen: true }]);
    assert.equal(out.state.phase, "ended", String(code));
  }
  for (const code of [1006, 1011, 1012, 4008, 4009, 4010, 1000]) assert.equal(closeKind(code), "retry", String(code));
  // A stale timer after a stop does nothing.
  assert.deepEqual(step({ phase: "closed", failures: 0, attempt: 1 }, { type: "timer" }).action, { type: "none" });
});
