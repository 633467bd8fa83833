// The reconnect policy as a pure schedule: no timers, no network. The stream client
// (stream.js) asks it before each attempt and after each outcome, passing the time in, and
// does what it says. docs/web-client.md describes the policy; tests/js/reconnect.test.mjs
// pins it down.
//
// - Exponential backoff: 1 s, 2 s, 4 s ... capped at 30 s, with jitter (each delay is
//   drawn from [80%, 100%] of the nominal one, so the cap is never exceeded and a crowd of
//   clients spreads out).
// - At most 10 consecutive failed attempts; then "give-up": the page shows a reconnect
//   button and does nothing by itself. A stream that drops is not a failed attempt: the
//   first retry after a drop is attempt 1 of 10.
// - A success (the server answered 200 and the stream opened) resets the counter.
// - A minimum interval between the starts of two attempts: an attempt asked for earlier is
//   refused with the time it becomes allowed, and the caller schedules it for then.
// - A longer pause after repeated failures: when 5 failures happened within 2 minutes, the
//   next delay is a 60 s pause. A connection that opens and drops within 10 s counts as a
//   failure here, so a server that accepts and closes at once cannot cause a tight loop
//   even though each open resets the counter.
// - An authentication failure (401, 403) locks the client out: no retry at all until the
//   user signs in again.

export const DEFAULTS = Object.freeze({
  baseMs: 1000,
  factor: 2,
  capMs: 30_000,
  maxAttempts: 10,
  jitter: 0.2,
  minIntervalMs: 1000,
  pauseAfter: 5,
  pauseWindowMs: 120_000,
  pauseMs: 60_000,
  stableMs: 10_000,
});

/** Nominal delay before retry number ``n`` (1-based), without jitter. */
export function backoffMs(n, opts = DEFAULTS) {
  const exp = Math.max(0, n - 1);
  return Math.min(opts.capMs, opts.baseMs * opts.factor ** exp);
}

export class ReconnectSchedule {
  /**
   * @param {Partial<typeof DEFAULTS>} options
   * @param {() => number} random  in [0, 1); injected so tests are exact
   */
  constructor(options = {}, random = Math.random) {
    this.opts = { ...DEFAULTS, ...options };
    this.random = random;
    this.lastAttemptAt = -Infinity;
    this.reset();
  }

  /**
   * Forget the failures (a manual reconnect, a new sign-in). The time of the last attempt is
   * kept: the minimum interval holds across resets, so clicking "reconnect" repeatedly
   * cannot flood the server.
   */
  reset() {
    this.failures = 0; // consecutive failed attempts since the last success
    this.recent = []; // times of failures and short-lived connections, for the pause rule
    this.openedAt = null;
    this.locked = false;
  }

  /**
   * May an attempt start at ``now``? Returns {allowed: true} (and records the attempt) or
   * {allowed: false, at, reason}: ``at`` is when it becomes allowed.
   */
  tryAttempt(now) {
    if (this.locked) return { allowed: false, at: null, reason: "locked" };
    const at = this.lastAttemptAt + this.opts.minIntervalMs;
    if (now < at) return { allowed: false, at, reason: "throttled" };
    this.lastAttemptAt = now;
    return { allowed: true };
  }

  /** The attempt succeeded: the stream is open. Resets the failure counter. */
  onOpen(now) {
    this.failures = 0;
    this.openedAt = now;
  }

  /**
   * The attempt failed before the stream opened. ``status`` is the HTTP status, or null for
   * a network error. Returns the decision (see ``_next``).
   */
  onFailure(now, status = null) {
    this.openedAt = null;
    if (status === 401 || status === 403) {
      this.locked = true;
      return { action: "locked", status };
    }
    this.failures += 1;
    this.recent.push(now);
    return this._next(now, backoffMs(this.failures, this.opts));
  }

  /** An open stream ended (server closed it, network dropped). */
  onClose(now) {
    const lived = this.openedAt === null ? 0 : now - this.openedAt;
    this.openedAt = null;
    if (lived < this.opts.stableMs) this.recent.push(now);
    return this._next(now, backoffMs(this.failures + 1, this.opts));
  }

  /**
   * {action: "retry", delayMs, attempt, pause} or {action: "give-up", attempts}.
   * ``attempt`` is the number of the coming attempt (1 = the first after a success).
   */
  _next(now, nominal) {
    const o = this.opts;
    if (this.failures >= o.maxAttempts) {
      return { action: "give-up", attempts: this.failures };
    }
    this.recent = this.recent.filter((t) => now - t < o.pauseWindowMs);
    if (this.recent.length >= o.pauseAfter) {
      this.recent = [];
      return { action: "retry", delayMs: o.pauseMs, attempt: this.failures + 1, pause: true };
    }
    const delayMs = Math.round(nominal * (1 - o.jitter * this.random()));
    return { action: "retry", delayMs, attempt: this.failures + 1, pause: false };
  }
}
