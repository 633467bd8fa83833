"""The one table of reasons a stream ends, for SSE and WebSocket alike.

Each reason says whether the client should reconnect. WebSocket codes follow RFC 6455:
1000 normal, 1002 protocol error, 1007 invalid data, 1009 message too big and 1012 "service
restart" are standard; 4000-4999 are ours. Codes in 4000-4099 mean "reconnect (with
backoff)"; 4400-4499 mean "do not retry until something changes" (credentials, a bad
request). SSE has no close code: the server sends an event named by ``sse_event`` with
``{"reason", "reconnect", "retryMs", "dropped", "detail"}`` and ends the response.

``announce``: whether that closing message is sent. The peer's own close and the WebSocket
protocol violations are not announced: the close frame (with its code and reason) says it.
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
    announce: bool = True


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
        CloseReason(
            "idle",
            4010,
            True,
            "idle",
            "the peer sent nothing (not even a pong) for too long; reconnect if still there",
        ),
        CloseReason(
            "internal-error",
            4011,
            True,
            "error",
            "the server failed on this connection (logged); reconnect",
        ),
        CloseReason("bad-request", 4400, False, "error", "malformed or oversized message"),
        CloseReason(
            "client-closed", 1000, False, "end", "the client closed the stream", announce=False
        ),
        CloseReason(
            "protocol-error",
            1002,
            False,
            "error",
            "the client broke the WebSocket protocol (e.g. an unmasked frame)",
            announce=False,
        ),
        CloseReason(
            "invalid-data",
            1007,
            False,
            "error",
            "a text message that is not valid UTF-8",
            announce=False,
        ),
        CloseReason(
            "message-too-big",
            1009,
            False,
            "error",
            "a message larger than the endpoint's limit",
            announce=False,
        ),
    )
}


def close_reason(name: str) -> CloseReason:
    try:
        return CLOSE_REASONS[name]
    except KeyError:
        raise ValueError(f"unknown close reason {name!r}; known: {sorted(CLOSE_REASONS)}") from None
