// The one stream client: an SSE stream read with fetch(), reconnected by the schedule in
// reconnect.js, resumed exactly from the last event id.
//
// Why fetch() and not EventSource: EventSource hides the HTTP status of a failed connection
// (401, 404 and 503 all look like an "error" event) and retries on its own schedule. With
// fetch() the client sees the status and decides: 401/403 -> locked out (show the login,
// never retry), 404 on a replay stream -> the replay is gone ("replay ended", never retry),
// 400 -> drop the resume point and retry fresh, anything else -> back off and retry.
//
// Resume: every event's id is "<epoch>:<seq>"; a reconnect asks for
// `sinceSeq=<seq>&epoch=<epoch>` (docs/protocol.md), and the server answers with exactly the
// missed events, or with `reset` + `snapshot` when it cannot (the caller reloads history).
//
// Everything outside is injected (fetch, timers, clock, random), so tests/js/stream.test.mjs
// drives it with a fake server and a fake clock.

import { ReconnectSchedule } from "./reconnect.js";
import { SSEParser, parseEventId } from "./sse-parser.js";

// No bytes for this long (heartbeats come every 10 s) means the connection is dead.
export const IDLE_TIMEOUT_MS = 35_000;

/**
 * States reported to ``onState`` ({status, ...}):
 * - "connecting" {attempt}: an attempt is in flight
 * - "open": the stream is up
 * - "waiting" {retryAt, attempt, pause, throttled}: the next attempt is scheduled
 * - "manual" {attempts}: gave up after too many failures; call reconnectNow()
 * - "locked" {httpStatus}: authentication failed; nothing happens until start() again
 * - "ended" {reason}: the stream is gone for good (a replay ended, or its id is unknown)
 * - "stopped": stop() was called
 */
export class StreamClient {
  constructor({
    url,
    onEvent,
    onState = () => {},
    isGone = () => false,
    fetch: fetchImpl = (...args) => globalThis.fetch(...args),
    setTimeout: setTimer = (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: clearTimer = (id) => globalThis.clearTimeout(id),
    now = () => Date.now(),
    random = Math.random,
    schedule = {},
    idleTimeoutMs = IDLE_TIMEOUT_MS,
    endEvents = ["replay:end", "end"],
  }) {
    this.url = url; // (resume: {epoch, seq} | null) => string
    this.onEvent = onEvent; // (type, data, id) => void
    this.onState = onState;
    this.isGone = isGone; // (httpStatus, body) => boolean
    this.fetch = fetchImpl;
    this.setTimer = setTimer;
    this.clearTimer = clearTimer;
    this.now = now;
    this.schedule = new ReconnectSchedule(schedule, random);
    this.idleTimeoutMs = idleTimeoutMs;
    this.endEvents = new Set(endEvents);
    this.lastId = null;
    this.gen = 0; // bumps on every (re)start/stop: late callbacks of older attempts are ignored
    this.timer = null;
    this.idleTimer = null;
    this.controller = null;
    this.reader = null;
    this.ended = false;
    this.state = { status: "stopped" };
    this.attempt = 1;
  }

  /** Connect now, fresh (no resume point). Also clears a lockout or a give-up. */
  start() {
    this.lastId = null;
    this._restart();
  }

  /** The manual "reconnect" button: forget the failures, keep the resume point. */
  reconnectNow() {
    this._restart();
  }

  /** Close the stream and do nothing more. */
  stop() {
    this._cancel();
    this._set({ status: "stopped" });
  }

  /** The resume point of the next attempt ({epoch, seq}) or null. */
  get resume() {
    return parseEventId(this.lastId);
  }

  _restart() {
    this._cancel();
    this.schedule.reset();
    this.ended = false;
    this.attempt = 1;
    this._attempt();
  }

  _cancel() {
    this.gen += 1;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this._clearIdle();
    if (this.controller) this.controller.abort();
    this.controller = null;
    this._cancelReader();
  }

  _cancelReader() {
    const reader = this.reader;
    this.reader = null;
    if (reader) reader.cancel().catch(() => {});
  }

  _set(state) {
    this.state = state;
    this.onState(state);
  }

  _attempt() {
    this.timer = null;
    const now = this.now();
    const gate = this.schedule.tryAttempt(now);
    if (!gate.allowed) {
      if (gate.reason === "locked") return;
      // Throttled: schedule the attempt for when it becomes allowed, so nothing stalls.
      this._wait(gate.at - now, { attempt: this.attempt, pause: false, throttled: true });
      return;
    }
    this._connect(this.gen);
  }

  _wait(delayMs, info) {
    const gen = this.gen;
    const ms = Math.max(0, delayMs);
    this._set({ status: "waiting", retryAt: this.now() + ms, ...info });
    this.timer = this.setTimer(() => {
      if (gen === this.gen) this._attempt();
    }, ms);
  }

  async _connect(gen) {
    const controller = new AbortController();
    this.controller = controller;
    this._set({ status: "connecting", attempt: this.attempt });
    let response;
    try {
      response = await this.fetch(this.url(this.resume), {
        signal: controller.signal,
        headers: { Accept: "text/event-stream" },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (error) {
      if (gen === this.gen) this._failed(null, null, error);
      return;
    }
    if (gen !== this.gen) {
      controller.abort();
      return;
    }
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        body = null;
      }
      if (gen === this.gen) this._failed(response.status, body, null);
      return;
    }
    this.schedule.onOpen(this.now());
    this.attempt = 1;
    this._set({ status: "open" });
    await this._read(gen, controller, response);
  }

  async _read(gen, controller, response) {
    const parser = new SSEParser();
    const decoder = new TextDecoder();
    let endedByEvent = false;
    try {
      const reader = response.body.getReader();
      this.reader = reader;
      this._armIdle(gen, controller);
      for (;;) {
        const { value, done } = await reader.read();
        if (gen !== this.gen) return;
        if (done) break;
        this._armIdle(gen, controller);
        for (const event of parser.push(decoder.decode(value, { stream: true }))) {
          if (gen !== this.gen) return;
          if (event.id !== null && parseEventId(event.id) !== null) this.lastId = event.id;
          let data = null;
          try {
            data = JSON.parse(event.data);
          } catch {
            data = null;
          }
          // The end of a replay, or any control event saying not to reconnect.
          if (this.endEvents.has(event.type) || (data && data.reconnect === false)) {
            endedByEvent = true;
          }
          this.onEvent(event.type, data, event.id);
        }
      }
    } catch {
      // A network error or our own abort (idle watchdog): handled below like an end.
    } finally {
      this._clearIdle();
    }
    if (gen !== this.gen) return;
    this.controller = null;
    this.reader = null;
    if (endedByEvent) {
      this.ended = true;
      this.gen += 1;
      this._set({ status: "ended", reason: "end-event" });
      return;
    }
    this._decide(this.schedule.onClose(this.now()));
  }

  _armIdle(gen, controller) {
    this._clearIdle();
    this.idleTimer = this.setTimer(() => {
      this.idleTimer = null;
      if (gen !== this.gen) return;
      // Aborting the fetch errors the body in browsers; cancelling the reader ends the read
      // loop whatever the fetch implementation does.
      controller.abort();
      this._cancelReader();
    }, this.idleTimeoutMs);
  }

  _clearIdle() {
    if (this.idleTimer !== null) this.clearTimer(this.idleTimer);
    this.idleTimer = null;
  }

  _failed(status, body, error) {
    this.controller = null;
    if (status !== null && this.isGone(status, body)) {
      this.ended = true;
      this.gen += 1;
      this._set({ status: "ended", reason: "gone", httpStatus: status, body });
      return;
    }
    // 400: our resume point (or URL) was refused; retrying it unchanged cannot help.
    if (status === 400) this.lastId = null;
    const decision = this.schedule.onFailure(this.now(), status);
    this._decide(decision, { httpStatus: status, error: error ? String(error) : null });
  }

  _decide(decision, extra = {}) {
    if (decision.action === "locked") {
      this.gen += 1;
      this._set({ status: "locked", httpStatus: decision.status });
    } else if (decision.action === "give-up") {
      this.gen += 1;
      this._set({ status: "manual", attempts: decision.attempts, ...extra });
    } else {
      this.attempt = decision.attempt;
      this._wait(decision.delayMs, {
        attempt: decision.attempt,
        pause: decision.pause,
        throttled: false,
        ...extra,
      });
    }
  }
}

// A large snapshot comes in parts (`part`/`parts`, docs/protocol.md): the first one starts the
// stream's state (symbols, status, the chart's reload); later ones each add one channel.
export function startsSnapshot(snap) {
  return !(snap && Number.isInteger(snap.part) && snap.part > 1);
}
