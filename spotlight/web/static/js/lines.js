// Which price lines the chart draws, from the analytics payloads (docs/analytics.md). Pure.
//
// The levels and the GEX strikes are in SPX points. On the I:SPX chart they are drawn as they
// are; on the SPY chart they are converted with the live basis ratio (SPX / SPY, from
// `basis:update`), and not drawn until a ratio exists; other symbols get none.
//
// Walls and the gamma flip come from `gex:SPX`'s `gammaLevels` (the server's one choice of
// bucket; older payloads: the 0DTE bucket when it has contracts, else all expiries); the
// rest from `levels:update`: prior day high/low/close, session VWAP and the opening range. (The full list of levels, dozens of them, would bury the
// candles; the panel lists them.)

export const LINE_COLORS = Object.freeze({
  callWall: "#27c281",
  putWall: "#f0565b",
  flip: "#f5b83d",
  ags: "#b58cff",
  prior: "#8a97a8",
  vwap: "#36c5f0",
  or: "#4e7dff",
});

const LEVEL_LINES = {
  PDH: { title: "PDH", color: LINE_COLORS.prior, style: 2 },
  PDL: { title: "PDL", color: LINE_COLORS.prior, style: 2 },
  PDC: { title: "PDC", color: LINE_COLORS.prior, style: 3 },
  VWAP: { title: "VWAP", color: LINE_COLORS.vwap, style: 0 },
  ORH: { title: "ORH", color: LINE_COLORS.or, style: 3 },
  ORL: { title: "ORL", color: LINE_COLORS.or, style: 3 },
};

const GAMMA_FROM_LEVELS = {
  call_wall: { key: "callWall", title: "Call wall", color: LINE_COLORS.callWall, style: 0 },
  put_wall: { key: "putWall", title: "Put wall", color: LINE_COLORS.putWall, style: 0 },
  flip: { key: "flip", title: "\u0393 flip", color: LINE_COLORS.flip, style: 1 },
};

const finite = (x) => typeof x === "number" && Number.isFinite(x);

/** The GEX bucket to show: 0DTE when it has contracts, else all expiries (or null). */
export function gexBucket(gex, prefer = "0dte") {
  const buckets = gex && typeof gex === "object" ? gex.buckets : null;
  if (!buckets || typeof buckets !== "object") return null;
  const first = buckets[prefer];
  if (first && first.contracts > 0 && Array.isArray(first.strikes) && first.strikes.length) {
    return { name: prefer, ...first };
  }
  const other = prefer === "0dte" ? "all" : "0dte";
  const second = buckets[other];
  if (second && second.contracts > 0 && Array.isArray(second.strikes)) {
    return { name: other, ...second };
  }
  return null;
}

/**
 * The walls, flip and absolute-gamma strike to draw: the payload's ``gammaLevels``, the one
 * set the server's levels, regime, setups and coach use (docs/analytics.md), so the chart
 * never shows walls the coach does not talk about. Payloads without it (recordings made before
 * it existed) fall back to ``gexBucket``'s choice.
 */
export function gammaLines(gex) {
  const chosen = gex && typeof gex === "object" ? gex.gammaLevels : null;
  if (chosen && typeof chosen === "object") {
    const { callWall, putWall, absGammaStrike, flip } = chosen;
    return { bucket: chosen.bucket ?? null, callWall, putWall, absGammaStrike, flip };
  }
  const bucket = gexBucket(gex);
  if (!bucket) return null;
  const lv = bucket.levels || {};
  return {
    bucket: bucket.name,
    callWall: lv.callWall,
    putWall: lv.putWall,
    absGammaStrike: lv.absGammaStrike,
    flip: bucket.flip ? bucket.flip.level : null,
  };
}

/** SPX points -> the chart symbol's price, or null when it cannot be converted. */
export function spxFactor(symbol, basis) {
  if (symbol === "I:SPX") return 1;
  if (symbol === "SPY" && basis && finite(basis.ratio) && basis.ratio > 0) return 1 / basis.ratio;
  return null;
}

/**
 * The price lines for ``symbol``: [{id, price, title, color, lineStyle}], sorted by price.
 * ``levels``, ``gex`` and ``basis`` are the latest payloads (or null).
 */
export function priceLines(symbol, { levels = null, gex = null, basis = null } = {}) {
  const k = spxFactor(symbol, basis);
  if (k === null) return [];
  const out = new Map();
  const add = (id, price, title, color, lineStyle) => {
    if (!finite(price) || out.has(id)) return;
    out.set(id, { id, price: Math.round(price * k * 100) / 100, title, color, lineStyle });
  };
  const gamma = gammaLines(gex);
  if (gamma) {
    add("callWall", gamma.callWall, "Call wall", LINE_COLORS.callWall, 0);
    add("putWall", gamma.putWall, "Put wall", LINE_COLORS.putWall, 0);
    add("flip", gamma.flip, "\u0393 flip", LINE_COLORS.flip, 1);
    if (gamma.absGammaStrike !== gamma.callWall && gamma.absGammaStrike !== gamma.putWall) {
      add("ags", gamma.absGammaStrike, "AGS", LINE_COLORS.ags, 3);
    }
  }
  const list = levels && Array.isArray(levels.levels) ? levels.levels : [];
  for (const level of list) {
    if (!level || typeof level !== "object") continue;
    const spec = LEVEL_LINES[level.name];
    if (spec) add(level.name, level.price, spec.title, spec.color, spec.style);
    const gamma = level.family === "gamma" ? GAMMA_FROM_LEVELS[level.name] : null;
    if (gamma) add(gamma.key, level.price, gamma.title, gamma.color, gamma.style);
  }
  return [...out.values()].sort((a, b) => a.price - b.price);
}
