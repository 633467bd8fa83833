// Exchange time (America/New_York) for the chart: lightweight-charts draws times as UTC, so
// each bar's time is shifted by New York's UTC offset at that instant; a 09:30 ET bar then
// shows 09:30 on the axis, and a daily bar (it starts at New York midnight) shows its date.

const ZONE = "America/New_York";
const parts = new Intl.DateTimeFormat("en-US", {
  timeZone: ZONE,
  hourCycle: "h23",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const HOUR = 3_600_000;
const cache = new Map();

/** New York's offset from UTC (ms, negative: -4 h or -5 h) at the instant ``ms``. */
export function nyOffsetMs(ms) {
  const key = Math.floor(ms / HOUR);
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const p = {};
  for (const { type, value } of parts.formatToParts(new Date(key * HOUR))) p[type] = value;
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  const offset = asUtc - key * HOUR;
  if (cache.size > 10_000) cache.clear();
  cache.set(key, offset);
  return offset;
}

/** A bar start (ms, UTC) as the chart's time: seconds of New York wall-clock time. */
export function toChartTime(ms) {
  return Math.floor((ms + nyOffsetMs(ms)) / 1000);
}

/** A chart time back to the instant (ms, UTC); exact except within a DST change hour. */
export function fromChartTime(seconds) {
  const wall = seconds * 1000;
  return wall - nyOffsetMs(wall - nyOffsetMs(wall));
}

/** "HH:MM:SS" New York time of ``ms``. */
export function formatNyTime(ms) {
  const d = new Date(ms + nyOffsetMs(ms));
  return d.toISOString().slice(11, 19);
}

/** "YYYY-MM-DD HH:MM" New York time of ``ms``. */
export function formatNyDateTime(ms) {
  const d = new Date(ms + nyOffsetMs(ms));
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 16)}`;
}
