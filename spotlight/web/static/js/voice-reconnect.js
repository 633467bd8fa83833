// The voice coach's reconnect policy as a pure step function: state + event -> state +
// action. No timers, no sockets: voice.js does what it says, tests/js/voice-reconnect.test.mjs
// pins it down. docs/voice.md describes it.
//
// - Backoff 1 s, 2 s, 4 s ... at most 30 s (reconnect.js's backoffMs), each delay drawn from
//   [80 %, 100 %] of the nominal one so a crowd spreads out and the cap is never exceeded.
// - At most 10 attempts in a row; then "gave-up" ("max reconnects reached"): nothing more
//   happens until the trader presses Retry.
// - The counter resets on a successful open: the server answered session.start (a socket
//   that opens and is closed at once is not a success, so it cannot cause a tight loop).
//   A session that drops is not a failed attempt: the first retry after it is attempt 1.
// - No reconnect after a manual close, nor after an auth refusal (4401, 4403: "locked"),
//   nor after a close that says retrying cannot help (other 44xx codes, e.g. 4410 for a
//   replay that ended, and the protocol violations 1002, 1007, 1009: "ended").

import { backoffMs } from "./reconnect.js";

export const VOICE_POLICY = Object.freeze({
  baseMs: 1000,
  factor: 2,
  capMs: 30_000,
  maxAttempts: 10,
  jitter: 0.2,
});

/** What a close code means for reconnecting: "auth", "final" or "retry". */
export function closeKind(code) {
  if (code === 4401 || code === 4403) return "auth";
  if ((code >= 4400 && code <= 4499) || code === 1002 || code === 1007 || code === 1009) {
    return "final";
  }
  return "retry"; // 1006 (network), 1011, 1012 (restart), 4008/4009 (slow), 4010 (idle) ...
}

export const INITIAL = Object.freeze({ phase: "idle", failures: 0, attempt: 0 });

/**
 * One step. ``event`` is {type: "start"} (connect now: first start, Retry, a new feed),
 * {type: "opened"} (session.started arrived), {type: "closed", code, wasOpen} or
 * {type: "stop"} (the trader closed it, or signed out).
 *
 * Returns {state, action}; ``action`` is {type: "connect"}, {type: "wait", delayMs} (then
 * connect) or {type: "none"}. ``state.phase``: idle, connecting, open, waiting, gave-up,
 * locked, ended, closed; ``state.attempt`` is the attempt in flight or next (1..10).
 */
export function step(state, event, random = Math.random, policy = VOICE_POLICY) {
  const none = { type: "none" };
  switch (event.type) {
    case "start":
      return { state: { phase: "connecting", failures: 0, attempt: 1 }, action: { type: "connect" } };
    case "stop":
      return { state: { ...state, phase: "closed" }, action: none };
    case "opened":
      return { state: { phase: "open", failures: 0, attempt: 0 }, action: none };
    case "closed": {
      if (state.phase === "closed" || state.phase === "idle") return { state, action: none };
      const kind = closeKind(event.code);
      if (kind === "auth") return { state: { ...state, phase: "locked", code: event.code }, action: none };
      if (kind === "final") return { state: { ...state, phase: "ended", code: event.code }, action: none };
      const failures = event.wasOpen ? 0 : state.failures + 1;
      if (failures >= policy.maxAttempts) {
        return { state: { phase: "gave-up", failures, attempt: failures, code: event.code }, action: none };
      }
      const attempt = failures + 1;
      const nominal = backoffMs(attempt, policy);
      const delayMs = Math.round(nominal * (1 - policy.jitter * random()));
      return {
        state: { phase: "waiting", failures, attempt, delayMs, code: event.code },
        action: { type: "wait", delayMs },
      };
    }
    case "timer":
      if (state.phase !== "waiting") return { state, action: none };
      return { state: { ...state, phase: "connecting" }, action: { type: "connect" } };
    default:
      throw new Error(`unknown event ${event.type}`);
  }
}
