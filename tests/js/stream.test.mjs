// The stream client (spotlight/web/static/js/stream.js) against a scripted server and a fake
// clock: reconnect decisions, resume points, lockout, replay end, throttling, the watchdog.
import { test } from "node:test";
import assert from "node:assert/strict";

import { StreamClient, startsSnapshot } from "../../spotlight/web/static/js/stream.js";
import { FakeClock, frame, jsonResponse, openStream, scriptedFetch, settle } from "./fake.mjs";

function client(items, options = {}) {
  const clock = new FakeClock();
  const server = scriptedFetch(items);
  const states = [];
  const events = [];
  const c = new StreamClient({
    url: (resume) => (resume ? `/realtime/sse?symbols=SPY&sinceSeq=${resume.seq}&epoch=${resume.epoch}` : "/realtime/sse?symbols=SPY"),
    onEvent: (type, data, id) => events.push({ type, data, id }),
    onState: (s) => states.push(s),
    fetch: server.fetch,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0,
    ...options,
  });
  return { c, clock, server, states, events };
}

const refused = () => new TypeError("fetch failed");

test("events are delivered parsed, with their ids", async () => {
  const s = openStream();
  const { c, events, states } = client([s.response]);
  c.start();
  await settle();
  s.push("retry: 2000\n\n" + frame("snapshot", { a: 1 }, "ep:1") + frame("tick", { s: "SPY", p: 1 }, "ep:2"));
  await settle();
  assert.deepEqual(events.map((e) => [e.type, e.id]), [["snapshot", "ep:1"], ["tick", "ep:2"]]);
  assert.deepEqual(events[1].data, { s: "SPY", p: 1 });
  assert.equal(states.at(-1).status, "open");
  c.stop();
});

test("a dropped stream reconnects after the backoff and resumes from the last id", async () => {
  const first = openStream();
  const second = openStream();
  const { c, clock, server, states } = client([first.response, second.response]);
  c.start();
  await settle();
  assert.equal(server.calls[0].url, "/realtime/sse?symbols=SPY");
  first.push(frame("tick", {}, "9c41f2ab07d3:41") + frame("heartbeat", {}, "9c41f2ab07d3:57"));
  first.end();
  await settle();
  const waiting = states.at(-1);
  assert.equal(waiting.status, "waiting");
  assert.equal(waiting.retryAt - clock.now(), 1000);
  assert.equal(server.calls.length, 1);
  await clock.advance(999);
  assert.equal(server.calls.length, 1, "no attempt before the delay");
  await clock.advance(1);
  assert.equal(server.calls.length, 2);
  assert.equal(server.calls[1].url, "/realtime/sse?symbols=SPY&sinceSeq=57&epoch=9c41f2ab07d3");
  assert.equal(states.at(-1).status, "open");
  c.stop();
});

test("refused connections back off 1, 2, 4 ... 30 s, then give up with a manual reconnect", async () => {
  const { c, clock, server, states } = client(Array.from({ length: 10 }, refused), {
    schedule: { pauseAfter: Infinity },
  });
  c.start();
  await settle();
  const delays = [];
  for (;;) {
    const last = states.at(-1);
    if (last.status !== "waiting") break;
    delays.push(last.retryAt - clock.now());
    await clock.advance(last.retryAt - clock.now());
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  assert.equal(server.calls.length, 10);
  assert.equal(states.at(-1).status, "manual");
  assert.deepEqual(clock.pending(), [], "nothing scheduled after giving up");
  await clock.advance(600_000);
  assert.equal(server.calls.length, 10, "no attempt by itself after giving up");
});

test("the manual reconnect starts over and a success resets the counter", async () => {
  const s = openStream();
  const items = [...Array.from({ length: 10 }, refused), s.response, refused()];
  const { c, clock, server, states } = client(items, { schedule: { pauseAfter: Infinity } });
  c.start();
  await clock.advance(200_000);
  assert.equal(states.at(-1).status, "manual");
  c.reconnectNow();
  await settle();
  assert.equal(server.calls.length, 11);
  assert.equal(states.at(-1).status, "open");
  s.end(); // drop after success: attempt 1 again, after the base delay
  await settle();
  assert.equal(states.at(-1).status, "waiting");
  assert.equal(states.at(-1).attempt, 1);
  assert.equal(states.at(-1).retryAt - clock.now(), 1000);
  c.stop();
});

test("401 locks the client out: no retry loop", async () => {
  const { c, clock, server, states } = client([jsonResponse(401, { error: "unauthorized" })]);
  c.start();
  await settle();
  assert.deepEqual(states.at(-1), { status: "locked", httpStatus: 401 });
  assert.deepEqual(clock.pending(), []);
  await clock.advance(3_600_000);
  assert.equal(server.calls.length, 1);
});

test("403 locks out too", async () => {
  const { c, states, clock } = client([jsonResponse(403, { error: "forbidden_origin" })]);
  c.start();
  await settle();
  assert.equal(states.at(-1).status, "locked");
  assert.deepEqual(clock.pending(), []);
});

test("503 is retried with backoff", async () => {
  const s = openStream();
  const { c, clock, server, states } = client([jsonResponse(503, { error: "shutting_down" }), s.response]);
  c.start();
  await settle();
  assert.equal(states.at(-1).status, "waiting");
  assert.equal(states.at(-1).httpStatus, 503);
  await clock.advance(1000);
  assert.equal(server.calls.length, 2);
  assert.equal(states.at(-1).status, "open");
  c.stop();
});

test("a replay stream answering 404 ends: 'replay ended', no reconnect", async () => {
  const { c, clock, server, states } = client([jsonResponse(404, { error: "replay_not_found" })], {
    isGone: (status, body) => status === 404 && body?.error === "replay_not_found",
  });
  c.start();
  await settle();
  assert.equal(states.at(-1).status, "ended");
  assert.equal(states.at(-1).reason, "gone");
  await clock.advance(600_000);
  assert.equal(server.calls.length, 1);
});

test("a replay:end event ends the stream without reconnecting", async () => {
  const s = openStream();
  const { c, clock, server, states, events } = client([s.response]);
  c.start();
  await settle();
  s.push(frame("replay:end", { id: "r1", reason: "finished", positionMs: 5 }, "ep:9"));
  s.end();
  await settle();
  assert.equal(events.at(-1).type, "replay:end");
  assert.equal(states.at(-1).status, "ended");
  await clock.advance(600_000);
  assert.equal(server.calls.length, 1);
});

test("a throttled attempt schedules the next allowed one itself", async () => {
  const a = openStream();
  const b = openStream();
  const { c, clock, server, states } = client([a.response, b.response]);
  c.start();
  await settle();
  assert.equal(server.calls.length, 1);
  await clock.advance(300);
  c.reconnectNow(); // 300 ms after the last attempt: within the 1 s minimum interval
  await settle();
  assert.equal(server.calls.length, 1);
  const s = states.at(-1);
  assert.equal(s.status, "waiting");
  assert.equal(s.throttled, true);
  assert.equal(s.retryAt - clock.now(), 700);
  await clock.advance(700);
  assert.equal(server.calls.length, 2, "the throttled attempt ran by itself");
  assert.equal(states.at(-1).status, "open");
  c.stop();
});

test("a silent connection is cut by the idle watchdog and reconnected", async () => {
  const a = openStream();
  const b = openStream();
  const { c, clock, server, states } = client([a.response, b.response], { idleTimeoutMs: 35_000 });
  c.start();
  await settle();
  a.push(frame("heartbeat", {}, "ep:3"));
  await clock.advance(34_000);
  assert.equal(states.at(-1).status, "open");
  await clock.advance(1_000);
  assert.equal(states.at(-1).status, "waiting");
  await clock.advance(1000);
  assert.equal(server.calls.length, 2);
  assert.match(server.calls[1].url, /sinceSeq=3&epoch=ep$/);
  c.stop();
});

test("a 400 drops the resume point so the retry starts fresh", async () => {
  const a = openStream();
  const b = openStream();
  const { c, clock, server } = client([a.response, jsonResponse(400, { error: "bad_epoch" }), b.response]);
  c.start();
  await settle();
  a.push(frame("tick", {}, "ep:3"));
  a.end();
  await clock.advance(1000);
  assert.match(server.calls[1].url, /sinceSeq=3/);
  await clock.advance(2000);
  assert.equal(server.calls[2].url, "/realtime/sse?symbols=SPY");
  c.stop();
});

test("stop() aborts the stream and cancels the timers", async () => {
  const a = openStream();
  const { c, clock, server, states } = client([a.response]);
  c.start();
  await settle();
  c.stop();
  assert.equal(server.calls[0].init.signal.aborted, true);
  assert.equal(states.at(-1).status, "stopped");
  await clock.advance(600_000);
  assert.equal(server.calls.length, 1);
  assert.deepEqual(clock.pending(), []);
});

test("start() after a lockout connects again, fresh", async () => {
  const a = openStream();
  const { c, clock, server, states } = client([jsonResponse(401, {}), a.response]);
  c.start();
  await settle();
  assert.equal(states.at(-1).status, "locked");
  await clock.advance(5000); // the user signs in again
  c.start();
  await settle();
  assert.equal(server.calls.length, 2);
  assert.equal(states.at(-1).status, "open");
  c.stop();
});

test("a control event saying reconnect: false (the replay's `end`) ends the stream", async () => {
  const s = openStream();
  const { c, clock, server, states } = client([s.response]);
  c.start();
  await settle();
  s.push(frame("end", { reason: "replay-ended", reconnect: false }, "ep:4"));
  s.end();
  await settle();
  assert.equal(states.at(-1).status, "ended");
  await clock.advance(600_000);
  assert.equal(server.calls.length, 1);
});

test("shutdown (reconnect: true) is followed by a reconnect with the last id", async () => {
  const a = openStream();
  const b = openStream();
  const { c, clock, server } = client([a.response, b.response]);
  c.start();
  await settle();
  a.push(frame("shutdown", { reason: "shutdown", reconnect: true, retryMs: 2000 }, "ep:8"));
  a.end();
  await clock.advance(1000);
  assert.equal(server.calls.length, 2);
  assert.match(server.calls[1].url, /sinceSeq=8&epoch=ep$/);
  c.stop();
});

test("a snapshot in parts starts the stream's state only with its first part", () => {
  assert.equal(startsSnapshot({ symbols: {}, channels: {} }), true); // one message, no parts
  assert.equal(startsSnapshot({ part: 1, parts: 3, symbols: {}, channels: {} }), true);
  assert.equal(startsSnapshot({ part: 2, parts: 3, channels: { "gex:SPX": {} } }), false);
  assert.equal(startsSnapshot({ part: "2" }), true); // not a part number: treated as whole
});
