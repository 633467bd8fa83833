"""The one table of reasons a server ends a stream, for SSE and WebSocket alike.

Each reason says whether the client should reconnect. WebSocket codes follow RFC 6455:
1001 "going away" and 1012 "service restart" are standard; 4000-4999 are ours. Codes in
4000-4099 mean "reconnect (with backoff)"; 4400-4499 mean "do not retry until something
changes" (credentials, a bad request). SSE has no close code: the server sends an event
named by ``sse_event`` with ``{"reason", "reconnect", "retryMs"}`` and ends the response.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOSE_REASONS", "CloseReason", "close_reason"]


@dataclass(frozen=True, slots=True)
class CloseReason:
    name: str
    ws_code: int
    reconnect: bool
    sse_event: str
    description: str


CLOSE_REASONS: dict[str, CloseReason] = {
    r.name: r
    for r in (
        CloseReason(
            "shutdown",
            1012,
            True,
            "shutdown",
            "server is restarting or shutting down; reconnect with Last-Event-ID",
        ),
        CloseReason(
            "epoch-changed",
            4012,
            True,
            "shutdown",
            "the shared stream started over (Redis lost its data); reconnect with "
            "Last-Event-ID: a reset with reason epoch-changed and a fresh snapshot follow",
        ),
        CloseReason(
            "resync",
            4013,
            True,
            "shutdown",
            "this node fell too far behind the shared stream and reloaded it; reconnect "
            "with Last-Event-ID to resume",
        ),
        CloseReason(
            "degraded",
            4014,
            True,
            "shutdown",
            "this node cannot reach the shared stream (Redis) right now; retry shortly or "
            "use another node",
        ),
        CloseReason(
            "slow-bytes",
            4008,
            True,
            "slow",
            "client fell behind: queued bytes exceeded the per-client bound",
        ),
        CloseReason(
            "slow-age",
            4009,
            True,
            "slow",
            "client fell behind: oldest queued event exceeded the age bound",
        ),
        CloseReason(
            "replay-ended",
            4410,
            False,
            "end",
            "the replay reached its end or was stopped (a replay:end event came first)",
        ),
        CloseReason("auth", 4401, False, "error", "authentication missing, invalid or expired"),
        CloseReason("forbidden-origin", 4403, False, "error", "Origin is not allowed"),
        CloseReason("bad-request", 4400, False, "error", "malformed or oversized message"),
    )
}


def close_reason(name: str) -> CloseReason:
    try:
        return CLOSE_REASONS[name]
    except KeyError:
        raise ValueError(f"unknown close reason {name!r}; known: {sorted(CLOSE_REASONS)}") from None
