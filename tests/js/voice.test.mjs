// The voice connection (spotlight/web/static/js/voice.js) against a fake WebSocket and a
// fake clock: session.start on open, messages and audio apart, the reconnect schedule run
// by real timers, no reconnect after stop() or an auth refusal.
import { test } from "node:test";
import assert from "node:assert/strict";

import { VoiceConnection } from "../../spotlight/web/static/js/voice.js";
import { FakeClock, settle } from "./fake.mjs";

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = null;
    FakeSocket.all.push(this);
  }
  send(data) {
    this.sent.push(data);
  }
  close(code, reason) {
    this.closed = { code, reason };
  }
  // -- the test plays the server ---------------------------------------------------------
  accept() {
    this.onopen?.();
  }
  say(type, payload = {}) {
    this.onmessage?.({ data: JSON.stringify({ type, seq: 0, id: "e:0", payload }) });
  }
  audio(bytes) {
    this.onmessage?.({ data: new Uint8Array(bytes).buffer });
  }
  end(code) {
    this.onclose?.({ code });
  }
}

function rig() {
  FakeSocket.all = [];
  const clock = new FakeClock();
  const states = [];
  const messages = [];
  const audio = [];
  const conn = new VoiceConnection({
    url: () => "ws://host/voice/ws?replay=abc",
    speech: () => false,
    onState: (s) => states.push(s),
    onMessage: (type, payload) => messages.push([type, payload]),
    onAudio: (buf) => audio.push(buf.byteLength),
    WebSocket: FakeSocket,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0,
  });
  return { conn, clock, states, messages, audio, last: () => FakeSocket.all.at(-1) };
}

test("opens, starts the session, keeps control messages and audio apart", () => {
  const { conn, states, messages, audio, last } = rig();
  conn.start();
  const ws = last();
  assert.equal(ws.url, "ws://host/voice/ws?replay=abc");
  assert.equal(ws.binaryType, "arraybuffer");
  assert.equal(conn.send({ type: "input.commit" }), false); // not open yet
  ws.accept();
  assert.deepEqual(JSON.parse(ws.sent[0]), { type: "session.start", speech: false });
  ws.say("session.started", { agent: "offline" });
  assert.equal(states.at(-1).phase, "open");
  assert.equal(conn.session.agent, "offline");
  ws.audio([1, 2, 3, 4]);
  ws.say("answer", { turn: 1, text: "SPY is at 600." });
  assert.deepEqual(audio, [4]);
  assert.deepEqual(messages.map(([t]) => t), ["session.started", "answer"]);
  assert.equal(conn.send({ type: "input.text", text: "flip" }), true);
  assert.equal(conn.sendAudio(new Int16Array(4).buffer), true);
  assert.equal(ws.sent.length, 3);
});

test("a cut network: retries on the backoff schedule, the counter resets on success", async () => {
  const { conn, clock, states, last } = rig();
  conn.start();
  last().accept();
  last().say("session.started", { agent: "offline" });
  last().end(1006); // the network went away
  assert.equal(states.at(-1).phase, "waiting");
  assert.deepEqual(clock.pending(), [1000]);
  const waits = [];
  for (let i = 0; i < 4; i += 1) {
    waits.push(clock.pending()[0]);
    await clock.advance(clock.pending()[0]);
    assert.equal(states.at(-1).phase, "connecting");
    last().end(1006); // refused: still down
  }
  assert.deepEqual(waits, [1000, 2000, 4000, 8000]);
  assert.equal(states.at(-1).attempt, 5);
  assert.deepEqual(clock.pending(), [16000]);
  await clock.advance(16000);
  last().accept();
  last().say("session.started", { agent: "offline" });
  assert.deepEqual([states.at(-1).phase, states.at(-1).failures], ["open", 0]);
  assert.equal(FakeSocket.all.length, 6);
  last().end(1006);
  assert.deepEqual(clock.pending(), [1000]); // reset: 1 s again
});

test("the server stays away: 10 attempts, then max reconnects reached, until Retry", async () => {
  const { conn, clock, states, last } = rig();
  conn.start();
  last().end(1006);
  for (let i = 0; i < 9; i += 1) {
    await clock.advance(clock.pending()[0]);
    last().end(1006);
  }
  assert.equal(FakeSocket.all.length, 10);
  assert.equal(states.at(-1).phase, "gave-up");
  assert.deepEqual(clock.pending(), []);
  await clock.advance(600_000);
  assert.equal(FakeSocket.all.length, 10); // nothing more by itself
  conn.start(); // Retry
  assert.equal(FakeSocket.all.length, 11);
  assert.equal(states.at(-1).attempt, 1);
});

test("no reconnect after stop() or an auth refusal; a late close of an old socket is ignored", async () => {
  const { conn, clock, states, last } = rig();
  conn.start();
  const first = last();
  first.accept();
  first.say("session.started");
  conn.stop();
  assert.deepEqual(first.closed, { code: 1000, reason: "closed by the user" });
  first.end(1000);
  await clock.advance(60_000);
  assert.equal(FakeSocket.all.length, 1);
  assert.equal(states.at(-1).phase, "closed");
  conn.start();
  last().end(4401);
  assert.equal(states.at(-1).phase, "locked");
  await clock.advance(60_000);
  assert.equal(FakeSocket.all.length, 2);
  await settle();
});
