// Keyboard shortcuts of the trader's screen. Pure: which action a key press asks for.
//
//   1 ... 9          the n-th symbol of the watchlist
//   Shift+1 ... 6    the n-th timeframe (1m 5m 15m 30m 1h 1d)
//   [  ]             previous / next timeframe
//   a                the alert price box (type a level, Enter)
//   ?                show or hide this list;  Esc hides it
//
// Nothing fires while typing in a field (input, select, textarea, contenteditable) or with
// Ctrl, Alt or Meta held, so the browser's own shortcuts keep working.

export const SHORTCUTS = Object.freeze([
  ["1 \u2026 9", "symbol 1 to 9 of the watchlist"],
  ["Shift+1 \u2026 6", "timeframe 1m, 5m, 15m, 30m, 1h, 1d"],
  ["[  ]", "previous / next timeframe"],
  ["a", "set a price alert"],
  ["?", "show or hide the shortcuts"],
]);

const TYPING = new Set(["INPUT", "SELECT", "TEXTAREA"]);

/**
 * The action for a keydown ``event`` ({key, code, shiftKey, ctrlKey, altKey, metaKey,
 * target}) on a screen showing ``symbols`` and ``timeframes`` with ``timeframe`` current:
 * {kind: "symbol" | "timeframe", value} | {kind: "alert" | "help" | "close"} | null.
 */
export function shortcutFor(event, symbols, timeframes, timeframe) {
  if (!event || event.ctrlKey || event.altKey || event.metaKey) return null;
  const target = event.target;
  if (target && (TYPING.has(target.tagName) || target.isContentEditable)) return null;
  const digit = /^Digit([1-9])$/.exec(event.code || "");
  if (digit) {
    const n = Number(digit[1]) - 1;
    if (event.shiftKey) return n < timeframes.length ? { kind: "timeframe", value: timeframes[n] } : null;
    return n < symbols.length ? { kind: "symbol", value: symbols[n] } : null;
  }
  if (event.key === "[" || event.key === "]") {
    const i = timeframes.indexOf(timeframe);
    const j = Math.min(timeframes.length - 1, Math.max(0, (i < 0 ? 0 : i) + (event.key === "]" ? 1 : -1)));
    return timeframes[j] === timeframe ? null : { kind: "timeframe", value: timeframes[j] };
  }
  if (event.key === "a" && !event.shiftKey) return { kind: "alert" };
  if (event.key === "?") return { kind: "help" };
  if (event.key === "Escape") return { kind: "close" };
  return null;
}
