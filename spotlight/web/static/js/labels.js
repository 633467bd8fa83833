// What the screen says in words: the legend's fields, the market badge, setup prices. Pure
// functions of the payloads (docs/protocol.md, docs/analytics.md), tested with node --test.

import { fmtPrice, fmtSigned } from "./format.js";
import { spxFactor } from "./lines.js";

const finite = (x) => typeof x === "number" && Number.isFinite(x);

/** Volume, compact: "950", "12.3K", "1.25M", "3.1B". */
export function fmtVolume(v) {
  if (!finite(v)) return "\u2013";
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(1)}B`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}K`;
  return String(Math.round(v));
}

/**
 * The legend for one bar: open, high, low, close, then the change from the previous bar's
 * close (from its own open for the first bar), then the volume (not for an index, which has
 * none). Returns [[label, text, tone]], tone "up" | "down" | "" (for the colour).
 */
export function legendFields(bar, previous, symbol) {
  if (!bar || !finite(bar.c)) return [];
  const tone = bar.c >= bar.o ? "up" : "down";
  const out = [
    ["O", fmtPrice(bar.o), tone],
    ["H", fmtPrice(bar.h), tone],
    ["L", fmtPrice(bar.l), tone],
    ["C", fmtPrice(bar.c), tone],
  ];
  const ref = previous && finite(previous.c) ? previous.c : bar.o;
  if (finite(ref) && ref !== 0) {
    const change = bar.c - ref;
    const pct = (change / ref) * 100;
    out.push(["\u0394", `${fmtSigned(change)} (${fmtSigned(pct)}%)`, change >= 0 ? "up" : "down"]);
  }
  if (!String(symbol).startsWith("I:") && finite(bar.v)) out.push(["V", fmtVolume(bar.v), ""]);
  return out;
}

const ORIGINS = {
  recorded: "recorded",
  simulated: "rebuilt from the simulator's minute bars",
  massive: "rebuilt from Massive minute bars",
};

/**
 * The market badge's three parts: {source, state, detail}. Live: the source and its state
 * (not repeated when they are the same word). A replay reads as a sentence: "replay",
 * "2026-11-20 · recorded" or "2026-11-20 · rebuilt from Massive minute bars", plus the
 * recorded state when it says something ("delayed", "degraded"), or "loading" at first.
 */
export function badgeText(status) {
  const source = typeof status?.source === "string" && status.source ? status.source : "?";
  const state = typeof status?.state === "string" ? status.state : "";
  if (source !== "replay") return { source, state: state === source ? "" : state, detail: "" };
  const replay = status?.replay && typeof status.replay === "object" ? status.replay : {};
  const origin = ORIGINS[replay.origin] ?? (typeof replay.origin === "string" ? replay.origin : "");
  const date = typeof replay.date === "string" ? replay.date : "";
  const said = state === "starting" ? "loading" : ["replay", "live", "simulated", ""].includes(state) ? "" : state;
  return { source, state: said, detail: [date, origin].filter(Boolean).join(" \u00b7 ") };
}

/**
 * A setup's price as the chart being watched needs it. Setups are computed on SPX, in SPX
 * points: on the I:SPX chart as they are; on any other chart labelled "SPX", with the SPY
 * equivalent (through the basis ratio) on the SPY chart.
 */
export function setupPrice(price, symbol, basis) {
  if (!finite(price)) return "\u2013";
  if (symbol === "I:SPX") return fmtPrice(price);
  const k = symbol === "SPY" ? spxFactor("SPY", basis) : null;
  const spy = k === null ? "" : ` (\u2248 ${fmtPrice(price * k)} SPY)`;
  return `${fmtPrice(price)} SPX${spy}`;
}
