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
    for row in result["rows"]:
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
    return "\n".join(lines)
