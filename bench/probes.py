"""What the fan-out benchmark reads from outside the clients: /proc, HTTP, Prometheus text.

Everything here is synchronous and cheap; the benchmark calls it only at the edges of the
measurement window, so it costs the server nothing during the window itself.
"""

from __future__ import annotations

import json
import math
import os
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "cpu_seconds",
    "gc_window",
    "get",
    "get_json",
    "hist_quantiles",
    "latency_summary",
    "metric_sum",
    "parse_metrics",
    "rss_bytes",
]

_CLK_TCK = os.sysconf("SC_CLK_TCK")
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

# {(name, frozenset of (label, value)): value}
Metrics = dict[tuple[str, frozenset[tuple[str, str]]], float]


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process (all threads), 1/CLK_TCK (10 ms) resolution."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based, man 5 proc).
    return int(fields[11]) / _CLK_TCK, int(fields[12]) / _CLK_TCK


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), bytes(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def get_json(url: str) -> Any:
    return json.loads(get(url)[1])


def parse_metrics(text: str) -> Metrics:
    out: Metrics = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m is None:
            continue
        labels = frozenset(_LABEL.findall(m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric_sum(metrics: Metrics, name: str, **match: str) -> float:
    """Sum of every sample of ``name`` whose labels include ``match``."""
    want = set(match.items())
    return sum(v for (n, labels), v in metrics.items() if n == name and want <= labels)


def hist_quantiles(
    before: Metrics, after: Metrics, name: str, qs: tuple[float, ...], **match: str
) -> dict[str, float | None]:
    """Quantiles of a Prometheus histogram over the interval between two scrapes.

    Linear interpolation inside the bucket, as PromQL's histogram_quantile does; a quantile in
    the +Inf bucket is reported as the last finite bound. None when nothing was observed.
    """
    want = set(match.items())
    buckets: dict[float, float] = {}
    for (n, labels), v in after.items():
        if n != name + "_bucket" or not want <= labels:
            continue
        le = float(dict(labels)["le"])
        buckets[le] = buckets.get(le, 0.0) + v - before.get((n, labels), 0.0)
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    out: dict[str, float | None] = {}
    for q in qs:
        key = f"p{q * 100:g}"
        if total <= 0:
            out[key] = None
            continue
        rank, lo, prev = q * total, 0.0, 0.0
        for b in bounds:
            if buckets[b] >= rank:
                if math.isinf(b):
                    out[key] = lo
                else:
                    width = buckets[b] - prev
                    out[key] = lo + (b - lo) * ((rank - prev) / width if width else 1.0)
                break
            lo, prev = b, buckets[b]
    return out


def latency_summary(hist: Mapping[int, int]) -> dict[str, float | int | None]:
    """p50/p90/p99/p99.9/max (ms) and count from a {latency ms: ticks} histogram."""
    n = sum(hist.values())
    out: dict[str, float | int | None] = {"count": n}
    keys = sorted(hist)
    for q in (0.5, 0.9, 0.99, 0.999):
        name = f"p{q * 100:g}_ms"
        if not n:
            out[name] = None
            continue
        rank, seen = q * n, 0
        for k in keys:
            seen += hist[k]
            if seen >= rank:
                out[name] = k
                break
    out["max_ms"] = keys[-1] if keys else None
    out["min_ms"] = keys[0] if keys else None
    out["mean_ms"] = round(sum(k * v for k, v in hist.items()) / n, 2) if n else None
    return out


def gc_window(log_path: str, window_s: float) -> dict[str, Any] | None:
    """GC time between the last two ``bench-gc`` lines of a server log (bench/gc_probe.py)."""
    marks = [
        json.loads(line.split(" ", 1)[1])
        for line in Path(log_path).read_text(errors="replace").splitlines()
        if line.startswith("bench-gc ")
    ]
    if len(marks) < 2:
        return None
    a, b = marks[-2], marks[-1]
    out: dict[str, Any] = {}
    total = 0.0
    for g in ("gen0", "gen1", "gen2"):
        secs = b[g][1] - a[g][1]
        total += secs
        out[g] = {
            "collections": b[g][0] - a[g][0],
            "ms": round(secs * 1e3),
            "max_ms": round(b[g][2] * 1e3, 1),
        }
    out["share_of_window"] = round(total / window_s, 3)
    out["tracked_objects"] = b.get("tracked")
    return out
