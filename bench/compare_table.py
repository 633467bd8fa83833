"""bench/compare.py's one table (Markdown, ready for docs/benchmarks.md) from its results."""

from __future__ import annotations

from typing import Any

__all__ = ["table"]

NAMES = {
    "node": "Node express / ws",
    "uvicorn": "uvicorn + sse-starlette / websockets",
    "spotlight": "Spotlight",
}
HEADER = (
    "| workload | server | transport | connected | delivered events/s | ticks delivered "
    "| server CPU (1 core) | µs / event | tick p50 / p99 (ms) | idle RSS / conn | conn errors |"
)


def _workload(row: dict[str, Any]) -> str:
    bursts = f", {row['burst_ms']} ms bursts" if row["burst_ms"] > 1 else ""
    return f"R={row['rate']:g}{bursts}"


def _cell(value: object, fmt: str = "{}") -> str:
    return "—" if value is None else fmt.format(value)


def median_rows(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[float]]]:
    """One row per (workload, server, transport), in first-run order: the median round by CPU
    per event (the lower middle one for an even count), with every round's figure."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["rate"], row["burst_ms"], row["impl"], row["transport"])
        groups.setdefault(key, []).append(row)
    out: list[tuple[dict[str, Any], list[float]]] = []
    for runs in groups.values():
        ok = [r for r in runs if "error" not in r and r["us_per_event"] is not None]
        if not ok:
            out.append((runs[0], []))
            continue
        ok.sort(key=lambda r: r["us_per_event"])
        out.append((ok[(len(ok) - 1) // 2], [r["us_per_event"] for r in runs if r in ok]))
    return out


def ratios(rows: list[dict[str, Any]]) -> list[str]:
    """Issue 13's two ratios per workload: Spotlight's WS over SSE CPU per event (median
    rounds, and round by round), and Spotlight SSE's delivered events per CPU-second over
    Node express's."""
    best = {
        (r["rate"], r["burst_ms"], r["impl"], r["transport"]): r
        for r, rounds in median_rows(rows)
        if rounds
    }
    out = []
    for rate, burst_ms in dict.fromkeys((r["rate"], r["burst_ms"]) for r in rows):
        label = _workload({"rate": rate, "burst_ms": burst_ms})
        sse, ws = (
            best.get((rate, burst_ms, "spotlight", "sse")),
            best.get((rate, burst_ms, "spotlight", "ws")),
        )
        if sse and ws:
            paired = {
                r.get("round", 1): r["us_per_event"]
                for r in rows
                if (r["rate"], r["burst_ms"], r["impl"]) == (rate, burst_ms, "spotlight")
                and r["transport"] == "sse"
                and "error" not in r
                and r["us_per_event"]
            }
            each = [
                round(r["us_per_event"] / paired[r.get("round", 1)], 2)
                for r in rows
                if (r["rate"], r["burst_ms"], r["impl"], r["transport"])
                == (rate, burst_ms, "spotlight", "ws")
                and "error" not in r
                and r["us_per_event"]
                and r.get("round", 1) in paired
            ]
            per_round = f" (round by round: {', '.join(map(str, each))})" if len(each) > 1 else ""
            out.append(
                f"{label}: Spotlight WS / SSE CPU per event "
                f"{ws['us_per_event'] / sse['us_per_event']:.2f}x{per_round}"
            )
        node = best.get((rate, burst_ms, "node", "sse"))
        if sse and node and node["server_cpu_s"] and sse["server_cpu_s"]:
            ours = sse["delivered_per_s"] / sse["server_cpu_util"]
            theirs = node["delivered_per_s"] / node["server_cpu_util"]
            out.append(
                f"{label}: Spotlight SSE {ours:,.0f} delivered events per CPU-second, Node "
                f"express {theirs:,.0f}: {ours / theirs:.2f}x"
            )
    return out


def table(result: dict[str, Any]) -> str:
    o, m, v = result["options"], result["machine"], result["versions"]
    lines = [
        f"{o['clients']} clients per run, {o['window']:g} s windows, "
        f"{'server on CPU 0 and clients on CPU 1' if o['pin'] else 'not pinned'}; "
        f"{m.get('Model name', '?')} ({m.get('nproc', '?')} CPUs), Linux {m['kernel']}; "
        + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
        HEADER,
        "|" + "---|" * HEADER.count(" | ") + "---|",
    ]
    notes = [
        "delivered events/s counts every event but the first snapshot: the peers send R ticks "
        "per client per second; Spotlight's stream has R/2 ticks, R/2 quotes and the 1-minute "
        "bar update each trade makes (written with its tick), so compare CPU at one R",
        "ticks delivered: ticks received / (ticks published in the window x clients connected)",
    ]
    for row, rounds in median_rows(result["rows"]):
        if len(rounds) > 1:
            notes.append(
                f"{_workload(row)} {row['impl']} {row['transport']}: the median of "
                f"{len(rounds)} rounds; µs / event in each: {', '.join(map(str, rounds))}"
            )
        idle = result["idle"].get(f"{row['impl']}:{row['transport']}", {})
        rss = _cell(idle.get("kb_per_connection"), "{} KB")
        head = f"| {_workload(row)} | {NAMES[row['impl']]} | {row['transport'].upper()} "
        if "error" in row:
            lines.append(head + f"| failed: {row['error'][:80]} |" + " |" * 7 + f" {rss} | |")
            continue
        lt = row["latency_ms"]
        lines.append(
            head
            + f"| {row['connected']} | {row['delivered_per_s']:,} "
            + f"| {_cell(row['ticks_delivered_pct'], '{} %')} "
            + f"| {row['server_cpu_util']:.1%} | {_cell(row['us_per_event'])} "
            + f"| {_cell(lt['p50_ms'])} / {_cell(lt['p99_ms'])} | {rss} "
            + f"| {row['conn_errors']} |"
        )
        what = f"{_workload(row)} {row['impl']} {row['transport']}"
        if row["client_bound"]:
            notes.append(f"{what}: the clients used {row['client_cpu_util']} of a core")
        if row.get("offered_nominal"):
            notes.append(
                f"{what}: saturated, /stats unanswered for 30 s: ticks offered taken as R/s"
            )
        if row["trouble"]:
            notes.append(f"{what}: {row['trouble']}")
        problems = row["server_log_problems"]
        if problems["errors"]:
            notes.append(f"{what}: {problems['errors']} error lines in {problems['log']}")
    for key, idle in result["idle"].items():
        if "error" in idle:
            notes.append(f"idle RSS {key}: failed: {idle['error'][:120]}")
        elif idle["conn_errors"]:
            notes.append(f"idle RSS {key}: {idle['conn_errors']} connection errors")
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    found = ratios(result["rows"])
    if found:
        lines += ["", "Ratios (issue 13's targets):", *[f"- {r}" for r in found]]
    return "\n".join(lines)
