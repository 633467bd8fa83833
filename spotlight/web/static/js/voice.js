// The voice coach's connection: one WebSocket to /voice/ws, kept up by the policy in
// voice-reconnect.js. Text frames are JSON control messages, binary frames are audio (PCM16
// mono 24 kHz) both ways (docs/voice.md). The UI is voice-panel.js.
//
// Everything outside is injected (WebSocket, timers, clock, random), so
// tests/js/voice.test.mjs drives it with a fake socket and a fake clock.

import { INITIAL, VOICE_POLICY, step } from "./voice-reconnect.js";

/**
 * ``onState(state)``: {phase, attempt, failures, retryAt, maxAttempts, code} on every change
 * (phases in voice-reconnect.js). ``onMessage(type, payload)``: every control message.
 * ``onAudio(ArrayBuffer)``: every audio frame of an answer.
 */
export class VoiceConnection {
  constructor({
    url, // () => string: the ws:// URL (with ?replay= when the page watches a replay)
    speech = () => true, // ask for spoken answers
    onState = () => {},
    onMessage = () => {},
    onAudio = () => {},
    WebSocket: Socket = globalThis.WebSocket,
    setTimeout: setTimer = (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: clearTimer = (id) => globalThis.clearTimeout(id),
    now = () => Date.now(),
    random = Math.random,
    policy = VOICE_POLICY,
  }) {
    Object.assign(this, { url, speech, onState, onMessage, onAudio, Socket, setTimer, clearTimer, now, random, policy });
    this.state = { ...INITIAL };
    this.ws = null;
    this.timer = null;
    this.session = null; // the session.started payload of the open session
  }

  /** Connect now (first start, the Retry button, a new feed): the counter starts over. */
  start() {
    this._apply({ type: "start" });
  }

  /** The trader (or sign-out) closes it: no reconnect. */
  stop() {
    this._apply({ type: "stop" });
    this._drop(1000, "closed by the user");
  }

  get open() {
    return this.state.phase === "open";
  }

  /** A control message; false when not connected. */
  send(obj) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  /** One audio frame (an ArrayBuffer or typed array of PCM16); false when not connected. */
  sendAudio(buffer) {
    if (!this.open) return false;
    this.ws.send(buffer);
    return true;
  }

  // -- internals ---------------------------------------------------------------------------
  _apply(event) {
    const { state, action } = step(this.state, event, this.random, this.policy);
    this.state = state;
    this.clearTimer(this.timer);
    this.timer = null;
    if (action.type === "wait") {
      this.state.retryAt = this.now() + action.delayMs;
      this.timer = this.setTimer(() => this._apply({ type: "timer" }), action.delayMs);
    }
    this.onState({ ...this.state, maxAttempts: this.policy.maxAttempts });
    if (action.type === "connect") this._connect();
  }

  _drop(code, reason) {
    const ws = this.ws;
    this.ws = null;
    this.session = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
  }

  _connect() {
    this._drop(1000, "reconnecting");
    let ws;
    try {
      ws = new this.Socket(this.url());
    } catch {
      // A malformed URL is a failed attempt like any other (retried with backoff).
      queueMicrotask(() => this._apply({ type: "closed", code: 1006, wasOpen: false }));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    let opened = false;
    ws.onopen = () => ws.send(JSON.stringify({ type: "session.start", speech: this.speech() }));
    ws.onmessage = (msg) => {
      if (typeof msg.data !== "string") {
        this.onAudio(msg.data);
        return;
      }
      let parsed;
      try {
        parsed = JSON.parse(msg.data);
      } catch {
        return; // not ours to crash on
      }
      const { type, payload } = parsed;
      if (type === "session.started") {
        opened = true;
        this.session = payload;
        this._apply({ type: "opened" });
      }
      this.onMessage(type, payload);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return; // an older socket
      this.ws = null;
      this.session = null;
      this._apply({ type: "closed", code: event.code, wasOpen: opened });
    };
    ws.onerror = () => {}; // a close event always follows
  }
}
