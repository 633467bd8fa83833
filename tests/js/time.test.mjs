// New York time on the chart axis (spotlight/web/static/js/time.js).
import { test } from "node:test";
import assert from "node:assert/strict";

import { formatNyDateTime, fromChartTime, nyOffsetMs, toChartTime } from "../../spotlight/web/static/js/time.js";

test("New York's offset follows daylight saving time", () => {
  assert.equal(nyOffsetMs(Date.UTC(2025, 0, 15, 15)), -5 * 3_600_000); // EST
  assert.equal(nyOffsetMs(Date.UTC(2025, 6, 15, 15)), -4 * 3_600_000); // EDT
  // 2025-03-09 07:00 UTC is 03:00 EDT (the change happened at 02:00 EST = 07:00 UTC).
  assert.equal(nyOffsetMs(Date.UTC(2025, 2, 9, 6, 59)), -5 * 3_600_000);
  assert.equal(nyOffsetMs(Date.UTC(2025, 2, 9, 7, 0)), -4 * 3_600_000);
});

test("a 09:30 ET bar shows 09:30 on the axis, a daily bar its date", () => {
  const open = Date.UTC(2025, 11, 17, 14, 30); // 09:30 EST
  assert.equal(new Date(toChartTime(open) * 1000).toISOString(), "2025-12-17T09:30:00.000Z");
  const midnightNy = Date.UTC(2025, 6, 1, 4, 0); // 00:00 EDT
  assert.equal(new Date(toChartTime(midnightNy) * 1000).toISOString(), "2025-07-01T00:00:00.000Z");
  assert.equal(fromChartTime(toChartTime(open)), open);
  assert.equal(formatNyDateTime(open), "2025-12-17 09:30");
});
