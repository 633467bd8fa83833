"""What a stream attaches to: the live market, or one replay.

Streaming endpoints (SSE, /ws/prices) and /api/history take a ``Feed`` and never ask which
kind it is: a replay has its own hub, epoch and pipeline, so everything a client sees (ids,
resume, snapshot, history) works the same way on either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spotlight.engine.pipeline import Pipeline
from spotlight.hub.hub import Hub

__all__ = ["Feed", "FeedNotFound"]


class FeedNotFound(LookupError):
    """No such replay (never existed, ended or was stopped)."""


@dataclass(frozen=True, slots=True)
class Feed:
    name: str  # "live" or the replay id
    hub: Hub
    pipeline: Pipeline
    latest: Callable[[], Mapping[str, Any]]  # newest payload per analytics channel
    # Brings the symbols' prices up to date before a snapshot (a polling source); None: always
    # current.
    refresh: Callable[[Sequence[str]], Awaitable[None]] | None = None
    # Returns once the feed holds its starting state (a replay still loading its data answers
    # history with nothing); None: ready from the start (the live market).
    ready: Callable[[], Awaitable[None]] | None = None

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.pipeline.symbols
