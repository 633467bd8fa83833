// The candle chart: TradingView's lightweight-charts (v5, served from node_modules at
// /static/vendor/lightweight-charts.mjs by spotlight/web/client_assets.py), candles plus a
// volume histogram and the analytics price lines.

import { toChartTime } from "./time.js";

export const VENDOR_URL = "/static/vendor/lightweight-charts.mjs";

const UP = "#27c281";
const DOWN = "#f0565b";

/** Load the library; rejects with a clear message when the server cannot serve it. */
export async function loadChartLibrary() {
  try {
    return await import(VENDOR_URL);
  } catch (error) {
    let detail = "";
    try {
      const r = await fetch(VENDOR_URL, { cache: "no-store" });
      const body = await r.json();
      detail = body && body.detail ? body.detail : `HTTP ${r.status}`;
    } catch {
      detail = String(error);
    }
    throw new Error(`The chart library could not be loaded (${detail}).`);
  }
}

const point = (bar) => ({
  time: toChartTime(bar.t),
  open: bar.o,
  high: bar.h,
  low: bar.l,
  close: bar.c,
});

const volume = (bar) => ({
  time: toChartTime(bar.t),
  value: typeof bar.v === "number" && Number.isFinite(bar.v) ? bar.v : 0,
  color: bar.c >= bar.o ? "rgba(39, 194, 129, 0.35)" : "rgba(240, 86, 91, 0.35)",
});

export class CandleChart {
  constructor(lib, container) {
    this.lib = lib;
    this.container = container;
    this.chart = lib.createChart(container, {
      autoSize: true,
      layout: {
        background: { type: lib.ColorType.Solid, color: "#0b0f14" },
        textColor: "#8c9aab",
        fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        attributionLogo: false,
      },
      grid: { vertLines: { color: "#141c26" }, horzLines: { color: "#141c26" } },
      rightPriceScale: { borderColor: "#1f2a36" },
      timeScale: { borderColor: "#1f2a36", timeVisible: true, secondsVisible: false, rightOffset: 6 },
      crosshair: { mode: lib.CrosshairMode.Normal },
    });
    this.series = this.chart.addSeries(lib.CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      borderVisible: false,
      wickUpColor: UP,
      wickDownColor: DOWN,
      priceLineColor: "#f5b83d",
    });
    this.volume = this.chart.addSeries(lib.HistogramSeries, {
      priceScaleId: "volume",
      priceFormat: { type: "volume" },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    this.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    this.lines = new Map();
    this.hasVolume = false;
  }

  /**
   * Replace all candles (history loaded).
   *
   * Both series are emptied before either gets its new data. Replacing them one after the
   * other leaves lightweight-charts (5.2) merging the new grid of one series with the old
   * grid of the other; after a volume series had been empty (an index) and then filled (a
   * stock), the next update on a new time grid (another timeframe) threw `Value is null` on
   * every frame and the chart stayed on the old timeframe (issue 15, reproduced in
   * tests/e2e/test_browser_new_user.py). From an empty time scale the grid is rebuilt whole.
   */
  setBars(bars, timeframe) {
    this.chart.applyOptions({ timeScale: { timeVisible: timeframe !== "1d" } });
    this.hasVolume = bars.some((b) => b.v > 0);
    this.volume.setData([]);
    this.series.setData([]);
    this.series.setData(bars.map(point));
    this.volume.setData(this.hasVolume ? bars.map(volume) : []);
    const n = bars.length;
    if (n > 0) {
      this.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, n - 150), to: n + 4 });
    }
  }

  /** Apply one merged live bar: ``action`` from candles.mergeBar. */
  applyBar(bar, action) {
    if (action === "append" || action === "update") {
      this.series.update(point(bar));
      if (this.hasVolume) this.volume.update(volume(bar));
    } else if (action === "replace") {
      // A correction of an older bar: lightweight-charts 5 updates history in place.
      this.series.update(point(bar), true);
      if (this.hasVolume) this.volume.update(volume(bar), true);
    }
  }

  /** Draw exactly these price lines ([{id, price, title, color, lineStyle}]). */
  setLines(lines) {
    const keep = new Set();
    for (const spec of lines) {
      keep.add(spec.id);
      const options = {
        price: spec.price,
        color: spec.color,
        title: spec.title,
        lineWidth: 1,
        lineStyle: spec.lineStyle,
        axisLabelVisible: true,
      };
      const existing = this.lines.get(spec.id);
      if (existing) existing.applyOptions(options);
      else this.lines.set(spec.id, this.series.createPriceLine(options));
    }
    for (const [id, line] of this.lines) {
      if (!keep.has(id)) {
        this.series.removePriceLine(line);
        this.lines.delete(id);
      }
    }
  }

  /** What the chart holds, for the page's own checks and the browser tests. */
  debug() {
    return {
      candles: this.series.data().map((d) => ({ ...d })),
      volume: this.volume.data().length,
      lines: [...this.lines.values()].map((l) => ({ ...l.options() })),
    };
  }
}
