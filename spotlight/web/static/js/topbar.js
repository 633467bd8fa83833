// The top bar and the chart's toolbar: the connection state with its countdown, the
// watchlist (a button per symbol with its price and the day's change), the timeframe
// buttons, the legend, the banner, and the keyboard shortcuts with their help (shortcuts.js
// decides).

import { findBar } from "./candles.js";
import { fmtPrice, fmtSigned } from "./format.js";
import { legendFields } from "./labels.js";
import { el } from "./panels.js";
import { SHORTCUTS, shortcutFor } from "./shortcuts.js";
import { formatNyDateTime } from "./time.js";

const $ = (id) => document.getElementById(id);

/** The stream client's state (stream.js) in words, with the countdown to the next try. */
export function renderConnection(s, replay) {
  let text;
  let dotState = "down";
  let extra = "";
  switch (s.status) {
    case "open":
      text = replay ? "replay" : "live";
      dotState = "up";
      break;
    case "connecting":
      text = s.attempt > 1 ? `connecting (attempt ${s.attempt}/10)\u2026` : "connecting\u2026";
      dotState = "idle";
      break;
    case "waiting": {
      const left = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
      text = "reconnecting";
      extra = `in ${left} s`;
      if (s.pause) extra += " (pausing after repeated failures)";
      else if (s.attempt) extra += ` \u00b7 attempt ${s.attempt}/10`;
      if (s.httpStatus) extra += ` \u00b7 HTTP ${s.httpStatus}`;
      dotState = "idle";
      break;
    }
    case "manual":
      text = "offline";
      extra = `gave up after ${s.attempts} attempts`;
      break;
    case "locked":
      text = "signed out";
      break;
    case "ended":
      text = "replay ended";
      dotState = "idle";
      break;
    default:
      text = "stopped";
  }
  const live = $("live");
  const countdown = $("countdown");
  if (live.textContent !== text) live.textContent = text;
  if (countdown.textContent !== extra) countdown.textContent = extra;
  $("live-dot").dataset.state = dotState;
  $("reconnect").hidden = s.status !== "manual" && s.status !== "locked";
}

/** One button per symbol (keys 1-9 choose them, shortcuts.js). */
export function renderWatchlist(symbols, current, onPick) {
  $("watchlist").replaceChildren(
    ...symbols.map((sym, i) => {
      const key = i < 9 ? ` (key ${i + 1})` : "";
      const b = el(
        "button",
        { type: "button", class: "sym", "data-symbol": sym, "aria-pressed": String(sym === current), title: `${sym}${key}` },
        el("span", { class: "name", text: sym }),
        el("span", { class: "px", text: "\u2013" }),
        el("span", { class: "chg", text: "" }),
      );
      b.addEventListener("click", () => onPick(sym));
      return b;
    }),
  );
}

/** A symbol's last price and its change since the day's open (the daily bar's). */
export function renderWatchPrice(symbol, price, open) {
  const item = document.querySelector(`#watchlist [data-symbol="${CSS.escape(symbol)}"]`);
  if (!item) return;
  item.querySelector(".px").textContent = fmtPrice(price);
  const chg = item.querySelector(".chg");
  if (Number.isFinite(open) && open > 0) {
    chg.textContent = `${fmtSigned(((price - open) / open) * 100)}%`;
    chg.className = `chg ${price >= open ? "up" : "down"}`;
  }
}

/** One button per timeframe (Shift+1-6 choose them). */
export function renderTimeframes(timeframes, current, onPick) {
  $("timeframes").replaceChildren(
    ...timeframes.map((tf, i) => {
      const b = el("button", {
        type: "button",
        "data-tf": tf,
        "aria-pressed": String(tf === current),
        title: `${tf} (Shift+${i + 1})`,
        text: tf,
      });
      b.addEventListener("click", () => onPick(tf));
      return b;
    }),
  );
}

/** The legend of ``bar`` (the last one, or the one under the crosshair) in ``candles``. */
export function renderLegend(candles, bar, hovering, replay) {
  const node = $("legend");
  node.replaceChildren(
    el("strong", { text: candles.symbol }),
    el("span", { class: "muted", text: ` ${candles.timeframe}${replay ? " \u00b7 replay" : ""}` }),
  );
  if (!bar) return;
  const i = findBar(candles.bars, bar.t);
  const previous = i > 0 ? candles.bars[i - 1] : null;
  for (const [k, text, tone] of legendFields(bar, previous, candles.symbol)) {
    node.append(el("span", { class: "k", text: ` ${k}` }), el("span", { class: tone, "data-k": k, text }));
  }
  if (!hovering && Number.isFinite(bar.t)) {
    // The bar's start: its time of day (the axis has the date), or the date of a daily bar.
    const when = formatNyDateTime(bar.t);
    node.append(el("span", { class: "muted", text: `  ${candles.timeframe === "1d" ? when.slice(0, 10) : `${when.slice(11)} ET`}` }));
  }
}

/** Mark the button of group ``id`` whose ``data-<key>`` is ``value`` as the pressed one. */
export function pressed(id, key, value) {
  for (const b of document.querySelectorAll(`#${id} button`)) {
    b.setAttribute("aria-pressed", String(b.dataset[key] === value));
  }
}

let bannerTimer = null;

export function setBanner(text, kind = "info", clearAfterMs = 0) {
  const banner = $("banner");
  banner.textContent = text;
  banner.hidden = !text;
  banner.dataset.kind = kind;
  clearTimeout(bannerTimer);
  if (text && clearAfterMs) {
    bannerTimer = setTimeout(() => {
      if (banner.textContent === text) banner.hidden = true;
    }, clearAfterMs);
  }
}

/**
 * Keys to actions (shortcuts.js). ``screen``: {active(), symbols(), timeframe(),
 * setSymbol(s), setTimeframe(tf), alert()}; "?" and the Keys button show the list.
 */
export function bindShortcuts(screen, timeframes) {
  const help = $("shortcuts");
  help
    .querySelector("dl")
    .replaceChildren(...SHORTCUTS.flatMap(([keys, what]) => [el("dt", {}, el("kbd", { text: keys })), el("dd", { text: what })]));
  $("shortcuts-close").addEventListener("click", () => (help.hidden = true));
  $("shortcuts-open").addEventListener("click", () => (help.hidden = !help.hidden));
  document.addEventListener("keydown", (event) => {
    if (!screen.active()) return;
    const action = shortcutFor(event, screen.symbols(), timeframes, screen.timeframe());
    if (action === null) return;
    if (action.kind === "symbol") screen.setSymbol(action.value);
    else if (action.kind === "timeframe") screen.setTimeframe(action.value);
    else if (action.kind === "alert") screen.alert();
    else if (action.kind === "help") help.hidden = !help.hidden;
    else if (action.kind === "close") help.hidden = true;
    event.preventDefault();
  });
}
