import { test } from "node:test";
import assert from "node:assert/strict";

import { SSEParser, parseEventId } from "../../spotlight/web/static/js/sse-parser.js";

test("frames split anywhere are parsed the same", () => {
  const text = "retry: 2000\n\nid: ab:1\nevent: tick\ndata: {\"p\":1}\n\n: comment\nid: ab:2\nevent: bar:update\ndata: x\ndata: y\n\n";
  for (let size = 1; size <= text.length; size += 1) {
    const p = new SSEParser();
    const out = [];
    for (let i = 0; i < text.length; i += size) out.push(...p.push(text.slice(i, i + size)));
    assert.deepEqual(out, [
      { type: "tick", data: '{"p":1}', id: "ab:1" },
      { type: "bar:update", data: "x\ny", id: "ab:2" },
    ]);
    assert.equal(p.retry, 2000);
  }
});

test("CRLF and CR line endings", () => {
  const p = new SSEParser();
  assert.deepEqual(p.push("event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\r"), [
    { type: "a", data: "1", id: null },
  ]);
  // A trailing "\r" may be half of "\r\n": the event completes with the next byte.
  assert.deepEqual(p.push("\n"), [{ type: "b", data: "2", id: null }]);
  assert.deepEqual(p.push("data: 3\r\r"), []);
  assert.deepEqual(p.push("data: 4\n\n"), [
    { type: "message", data: "3", id: null },
    { type: "message", data: "4", id: null },
  ]);
});

test("an event without a type is a message; a block without data is no event", () => {
  const p = new SSEParser();
  assert.deepEqual(p.push("id: e:1\n\ndata: hi\n\n"), [{ type: "message", data: "hi", id: "e:1" }]);
});

test("parseEventId", () => {
  assert.deepEqual(parseEventId("9c41f2ab07d3:18342"), { epoch: "9c41f2ab07d3", seq: 18342 });
  for (const bad of [null, "", "x", ":1", "ab:", "ab:1x", "a b:1"]) assert.equal(parseEventId(bad), null);
});
