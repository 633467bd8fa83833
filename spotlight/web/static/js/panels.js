// The side panels: regime and basis badges, GEX summary, setups, flow alerts, coach notes,
// and the market status badge. DOM only through textContent (payload strings are never
// parsed as HTML). Payload fields: docs/analytics.md.

import { fmtBn, fmtPct, fmtPrice, fmtUsd } from "./format.js";
import { badgeText, setupPrice } from "./labels.js";
import { formatNyTime } from "./time.js";

const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, String(v));
    else node.setAttribute(k, String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const str = (x, fallback = "\u2013") => (typeof x === "string" && x ? x : fallback);
const finite = (x) => typeof x === "number" && Number.isFinite(x);

function stamp(node) {
  node.dataset.updated = String(Date.now());
}

// -- market status ------------------------------------------------------------------------
// A replay rebuilt from 1-minute bars has no option chains (docs/replay.md): say so instead
// of waiting for one.
let rebuiltReplay = false;
const gexWaiting = () =>
  rebuiltReplay
    ? "no option chains in a replay rebuilt from 1-minute bars"
    : "waiting for the option chain\u2026";

export function renderStatus(status) {
  const badge = $("market-badge");
  const source = str(status?.source, "?");
  const state = str(status?.state, "?");
  const text = badgeText(status);
  $("source").textContent = text.source;
  $("market-state").textContent = text.state;
  $("market-replay").textContent = text.detail;
  badge.dataset.state = source === "replay" ? "replay" : state;
  const replay = status?.replay;
  const rebuilt = source === "replay" && (replay?.origin === "simulated" || replay?.origin === "massive");
  if (rebuilt !== rebuiltReplay) {
    rebuiltReplay = rebuilt;
    const waiting = $("gex-summary").querySelector("[data-waiting]");
    if (waiting) waiting.textContent = gexWaiting();
  }
  const feeds = status?.feeds && typeof status.feeds === "object" ? status.feeds : {};
  const feedText = Object.entries(feeds)
    .map(([k, v]) => `${k}: ${typeof v === "object" && v ? str(v.state, "?") : String(v)}`)
    .join(", ");
  badge.title = [str(status?.reason, ""), feedText].filter(Boolean).join(" \u2014 ");
  stamp(badge);
}

/** Empty every analytics panel (switching between live and a replay). */
export function resetPanels() {
  const regime = $("regime");
  regime.textContent = "\u2013";
  regime.dataset.label = "";
  for (const id of ["gamma-regime", "vol-regime", "trend", "regime-description", "regime-facts"]) {
    $(id).textContent = "";
  }
  delete $("regime-panel").dataset.updated;
  const basis = $("basis");
  basis.textContent = "SPX/SPY \u2013";
  delete basis.dataset.updated;
  $("gex-bucket-name").textContent = "";
  delete $("gex-panel").dataset.updated;
  renderGexSummary(null, null);
  renderSetups(null);
  delete $("setups").dataset.updated;
}

// -- regime and basis ---------------------------------------------------------------------
export function renderRegime(regime) {
  const node = $("regime");
  if (!regime) return;
  node.textContent = str(regime.label, "?");
  node.dataset.label = str(regime.label, "");
  $("gamma-regime").textContent = `\u0393 ${str(regime.gamma, "?")}`;
  $("gamma-regime").dataset.gamma = str(regime.gamma, "");
  $("vol-regime").textContent = `vol ${str(regime.vol, "?")}`;
  $("trend").textContent = finite(regime.trendEvidence) ? `trend ${regime.trendEvidence}/4` : "";
  $("regime-description").textContent = str(regime.description, "");
  const facts = [];
  if (finite(regime.flip)) facts.push(`flip ${fmtPrice(regime.flip)}`);
  if (finite(regime.netGexBn)) facts.push(`net ${fmtBn(regime.netGexBn)}`);
  if (finite(regime.iv0dte)) facts.push(`IV ${fmtPct(regime.iv0dte)}`);
  if (finite(regime.rvSession)) facts.push(`RV ${fmtPct(regime.rvSession)}`);
  $("regime-facts").textContent = facts.join(" \u00b7 ");
  stamp($("regime-panel"));
}

export function renderBasis(basis) {
  const node = $("basis");
  if (!basis || !finite(basis.ratio)) return;
  node.textContent = `SPX/SPY ${basis.ratio.toFixed(3)}`;
  node.title = `median of ${basis.samples ?? "?"} one-second samples (window ${basis.window ?? "?"})`;
  stamp(node);
}

// -- GEX summary (the profile itself is drawn by gex-canvas.js) ----------------------------
export function renderGexSummary(gex, bucket) {
  const node = $("gex-summary");
  node.replaceChildren();
  if (!gex || !bucket) {
    const waiting = el("span", { class: "muted", text: gexWaiting() });
    waiting.dataset.waiting = "1";
    node.append(waiting);
    return;
  }
  const lv = bucket.levels || {};
  const flip = bucket.flip && finite(bucket.flip.level) ? fmtPrice(bucket.flip.level, 1) : bucket.flip?.side ? `none (${bucket.flip.side})` : "\u2013";
  const items = [
    ["Total", fmtBn(bucket.totalGexBn)],
    ["Call wall", finite(lv.callWall) ? fmtPrice(lv.callWall, 0) : "\u2013"],
    ["Put wall", finite(lv.putWall) ? fmtPrice(lv.putWall, 0) : "\u2013"],
    ["\u0393 flip", flip],
    ["Spot", fmtPrice(gex.spot, 1)],
  ];
  for (const [k, v] of items) node.append(el("div", {}, el("dt", { text: k }), el("dd", { text: v })));
  $("gex-bucket-name").textContent = bucket.name === "0dte" ? "0DTE" : "all \u2264 60 DTE";
  stamp($("gex-panel"));
}

// -- setups -------------------------------------------------------------------------------
/**
 * ``symbol`` is the chart's: setups are in SPX points, labelled so (and converted with
 * ``basis`` for SPY) when the chart is not I:SPX.
 */
export function renderSetups(payload, symbol = "I:SPX", basis = null) {
  const list = $("setups");
  const setups = payload && Array.isArray(payload.setups) ? payload.setups : [];
  list.replaceChildren();
  const order = { triggered: 0, watching: 1, invalidated: 2 };
  const sorted = [...setups].sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3));
  for (const s of sorted.slice(0, 12)) {
    const dir = s.direction === "long" ? "\u25b2" : s.direction === "short" ? "\u25bc" : "\u2022";
    const px = (x) => setupPrice(x, symbol, basis);
    const targets = Array.isArray(s.targets) ? s.targets.map(px).join(" / ") : "\u2013";
    list.append(
      el(
        "li",
        { class: `setup ${str(s.direction, "")}`, "data-state": str(s.state, ""), title: str(s.rationale, "") },
        el("div", { class: "row" },
          el("span", { class: "dir", text: dir }),
          el("span", { class: "kind", text: str(s.kind, "setup").replaceAll("_", " ") }),
          el("span", { class: "chip", text: str(s.state, "?") }),
        ),
        el("div", { class: "row small" },
          el("span", { text: `entry ${px(s.entry)}` }),
          el("span", { text: `stop ${px(s.stop)}` }),
          el("span", { text: `tgt ${targets}` }),
        ),
        el("div", { class: "small muted", text: str(s.invalidation, "") }),
      ),
    );
  }
  if (!sorted.length) list.append(el("li", { class: "muted empty", text: "No setups right now." }));
  list.dataset.count = String(sorted.length);
  list.dataset.symbol = symbol;
  $("setups-units").textContent = symbol === "I:SPX" ? "" : "SPX points";
  stamp(list);
}

// -- flow alerts (a feed) -----------------------------------------------------------------
export class FlowFeed {
  constructor(max = 60) {
    this.max = max;
    this.alerts = [];
    this.seen = new Set();
    this.aggregates = null;
  }

  clear() {
    this.alerts = [];
    this.seen.clear();
    this.aggregates = null;
    this.render();
  }

  add(payload) {
    if (!payload || typeof payload !== "object") return;
    if (payload.aggregates) this.aggregates = payload.aggregates;
    const fresh = (Array.isArray(payload.alerts) ? payload.alerts : []).filter(
      (a) => a && a.id !== undefined && !this.seen.has(a.id),
    );
    for (const a of fresh) this.seen.add(a.id);
    this.alerts = [...fresh.reverse(), ...this.alerts].slice(0, this.max);
    if (this.seen.size > this.max * 20) this.seen = new Set(this.alerts.map((a) => a.id));
    this.render();
  }

  render() {
    const list = $("flow");
    list.replaceChildren();
    for (const a of this.alerts) {
      const type = a.optionType === "call" ? "C" : a.optionType === "put" ? "P" : "?";
      list.append(
        el("li", { class: `flow ${str(a.side, "")}`, "data-kind": str(a.kind, "") },
          el("div", { class: "row" },
            el("span", { class: "kind", text: str(a.kind, "alert").replaceAll("_", " ") }),
            el("span", { class: "contract", text: `${finite(a.strike) ? a.strike : "?"}${type}${a.zeroDte ? " 0DTE" : ""}` }),
            el("span", { class: "chip", text: str(a.side, "?") }),
          ),
          el("div", { class: "row small" },
            el("span", { text: fmtUsd(a.premium) }),
            el("span", { text: finite(a.deltaVolume) ? `${a.deltaVolume} ctr` : "" }),
            el("span", { text: finite(a.volOi) ? `vol/OI ${a.volOi.toFixed(1)}` : "" }),
            el("span", { class: "muted", text: finite(a.tsMs) ? formatNyTime(a.tsMs) : "" }),
          ),
        ),
      );
    }
    if (!this.alerts.length) list.append(el("li", { class: "muted empty", text: "No flow alerts yet." }));
    const agg = this.aggregates && this.aggregates.zeroDte ? this.aggregates.zeroDte : null;
    const all = this.aggregates && this.aggregates.all ? this.aggregates.all : null;
    const summary = $("flow-summary");
    summary.textContent = agg || all
      ? `0DTE calls ${fmtUsd(agg?.callPremium)} \u00b7 puts ${fmtUsd(agg?.putPremium)} \u00b7 all calls ${fmtUsd(all?.callPremium)} \u00b7 puts ${fmtUsd(all?.putPremium)}`
      : "";
    list.dataset.count = String(this.alerts.length);
    if (this.aggregates) stamp($("flow-panel"));
  }
}

// -- coach (a feed) -----------------------------------------------------------------------
export class CoachFeed {
  constructor(max = 40) {
    this.max = max;
    this.messages = [];
  }

  clear() {
    this.messages = [];
    this.render();
  }

  add(message) {
    if (!message || typeof message !== "object" || typeof message.text !== "string") return;
    if (this.messages.some((m) => m.id === message.id)) return;
    this.messages = [message, ...this.messages].slice(0, this.max);
    this.render();
  }

  render() {
    const list = $("coach");
    list.replaceChildren();
    for (const m of this.messages) {
      list.append(
        el("li", { class: "coach", "data-severity": str(m.severity, "info") },
          el("span", { class: "time", text: finite(m.tsMs) ? formatNyTime(m.tsMs) : "" }),
          el("span", { class: "text", text: m.text }),
        ),
      );
    }
    if (!this.messages.length) list.append(el("li", { class: "muted empty", text: "No notes yet." }));
    list.dataset.count = String(this.messages.length);
  }
}
