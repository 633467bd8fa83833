// The trader's screen: one stream (stream.js) feeds the chart and the panels; history comes
// from /api/history and live bars are merged by the candle rules (candles.js). A replay
// switches the stream and the history to `replay=<id>`; stopping it returns to live.

import { AlertsPanel } from "./alerts-panel.js";
import { api, apiError } from "./api.js";
import { CandleSet, TIMEFRAMES, findBar } from "./candles.js";
import { CandleChart, loadChartLibrary } from "./chart.js";
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
import { StreamClient, startsSnapshot } from "./stream.js";
import {
  bindShortcuts,
  pressed,
  renderConnection,
  renderLegend,
  renderTimeframes,
  renderWatchPrice,
  renderWatchlist,
  setBanner,
} from "./topbar.js";
import { fromChartTime } from "./time.js";

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
const HISTORY_LIMIT = { "1m": 720, "5m": 600, "15m": 400, "30m": 400, "1h": 300, "1d": 250 };
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
    this.replayLoading = false; // the replay's snapshot said "starting": reload once it is not
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
    this.alerts = new AlertsPanel({
      price: (symbol) => this.prices[symbol]?.price,
      onLinesChanged: () => this.updateLines(),
    });
    this.bindControls();
    this.bindKeys();
  }

  // -- life cycle -------------------------------------------------------------------------
  /** ``login``: the opaque id of this login (/api/auth/me), under which alerts are kept. */
  async start(login = "anonymous") {
    if (this.running) return;
    this.running = true;
    this.alerts.attach(login);
    this.setBanner("");
    const diag = await api("/api/diag");
    if (diag.status === 401) return this.authLost();
    const list = diag.body?.pipeline?.symbols ? Object.keys(diag.body.pipeline.symbols) : [];
    this.symbols = list.length ? list : ["SPY", "QQQ", "I:SPX"];
    if (!this.symbols.includes(this.symbol)) this.symbol = this.symbols.includes("I:SPX") ? "I:SPX" : this.symbols[0];
    this.renderSymbolButtons();
    this.renderTimeframeButtons();
    this.alerts.show(this.symbol);
    this.candles = new CandleSet(this.symbol, this.timeframe);
    if (!this.chart) {
      try {
        const lib = await loadChartLibrary();
        this.chart = new CandleChart(lib, $("chart"));
        this.chart.chart.subscribeCrosshairMove((param) => this.onCrosshair(param));
        this.chart.chart.subscribeClick((param) => this.onChartClick(param));
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
        return this.onStatus(data);
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

  onStatus(status) {
    renderStatus(status);
    // A replay that was still loading when this stream's snapshot (and so the history) was
    // taken had no bars yet: its first status after loading brings the whole chart.
    if (this.replayLoading && status && status.state !== "starting") {
      this.replayLoading = false;
      this.loadHistory();
    }
  }

  onSnapshot(snap) {
    if (!snap || typeof snap !== "object") return;
    if (!startsSnapshot(snap)) {
      // A later part of a snapshot sent in pieces: one large channel (docs/protocol.md).
      for (const [name, payload] of Object.entries(snap.channels || {})) {
        if (payload !== null && payload !== undefined) this.onChannel(name, payload);
      }
      return;
    }
    this.replayLoading = Boolean(this.replay && snap.status && snap.status.state === "starting");
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
    renderConnection(this.connState, this.replay !== null);
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
    const bars = this.candles.bars;
    const i = findBar(bars, fromChartTime(param.time));
    if (i < 0) return this.renderLegend(this.candles.last);
    return this.renderLegend(bars[i], true);
  }

  /** Alt+click on the chart: an alert at that price. */
  onChartClick(param) {
    if (!param?.point || !param.sourceEvent?.altKey || !this.chart) return;
    const price = this.chart.series.coordinateToPrice(param.point.y);
    if (Number.isFinite(price)) this.alerts.add(price);
  }

  renderLegend(bar, hovering = false) {
    renderLegend(this.candles, bar, hovering, this.replay !== null);
  }

  // -- prices and the watchlist ---------------------------------------------------------------
  onPrice(symbol, price) {
    if (typeof symbol !== "string" || !Number.isFinite(price)) return;
    this.prices[symbol] = { ...(this.prices[symbol] || {}), price };
    this.alerts.onPrice(symbol, price, this.replay === null);
    renderWatchPrice(symbol, price, this.prices[symbol].open);
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
        if (this.candles.symbol === "SPY") {
          this.updateLines();
          this.renderSetups();
        }
        break;
      case "regime:update":
        renderRegime(payload);
        break;
      case "setups:update":
        this.renderSetups();
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

  renderSetups() {
    const payload = this.channels["setups:update"];
    if (payload) renderSetups(payload, this.candles.symbol, this.channels["basis:update"]);
  }

  updateLines() {
    const lines = [
      ...priceLines(this.candles.symbol, {
        levels: this.channels["levels:update"],
        gex: this.channels["gex:SPX"],
        basis: this.channels["basis:update"],
      }),
      ...this.alerts.lines(this.candles.symbol),
    ];
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

  /** The keyboard shortcuts (shortcuts.js); ``?`` lists them. */
  bindKeys() {
    bindShortcuts({
      active: () => this.running,
      symbols: () => this.symbols,
      timeframe: () => this.timeframe,
      setSymbol: (symbol) => this.setSymbol(symbol),
      setTimeframe: (tf) => this.setTimeframe(tf),
      alert: () => this.alerts.focus(),
    }, TIMEFRAMES);
  }

  renderSymbolButtons() {
    renderWatchlist(this.symbols, this.symbol, (sym) => this.setSymbol(sym));
    for (const sym of this.symbols) {
      if (this.prices[sym]?.price !== undefined) this.onPrice(sym, this.prices[sym].price);
    }
  }

  renderTimeframeButtons() {
    renderTimeframes(TIMEFRAMES, this.timeframe, (tf) => this.setTimeframe(tf));
  }

  setSymbol(symbol) {
    if (symbol === this.symbol || !this.symbols.includes(symbol)) return;
    this.symbol = symbol;
    localStorage.setItem(STORE.symbol, symbol);
    pressed("watchlist", "symbol", symbol);
    // The stream carries every symbol's bars at this timeframe: only the history changes.
    this.candles = new CandleSet(symbol, this.timeframe);
    this.alerts.show(symbol);
    this.renderSetups();
    this.loadHistory();
  }

  setTimeframe(tf) {
    if (tf === this.timeframe || !TIMEFRAMES.includes(tf)) return;
    this.timeframe = tf;
    localStorage.setItem(STORE.timeframe, tf);
    pressed("timeframes", "tf", tf);
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
      this.alerts.show(this.symbol);
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
    setBanner(text, kind, clearAfterMs);
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
      alerts: this.alerts.book ? this.alerts.book.list().map((a) => ({ ...a })) : [],
      prices: Object.fromEntries(Object.entries(this.prices).map(([s, p]) => [s, p.price])),
      conn: { ...this.connState },
      lastId: this.stream.lastId,
    };
  }
}
