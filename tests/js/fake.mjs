// Test doubles for the stream client: a manual clock with timers, and a scripted server.

export class FakeClock {
  constructor(start = 1_000_000) {
    this.t = start;
    this.timers = new Map();
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.t + Math.max(0, ms), fn, ms });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }

  /** Pending timers' delays, soonest first (what the client scheduled). */
  pending() {
    return [...this.timers.values()].map((x) => x.at - this.t).sort((a, b) => a - b);
  }

  /** Advance time by ``ms``, firing due timers in order and letting promises settle. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (next === null || timer.at < next[1].at)) next = [id, timer];
      }
      if (next === null) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await settle();
  }
}

/** Let pending promise callbacks (fetch, stream reads) run. */
export async function settle() {
  for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A streaming response whose body the test feeds with ``push`` and ends with ``end``. */
export function openStream() {
  const encoder = new TextEncoder();
  let controller;
  const body = new ReadableStream({
    start(c) {
      controller = c;
    },
  });
  return {
    response: new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } }),
    push(text) {
      controller.enqueue(encoder.encode(text));
    },
    end() {
      controller.close();
    },
    fail() {
      controller.error(new TypeError("network error"));
    },
  };
}

export function jsonResponse(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/**
 * fetch() that answers from a script: each call takes the next item, which is a Response, an
 * Error (thrown, like a refused connection), or a function (url) => Response.
 */
export function scriptedFetch(items) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init });
    if (init && init.signal && init.signal.aborted) throw new DOMException("aborted", "AbortError");
    const item = items.shift();
    if (item === undefined) throw new TypeError("connection refused (script exhausted)");
    if (item instanceof Error) throw item;
    if (typeof item === "function") return item(url, init);
    return item;
  };
  return { fetch, calls };
}

export function frame(type, data, id) {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}
