"""The fan-out benchmark's text outputs: a human summary of a result, the server log's problems."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["log_problems", "summary"]


def log_problems(path: str) -> dict[str, Any]:
    lines = Path(path).read_text(errors="replace").splitlines()
    bad = [ln for ln in lines if any(w in ln for w in ("ERROR", "CRITICAL", "Traceback"))]
    warn = [ln for ln in lines if "WARNING" in ln]
    return {"log": path, "errors": len(bad), "warnings": len(warn), "first": (bad + warn)[:5]}


def summary(r: dict[str, Any]) -> str:
    if "rss_kb_per_idle_connection" in r:
        return (
            f"idle RSS: {r['connected']}/{r['clients']} connected, RSS {r['rss_before_mb']} -> "
            f"{r['rss_after_mb']} MB = {r['rss_kb_per_idle_connection']} KB per connection "
            f"(target <= 32 KB; {r['unprimed_kb_per_connection']} KB counting the first "
            f"request's one-time growth from {r['rss_cold_mb']} MB); trouble {r['trouble']}"
        )
    lt, sm = r["latency_ms"], r["server_metrics"]
    p2w = {k: None if v is None else round(v * 1e3, 2) for k, v in sm["publish_to_write_s"].items()}
    return "\n".join(
        [
            f"{r['connected']}/{r['clients']} {r.get('transport', 'sse')} clients, "
            f"{r['trades_per_second']} trades/s/symbol, "
            f"symbols={r['symbols']}, window {r['window_s']} s",
            f"delivered {r['delivered_events_per_s']:,} events/s "
            f"({r['events_per_client_per_s']}/client/s), ticks {r['ticks_per_s']:,}/s; "
            f"by type {r['events_per_s_by_type']}",
            f"tick latency ms (1 ms resolution): p50 {lt['p50_ms']} p90 {lt['p90_ms']} "
            f"p99 {lt['p99_ms']} max {lt['max_ms']} (n={lt['count']:,}); "
            f"server publish->write ms {p2w}",
            f"server CPU {r['server_cpu_s']} s ({r['server_cpu_util']:.0%} of a core; "
            f"user/sys {r['server_cpu_user_sys_s']}): "
            f"{r['server_us_per_event']} us/event, {r['server_cpu_s_per_1000_events']} s per "
            f"1,000 events (Node baseline ~18 us, goal <= 9 us)",
            f"server writes {sm['writes_per_s']:,}/s, {sm['mean_batch_events']} events/write; "
            f"published/s {sm['published_per_s']}; RSS {r['server_rss_mb']} MB; "
            f"shared chunks at the end {r.get('shared_chunks_at_end')}",
            f"client CPU {r['client_cpu_util']} of a core"
            + (" -> CLIENT-BOUND, use --client-procs 2" if r["client_bound"] else ""),
            f"trouble {r['trouble']}; server log {r['server_log']}",
            *([f"server GC in window: {r['server_gc']}"] if r.get("server_gc") else []),
            *(
                [f"stalled streams (never read): {r['stalled']}"]
                if r.get("stalled", {}).get("opened")
                else []
            ),
        ]
    )
