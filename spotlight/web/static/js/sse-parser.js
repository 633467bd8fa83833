// An incremental Server-Sent Events parser (the HTML standard's rules): feed it text as it
// arrives, in chunks of any size, and it returns the complete events. Pure; no DOM.
//
// The stream client reads the response with fetch() rather than EventSource so that it sees
// HTTP status codes (401 vs 404 vs 503) and decides about reconnecting itself.

export class SSEParser {
  constructor() {
    this.buffer = "";
    this.lastEventId = "";
    this.retry = null;
    this._reset();
  }

  _reset() {
    this.type = "";
    this.data = [];
    this.sawId = false;
  }

  /** Feed text; returns the events completed by it: [{type, data, id}]. */
  push(text) {
    this.buffer += text;
    const events = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (m === null) break;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (m[0] === "\r" && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const event = this._line(line);
      if (event !== null) events.push(event);
    }
    return events;
  }

  _line(line) {
    if (line === "") {
      // Blank line: dispatch (only when there is data; a retry-only block is no event).
      if (this.data.length === 0) {
        this._reset();
        return null;
      }
      const event = {
        type: this.type || "message",
        data: this.data.join("\n"),
        id: this.lastEventId || null,
      };
      this._reset();
      return event;
    }
    if (line.startsWith(":")) return null; // comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id") {
      if (!value.includes("\0")) this.lastEventId = value;
    } else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    return null;
  }
}

/** "<epoch>:<seq>" -> {epoch, seq}, or null when malformed. */
export function parseEventId(id) {
  if (typeof id !== "string") return null;
  const i = id.lastIndexOf(":");
  if (i <= 0) return null;
  const epoch = id.slice(0, i);
  const seqText = id.slice(i + 1);
  if (!/^\d+$/.test(seqText) || !/^[0-9A-Za-z_-]+$/.test(epoch)) return null;
  return { epoch, seq: Number(seqText) };
}
