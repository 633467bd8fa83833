"""The voice coach's counters: one object per server, for /api/diag and the metrics.

Every refusal of a client message (by error code), every answer (by outcome), every agent
failure (by kind: the upstream's refused, unauthorized, timeout, dropped ... and the offline
coach's speech failures), every tool call and every byte of answer audio dropped is counted
here and in the Prometheus metrics (spotlight/metrics.py, ``spotlight_voice_*``). The last
agent failure is kept with its time, so /api/diag says what went wrong and when.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from spotlight.metrics import Metrics
from spotlight.voice.tools import TOOL_NAMES

__all__ = ["VoiceStats"]


class VoiceStats:
    def __init__(
        self, metrics: Metrics, describe: Callable[[], dict[str, Any]], now_ms: Callable[[], int]
    ) -> None:
        self.metrics = metrics
        self.describe = describe  # the agent's description (never a secret)
        self.now_ms = now_ms
        self.open = 0
        self.sessions = 0
        self.turns: Counter[str] = Counter()
        self.client_errors: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.tools: Counter[str] = Counter()
        self.audio_dropped_bytes = 0
        self.audio_out_bytes = 0
        self.last_failure: dict[str, Any] | None = None

    def opened(self) -> None:
        self.open += 1
        self.sessions += 1
        self.metrics.voice_sessions.inc()

    def closed(self) -> None:
        self.open -= 1
        self.metrics.voice_sessions.dec()

    def client_error(self, error: str) -> None:
        self.client_errors[error] += 1
        self.metrics.voice_client_errors.labels(error).inc()

    def turn(self, agent: str, outcome: str, audio_bytes: int, dropped_bytes: int) -> None:
        self.turns[outcome] += 1
        self.metrics.voice_turns.labels(agent, outcome).inc()
        self.audio_out_bytes += audio_bytes
        if dropped_bytes:
            self.audio_dropped_bytes += dropped_bytes
            self.metrics.voice_audio_dropped.inc(dropped_bytes)

    def failure(self, agent: str, kind: str, detail: str) -> None:
        self.failures[kind] += 1
        self.metrics.voice_agent_failures.labels(agent, kind).inc()
        self.last_failure = {"kind": kind, "detail": detail, "atMs": self.now_ms()}

    def tool(self, name: str, ok: bool) -> None:
        name = name if name in TOOL_NAMES else "unknown"  # a model may name anything
        self.tools[name] += 1
        self.metrics.voice_tool_calls.labels(name, "ok" if ok else "error").inc()

    def diag(self) -> dict[str, Any]:
        return {
            **self.describe(),
            "sessions": {"open": self.open, "total": self.sessions},
            "turns": dict(self.turns),
            "clientErrors": dict(self.client_errors),
            "agentFailures": dict(self.failures),
            "lastFailure": self.last_failure,
            "toolCalls": dict(self.tools),
            "audio": {"outBytes": self.audio_out_bytes, "droppedBytes": self.audio_dropped_bytes},
        }
