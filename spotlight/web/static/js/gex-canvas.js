// The GEX profile by strike, drawn on a canvas: one row per strike near spot, call GEX to
// the right (green), put GEX to the left (red), the net as a tick; spot and the gamma flip
// as horizontal markers. Rows come from gexRows() and the columns from gexLayout() (pure,
// tested); drawing needs a canvas.

const finite = (x) => typeof x === "number" && Number.isFinite(x);

/**
 * The strikes to show: the ``max`` strikes nearest to spot, highest first.
 * Returns {rows: [{strike, call, put, net}], maxAbs}.
 */
export function gexRows(bucket, spot, max = 36) {
  const strikes = bucket && Array.isArray(bucket.strikes) ? bucket.strikes : [];
  const valid = strikes.filter((s) => s && finite(s.strike));
  const ref = finite(spot) ? spot : valid.length ? valid[Math.floor(valid.length / 2)].strike : 0;
  const nearest = [...valid]
    .sort((a, b) => Math.abs(a.strike - ref) - Math.abs(b.strike - ref))
    .slice(0, max)
    .sort((a, b) => b.strike - a.strike);
  let maxAbs = 0;
  const rows = nearest.map((s) => {
    const call = finite(s.callGexBn) ? s.callGexBn : 0;
    const put = finite(s.putGexBn) ? s.putGexBn : 0;
    const net = finite(s.netGexBn) ? s.netGexBn : call + put;
    maxAbs = Math.max(maxAbs, Math.abs(call), Math.abs(put), Math.abs(net));
    return { strike: s.strike, call, put, net };
  });
  return { rows, maxAbs };
}

export const STRIKE_LABEL_W = 46; // "6125" at 11 px, right-aligned
const GAP = 4;
const MIN_PLOT_W = 100; // below this the bars cannot be told apart: they get the room first

/**
 * The canvas's columns, left to right: strike labels, the bars (``plotLeft`` to
 * ``plotRight``, zero at ``mid``), then a gutter for the markers' labels ("spot 6012.3",
 * "\u0393 flip") at ``labelX`` (right-aligned at ``width - 2``). The gutter is as wide as
 * the widest marker label, so a label never sits on the bars (issue 15: the spot label
 * covered the largest call bars). ``markerLabelW`` is that width, measured by the caller.
 */
export function gexLayout(width, markerLabelW) {
  const plotLeft = STRIKE_LABEL_W + GAP;
  const gutter = Math.ceil(markerLabelW) + 2 * GAP;
  if (width - gutter < plotLeft + MIN_PLOT_W) {
    // Too narrow for both: the bars keep the room and the markers go without labels.
    const plotRight = width - GAP;
    return { plotLeft, plotRight, mid: plotLeft + (plotRight - plotLeft) / 2, labelX: null, labelLeft: null };
  }
  const plotRight = width - gutter;
  return {
    plotLeft,
    plotRight,
    mid: plotLeft + (plotRight - plotLeft) / 2,
    labelX: width - 2,
    labelLeft: width - 2 - Math.ceil(markerLabelW),
  };
}

export function drawGex(canvas, bucket, spot) {
  const dpr = window.devicePixelRatio || 1;
  const width = Math.max(160, canvas.clientWidth);
  const height = Math.max(120, canvas.clientHeight);
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const { rows, maxAbs } = gexRows(bucket, spot);
  canvas.dataset.rows = String(rows.length);
  ctx.font = "11px system-ui, sans-serif";
  if (!rows.length || maxAbs <= 0) {
    ctx.fillStyle = "#7d8a99";
    ctx.fillText("No option chain yet", 10, 20);
    return;
  }
  const spotLabel = `spot ${finite(spot) ? spot.toFixed(1) : ""}`;
  const flipLabel = "\u0393 flip";
  const layout = gexLayout(width, Math.max(ctx.measureText(spotLabel).width, ctx.measureText(flipLabel).width));
  const { plotLeft: left, plotRight, mid } = layout;
  const plotW = plotRight - left;
  canvas.dataset.plotRight = String(Math.round(plotRight));
  canvas.dataset.labelLeft = layout.labelLeft === null ? "" : String(Math.round(layout.labelLeft));
  const rowH = (height - 8) / rows.length;
  const scale = plotW / 2 / maxAbs;
  const barH = Math.max(2, Math.min(12, rowH * 0.7));
  ctx.strokeStyle = "#1f2a36";
  ctx.beginPath();
  ctx.moveTo(mid + 0.5, 2);
  ctx.lineTo(mid + 0.5, height - 4);
  ctx.stroke();
  const yOf = (strike) => {
    // Rows are highest strike first; interpolate between row centres.
    const first = rows[0].strike;
    const last = rows[rows.length - 1].strike;
    if (first === last) return 4 + rowH / 2;
    const frac = (first - strike) / (first - last);
    return 4 + rowH / 2 + frac * (rowH * (rows.length - 1));
  };
  const levels = bucket.levels || {};
  const isWall = (r) => r.strike === levels.callWall || r.strike === levels.putWall;
  const every = Math.max(1, Math.ceil(14 / rowH));
  const wallRows = rows.map((r, i) => (isWall(r) ? i : -1)).filter((i) => i >= 0);
  rows.forEach((r, i) => {
    const y = 4 + i * rowH + rowH / 2;
    ctx.fillStyle = "rgba(39, 194, 129, 0.85)";
    ctx.fillRect(mid, y - barH / 2, r.call * scale, barH);
    ctx.fillStyle = "rgba(240, 86, 91, 0.85)";
    ctx.fillRect(mid, y - barH / 2, r.put * scale, barH);
    ctx.fillStyle = "#f5f7fa";
    ctx.fillRect(mid + r.net * scale - 1, y - barH / 2 - 1, 2, barH + 2);
    const wall = r.strike === levels.callWall ? "#27c281" : r.strike === levels.putWall ? "#f0565b" : null;
    // Every few rows a strike label; the walls always, and no label crowding a wall's.
    const nearWall = wallRows.some((w) => w !== i && Math.abs(w - i) < every);
    if (wall || (i % every === 0 && !nearWall)) {
      ctx.fillStyle = wall || "#7d8a99";
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ctx.fillText(String(r.strike), STRIKE_LABEL_W, y);
    }
  });
  const marker = (price, color, label) => {
    if (!finite(price)) return;
    const top = rows[0].strike;
    const bottom = rows[rows.length - 1].strike;
    if (price > top + (top - bottom) || price < bottom - (top - bottom)) return;
    const y = Math.min(height - 3, Math.max(3, yOf(price)));
    ctx.strokeStyle = color;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(left, y + 0.5);
    ctx.lineTo(layout.labelLeft === null ? plotRight : layout.labelLeft - 3, y + 0.5);
    ctx.stroke();
    ctx.setLineDash([]);
    if (layout.labelX === null) return;
    // The label in the gutter right of the bars, centred on its line.
    ctx.fillStyle = color;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(label, layout.labelX, Math.min(height - 7, Math.max(7, y)));
  };
  marker(spot, "#f5b83d", spotLabel);
  if (bucket.flip) marker(bucket.flip.level, "#b58cff", flipLabel);
}
