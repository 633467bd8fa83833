// The trader's screen: one stream (stream.js) feeds the chart and the panels; history comes
// from /api/history and live bars are merged by the candle rules (candles.js). A replay
// switches the stream and the history to `replay=<id>`; stopping it returns to live.

import { api, apiError } from "./api.js";
import { CandleSet, TIMEFRAMES } from "./candles.js";
import { CandleChart, loadChartLibrary } from "./chart.js";
import { fmtPrice, fmtSigned } from "./format.js";
import { drawGex } from "./gex-canvas.js";
import { gexBucket, priceLines } from "./lines.js";
import {
  CoachFeed,
  FlowFeed,
  el,
  renderBasis,
  renderGexSummary,
  renderRegime,
  renderSetups,
  renderStatus,
  resetPanels,
} from "./panels.js";
import { ReplayPanel } from "./replay.js";
import { StreamClient } from "./stream.js";
import { formatNyDateTime } from "./time.js";

const $ = (id) => document.getElementById(id);

export const CHANNELS = [
  "gex:SPX",
  "levels:update",
  "clusters:update",
  "regime:update",
  "basis:update",
  "setups:update",
  "flow:alert",
  "coach:message",
];
const HISTORY_LIMIT = { "1m": 720, "5m": 600, "15m": 400, "1h": 300, "1d": 250 };
const STORE = { symbol: "spotlight.symbol", timeframe: "spotlight.timeframe" };

export class Dashboard {
  constructor({ onAuthLost }) {
    this.onAuthLost = onAuthLost;
    this.symbols = [];
    this.symbol = localStorage.getItem(STORE.symbol) || "I:SPX";
    const tf = localStorage.getItem(STORE.timeframe);
    this.timeframe = TIMEFRAMES.includes(tf) ? tf : "1m";
    this.replay = null; // the replay being watched, or null (live)
    this.candles = new CandleSet(this.symbol, this.timeframe);
    this.chart = null;
    this.channels = {}; // latest payload per channel
    this.gexBucketName = "0dte";
    this.prices = {}; // symbol -> {price, open}
    this.historyGen = 0;
    this.liveUpdates = 0;
    this.running = false;
    this.countdownTimer = null;
    this.connState = { status: "stopped" };
    this.flow = new FlowFeed();
    this.coach = new CoachFeed();
    this.stream = new StreamClient({
      url: (resume) => this.streamUrl(resume),
      onEvent: (type, data, id) => this.onEvent(type, data, id),
      onState: (state) => this.onConnState(state),
      // A replay stream whose id is unknown (404) is over: never retry it.
      isGone: (status, body) =>
        this.replay !== null && (status === 404 || (status === 400 && body?.error === "bad_replay")),
    });
    this.replayPanel = new ReplayPanel({
      onEnter: (r) => this.enterReplay(r),
      onExit: () => this.exitReplay(),
      onAuthLost: () => this.authLost(),
    });
    this.bindControls();
  }

  // -- life cycle -------------------------------------------------------------------------
  async start() {
    if (this.running) return;
    this.running = true;
    this.setBanner("");
    const diag = await api("/api/diag");
    if (diag.status === 401) return this.authLost();
    const list = diag.body?.pipeline?.symbols ? Object.keys(diag.body.pipeline.symbols) : [];
    this.symbols = list.length ? list : ["SPY", "QQQ", "I:SPX"];
    if (!this.symbols.includes(this.symbol)) this.symbol = this.symbols.includes("I:SPX") ? "I:SPX" : this.symbols[0];
    this.renderSymbolButtons();
    this.renderTimeframeButtons();
    this.candles = new CandleSet(this.symbol, this.timeframe);
    if (!this.chart) {
      try {
        const lib = await loadChartLibrary();
        this.chart = new CandleChart(lib, $("chart"));
        this.chart.chart.subscribeCrosshairMove((param) => this.onCrosshair(param));
      } catch (error) {
        this.setBanner(`${error.message} Run \`bash .ci/setup\` on the server.`, "error");
      }
    }
    if (!this.running) return;
    this.stream.start();
    this.startCountdown();
    await this.replayPanel.init();
  }

  stop() {
    this.running = false;
    this.stream.stop();
    this.replayPanel.stopPolling();
    clearInterval(this.countdownTimer);
    this.countdownTimer = null;
  }

  authLost() {
    this.stop();
    return this.onAuthLost();
  }

  // -- stream ---------------------------------------------------------------------------------
  streamUrl(resume) {
    const q = new URLSearchParams({
      symbols: this.symbols.join(","),
      timeframe: this.timeframe,
      channels: CHANNELS.join(","),
    });
    if (this.replay) q.set("replay", this.replay.id);
    if (resume) {
      q.set("sinceSeq", String(resume.seq));
      q.set("epoch", resume.epoch);
    }
    return `/realtime/sse?${q}`;
  }

  onEvent(type, data, id) {
    if (id) {
      const epoch = id.slice(0, id.lastIndexOf(":"));
      if (epoch && $("epoch").textContent !== epoch) $("epoch").textContent = epoch;
    }
    switch (type) {
      case "snapshot":
        return this.onSnapshot(data);
      case "reset":
        this.setBanner(`Resynchronised with the server (${data?.reason ?? "reset"}).`, "info", 6000);
        this.candles.reload();
        return undefined;
      case "tick":
        return this.onPrice(data?.s, data?.p);
      case "bar:update":
      case "bar:close":
        return this.onBar(data, type);
      case "status":
        return renderStatus(data);
      case "shutdown":
        this.setBanner("The server is restarting; reconnecting\u2026", "info", 8000);
        return undefined;
      case "slow":
        this.setBanner("This page fell behind the stream; resuming\u2026", "info", 6000);
        return undefined;
      case "replay:end":
        this.replayPanel.ended(data?.reason ?? "finished", data?.error ?? null);
        return undefined;
      default:
        if (CHANNELS.includes(type)) this.onChannel(type, data);
        return undefined;
    }
  }

  onSnapshot(snap) {
    if (!snap || typeof snap !== "object") return;
    if (snap.status) renderStatus(snap.status);
    for (const [sym, info] of Object.entries(snap.symbols || {})) {
      const open = info?.bars?.["1d"]?.o;
      if (Number.isFinite(open)) this.prices[sym] = { ...(this.prices[sym] || {}), open };
      this.onPrice(sym, info?.trade?.p ?? info?.bars?.["1m"]?.c);
    }
    for (const [name, payload] of Object.entries(snap.channels || {})) {
      if (payload !== null && payload !== undefined) this.onChannel(name, payload);
    }
    // A snapshot starts (or restarts, after `reset`) the stream's state: reload the chart.
    this.loadHistory();
  }

  onConnState(state) {
    this.connState = state;
    document.body.dataset.conn = state.status;
    if (state.status === "locked") {
      // 401: the session is gone (back to the form). 403 with a valid session: the server
      // refuses this origin; say so and leave the manual reconnect button.
      Promise.resolve(this.onAuthLost()).then((stillSignedIn) => {
        if (stillSignedIn) {
          this.setBanner(`The server refused the stream (HTTP ${state.httpStatus}).`, "error");
        }
      });
    }
    if (state.status === "ended" && this.replay) {
      this.replayPanel.ended(state.reason === "gone" ? "gone" : "finished");
    }
    this.renderConn();
  }

  startCountdown() {
    clearInterval(this.countdownTimer);
    this.countdownTimer = setInterval(() => this.renderConn(), 250);
  }

  renderConn() {
    const s = this.connState;
    const dot = $("live-dot");
    const live = $("live");
    const countdown = $("countdown");
    const button = $("reconnect");
    let text;
    let dotState = "down";
    let extra = "";
    switch (s.status) {
      case "open":
        text = this.replay ? "replay" : "live";
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
    if (live.textContent !== text) live.textContent = text;
    if (countdown.textContent !== extra) countdown.textContent = extra;
    dot.dataset.state = dotState;
    button.hidden = s.status !== "manual" && s.status !== "locked";
  }

  // -- candles ------------------------------------------------------------------------------
  async loadHistory() {
    const set = this.candles;
    set.reload();
    const gen = ++this.historyGen;
    const q = new URLSearchParams({
      symbol: set.symbol,
      timeframe: set.timeframe,
      limit: String(HISTORY_LIMIT[set.timeframe] || 500),
    });
    if (this.replay) q.set("replay", this.replay.id);
    const chartEl = $("chart");
    chartEl.dataset.loading = "true";
    const r = await api(`/api/history?${q}`);
    if (gen !== this.historyGen || set !== this.candles) return;
    if (r.status === 401) return this.authLost();
    if (!r.ok || !r.body || !Array.isArray(r.body.bars)) {
      // Keep buffering live bars on an empty chart rather than dropping them.
      set.load([]);
      this.setBanner(apiError(r, "loading history"), "error", 8000);
    } else {
      set.load(r.body.bars);
    }
    chartEl.dataset.loading = "false";
    if (this.chart) this.chart.setBars(set.bars, set.timeframe);
    this.renderLegend(set.last);
    this.renderChartState();
    this.updateLines();
  }

  onBar(bar, kind) {
    if (bar && bar.tf === "1d") {
      // The daily bar's open is the watchlist's reference.
      if (Number.isFinite(bar.o)) this.prices[bar.s] = { ...(this.prices[bar.s] || {}), open: bar.o };
    }
    const result = this.candles.apply(bar, kind);
    if (result.action === "append" || result.action === "update" || result.action === "replace") {
      this.liveUpdates += 1;
      if (this.chart) this.chart.applyBar(bar, result.action);
      this.renderLegend(this.candles.last);
      this.renderChartState();
    }
  }

  renderChartState() {
    const c = $("chart");
    const last = this.candles.last;
    c.dataset.symbol = this.candles.symbol;
    c.dataset.timeframe = this.candles.timeframe;
    c.dataset.bars = String(this.candles.bars.length);
    c.dataset.lastT = last ? String(last.t) : "";
    c.dataset.lastC = last ? String(last.c) : "";
    c.dataset.updates = String(this.liveUpdates);
    c.dataset.mode = this.replay ? "replay" : "live";
  }

  onCrosshair(param) {
    if (!param || !param.time || !this.chart) return this.renderLegend(this.candles.last);
    const d = param.seriesData.get(this.chart.series);
    if (!d) return this.renderLegend(this.candles.last);
    return this.renderLegend({ o: d.open, h: d.high, l: d.low, c: d.close }, true);
  }

  renderLegend(bar, hovering = false) {
    const node = $("legend");
    node.replaceChildren(
      el("strong", { text: this.candles.symbol }),
      el("span", { class: "muted", text: ` ${this.candles.timeframe}${this.replay ? " \u00b7 replay" : ""}` }),
    );
    if (!bar) return;
    const up = bar.c >= bar.o;
    for (const [k, v] of [["O", bar.o], ["H", bar.h], ["L", bar.l], ["C", bar.c]]) {
      node.append(el("span", { class: "k", text: ` ${k}` }), el("span", { class: up ? "up" : "down", text: fmtPrice(v) }));
    }
    if (!hovering && Number.isFinite(bar.t)) node.append(el("span", { class: "muted", text: `  ${formatNyDateTime(bar.t)} ET` }));
  }

  // -- prices and the watchlist ---------------------------------------------------------------
  onPrice(symbol, price) {
    if (typeof symbol !== "string" || !Number.isFinite(price)) return;
    this.prices[symbol] = { ...(this.prices[symbol] || {}), price };
    const item = document.querySelector(`#watchlist [data-symbol="${CSS.escape(symbol)}"]`);
    if (!item) return;
    const { open } = this.prices[symbol];
    item.querySelector(".px").textContent = fmtPrice(price);
    const chg = item.querySelector(".chg");
    if (Number.isFinite(open) && open > 0) {
      chg.textContent = `${fmtSigned(((price - open) / open) * 100)}%`;
      chg.className = `chg ${price >= open ? "up" : "down"}`;
    }
  }

  // -- analytics channels ---------------------------------------------------------------------
  onChannel(name, payload) {
    if (payload === null || typeof payload !== "object") return;
    if (name === "flow:alert") return this.flow.add(payload);
    if (name === "coach:message") return this.coach.add(payload);
    this.channels[name] = payload;
    switch (name) {
      case "gex:SPX":
        this.renderGex();
        this.updateLines();
        break;
      case "levels:update":
        this.updateLines();
        break;
      case "basis:update":
        renderBasis(payload);
        if (this.candles.symbol === "SPY") this.updateLines();
        break;
      case "regime:update":
        renderRegime(payload);
        break;
      case "setups:update":
        renderSetups(payload);
        break;
      default:
        break;
    }
    return undefined;
  }

  renderGex() {
    const gex = this.channels["gex:SPX"];
    const bucket = gexBucket(gex, this.gexBucketName);
    renderGexSummary(gex, bucket);
    const canvas = $("gex-canvas");
    canvas.dataset.bucket = bucket ? bucket.name : "";
    drawGex(canvas, bucket, gex?.spot);
  }

  updateLines() {
    const lines = priceLines(this.candles.symbol, {
      levels: this.channels["levels:update"],
      gex: this.channels["gex:SPX"],
      basis: this.channels["basis:update"],
    });
    if (this.chart) this.chart.setLines(lines);
    const c = $("chart");
    c.dataset.lines = lines.map((l) => l.id).join(",");
  }

  // -- controls -------------------------------------------------------------------------------
  bindControls() {
    $("reconnect").addEventListener("click", () => this.stream.reconnectNow());
    for (const button of document.querySelectorAll("#gex-buckets button")) {
      button.addEventListener("click", () => {
        this.gexBucketName = button.dataset.bucket;
        for (const b of document.querySelectorAll("#gex-buckets button")) {
          b.setAttribute("aria-pressed", String(b === button));
        }
        this.renderGex();
      });
    }
    window.addEventListener("online", () => {
      if (this.running && ["waiting", "manual"].includes(this.connState.status)) this.stream.reconnectNow();
    });
    new ResizeObserver(() => {
      if (this.channels["gex:SPX"]) this.renderGex();
    }).observe($("gex-canvas"));
  }

  renderSymbolButtons() {
    const list = $("watchlist");
    list.replaceChildren(
      ...this.symbols.map((sym) => {
        const b = el(
          "button",
          { type: "button", class: "sym", "data-symbol": sym, "aria-pressed": String(sym === this.symbol) },
          el("span", { class: "name", text: sym }),
          el("span", { class: "px", text: "\u2013" }),
          el("span", { class: "chg", text: "" }),
        );
        b.addEventListener("click", () => this.setSymbol(sym));
        return b;
      }),
    );
    for (const sym of this.symbols) {
      if (this.prices[sym]?.price !== undefined) this.onPrice(sym, this.prices[sym].price);
    }
  }

  renderTimeframeButtons() {
    const group = $("timeframes");
    group.replaceChildren(
      ...TIMEFRAMES.map((tf) => {
        const b = el("button", { type: "button", "data-tf": tf, "aria-pressed": String(tf === this.timeframe), text: tf });
        b.addEventListener("click", () => this.setTimeframe(tf));
        return b;
      }),
    );
  }

  setSymbol(symbol) {
    if (symbol === this.symbol || !this.symbols.includes(symbol)) return;
    this.symbol = symbol;
    localStorage.setItem(STORE.symbol, symbol);
    for (const b of document.querySelectorAll("#watchlist button")) {
      b.setAttribute("aria-pressed", String(b.dataset.symbol === symbol));
    }
    // The stream carries every symbol's bars at this timeframe: only the history changes.
    this.candles = new CandleSet(symbol, this.timeframe);
    this.loadHistory();
  }

  setTimeframe(tf) {
    if (tf === this.timeframe || !TIMEFRAMES.includes(tf)) return;
    this.timeframe = tf;
    localStorage.setItem(STORE.timeframe, tf);
    for (const b of document.querySelectorAll("#timeframes button")) {
      b.setAttribute("aria-pressed", String(b.dataset.tf === tf));
    }
    // Live bars are per timeframe: open a fresh stream; its snapshot reloads the history.
    this.candles = new CandleSet(this.symbol, tf);
    this.renderChartState();
    this.stream.start();
  }

  enterReplay(replay) {
    this.replay = replay;
    const symbols = Array.isArray(replay.symbols) ? replay.symbols : [];
    if (symbols.length && !symbols.includes(this.symbol)) {
      this.symbol = symbols.includes("I:SPX") ? "I:SPX" : symbols[0];
    }
    this.switchStream();
  }

  exitReplay() {
    this.replay = null;
    this.switchStream();
  }

  switchStream() {
    document.body.dataset.mode = this.replay ? "replay" : "live";
    this.channels = {};
    this.flow.clear();
    this.coach.clear();
    resetPanels();
    this.renderGex();
    this.updateLines();
    this.renderSymbolButtons();
    this.candles = new CandleSet(this.symbol, this.timeframe);
    this.renderChartState();
    if (this.running) this.stream.start();
  }

  setBanner(text, kind = "info", clearAfterMs = 0) {
    const banner = $("banner");
    banner.textContent = text;
    banner.hidden = !text;
    banner.dataset.kind = kind;
    clearTimeout(this.bannerTimer);
    if (text && clearAfterMs) {
      this.bannerTimer = setTimeout(() => {
        if (banner.textContent === text) banner.hidden = true;
      }, clearAfterMs);
    }
  }

  /** What the page holds, for the browser tests. */
  debug() {
    return {
      symbol: this.symbol,
      timeframe: this.timeframe,
      replay: this.replay ? this.replay.id : null,
      bars: this.candles.bars.map((b) => ({ ...b })),
      stats: { ...this.candles.stats },
      chart: this.chart ? this.chart.debug() : null,
      conn: { ...this.connState },
      lastId: this.stream.lastId,
    };
  }
}
