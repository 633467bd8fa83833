// Number formatting for the panels. Pure.

export function fmtPrice(x, digits = 2) {
  return typeof x === "number" && Number.isFinite(x)
    ? x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "\u2013";
}

/** Billions with a sign: "+1.23 bn". */
export function fmtBn(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "\u2013";
  const s = x >= 0 ? "+" : "\u2212";
  return `${s}${Math.abs(x).toFixed(Math.abs(x) >= 10 ? 1 : 2)} bn`;
}

/** Dollars, compact: "$1.2M", "$350k". */
export function fmtUsd(x) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "\u2013";
  const a = Math.abs(x);
  const sign = x < 0 ? "\u2212" : "";
  if (a >= 1e9) return `${sign}$${(a / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `${sign}$${(a / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${sign}$${Math.round(a / 1e3)}k`;
  return `${sign}$${Math.round(a)}`;
}

export function fmtPct(x, digits = 1) {
  return typeof x === "number" && Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : "\u2013";
}

export function fmtSigned(x, digits = 2) {
  if (typeof x !== "number" || !Number.isFinite(x)) return "\u2013";
  return `${x >= 0 ? "+" : "\u2212"}${Math.abs(x).toFixed(digits)}`;
}
