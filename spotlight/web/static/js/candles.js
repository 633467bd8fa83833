// Candle rules on the client, the same as the server's (docs/protocol.md, "Candle rules"):
//
// - a bar for the current (last) bucket replaces it: the in-progress bar moved, or it closed;
// - a bar for a later bucket is appended (empty buckets are not invented);
// - a bar for an older bucket is stale and ignored, except a `bar:close` for a bucket the
//   chart has: that is a correction (the source revised the bar, e.g. late prints) and
//   replaces the bar with that start;
// - the daily bar is one bucket per New York day, so it simply updates in place.
//
// Pure functions on arrays of server bars ({s, tf, t, o, h, l, c, v, n}; t in ms); no DOM.

export const TIMEFRAMES = Object.freeze(["1m", "5m", "15m", "30m", "1h", "1d"]);

const FIELDS = ["t", "o", "h", "l", "c"];

/** A bar we can draw: finite numbers for t, o, h, l, c (v may be absent for an index). */
export function isValidBar(bar) {
  if (bar === null || typeof bar !== "object") return false;
  for (const f of FIELDS) {
    if (typeof bar[f] !== "number" || !Number.isFinite(bar[f])) return false;
  }
  return bar.h >= bar.l;
}

/** Index of the bar starting at ``t`` in sorted ``bars``, or -1 (binary search). */
export function findBar(bars, t) {
  let lo = 0;
  let hi = bars.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const mt = bars[mid].t;
    if (mt === t) return mid;
    if (mt < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Merge one live bar into ``bars`` (sorted by t, oldest first), in place.
 * ``kind`` is the event name: "bar:update" or "bar:close".
 * Returns {action, index}: action is "append", "update" (the last bar), "replace" (a
 * correction of an older bar) or "ignore" (stale or malformed); index is the bar touched.
 */
export function mergeBar(bars, bar, kind) {
  if (!isValidBar(bar)) return { action: "ignore", index: -1 };
  const last = bars.length - 1;
  if (last < 0 || bar.t > bars[last].t) {
    bars.push(bar);
    return { action: "append", index: bars.length - 1 };
  }
  if (bar.t === bars[last].t) {
    bars[last] = bar;
    return { action: "update", index: last };
  }
  // Older than the last bucket.
  if (kind === "bar:close") {
    const i = findBar(bars, bar.t);
    if (i >= 0) {
      bars[i] = bar;
      return { action: "replace", index: i };
    }
  }
  return { action: "ignore", index: -1 };
}

/**
 * The candles of one symbol at one timeframe: history plus live bars.
 *
 * While history is loading, live bars are buffered and merged on top of it when it arrives,
 * so a bar published between the history request and its answer is not lost (and one that
 * history already holds is merged idempotently by the same rules).
 */
export class CandleSet {
  constructor(symbol, timeframe) {
    this.symbol = symbol;
    this.timeframe = timeframe;
    this.bars = [];
    this.loading = true;
    this.pending = [];
    this.stats = { append: 0, update: 0, replace: 0, ignore: 0, other: 0 };
  }

  /** Does this live bar belong here (symbol and timeframe)? */
  accepts(bar) {
    return bar !== null && typeof bar === "object" && bar.s === this.symbol && bar.tf === this.timeframe;
  }

  /** Merge a live bar; returns the action (or "buffered" / "other"). */
  apply(bar, kind) {
    if (!this.accepts(bar)) {
      this.stats.other += 1;
      return { action: "other", index: -1 };
    }
    if (this.loading) {
      this.pending.push([bar, kind]);
      return { action: "buffered", index: -1 };
    }
    const result = mergeBar(this.bars, bar, kind);
    this.stats[result.action] += 1;
    return result;
  }

  /** History arrived (oldest first): take it, then merge what was buffered meanwhile. */
  load(history) {
    const bars = history.filter(isValidBar).sort((a, b) => a.t - b.t);
    // Keep one bar per start (the last one listed wins), as a chart needs unique times.
    this.bars = [];
    for (const bar of bars) {
      const n = this.bars.length;
      if (n && this.bars[n - 1].t === bar.t) this.bars[n - 1] = bar;
      else this.bars.push(bar);
    }
    this.loading = false;
    const pending = this.pending;
    this.pending = [];
    for (const [bar, kind] of pending) {
      this.stats[mergeBar(this.bars, bar, kind).action] += 1;
    }
    return this.bars;
  }

  /** Start over (e.g. after a `reset`): buffer live bars until history is loaded again. */
  reload() {
    this.loading = true;
    this.pending = [];
  }

  get last() {
    return this.bars.length ? this.bars[this.bars.length - 1] : null;
  }
}
