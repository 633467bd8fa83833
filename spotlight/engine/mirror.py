"""A follower's market state, rebuilt from the leader's events (Redis backend only).

Only the leaseholder runs the source and the analytics (engine/leader.py). The other nodes
still answer snapshots (prices, in-progress bars, status), /api/history and the analytics
channels' latest payloads, so they keep the same state from the shared stream: every event
another node published goes through here.

- ``tick`` and ``quote``: ingested into the node's own pipeline without publishing
  (``Pipeline.warm``), so its bars follow the same candle rules on the same trades as the
  leader's (a source's revisions of closed bars are the leader's alone: docs/scaling.md).
- ``status``: the market source's state, as the leader's pipeline has it.
- analytics channels: the newest payload per channel, what a snapshot shows.
- ``bar:update`` / ``bar:close``: nothing to do, the trades rebuild them.

The mirror is off until the node's pipeline has its history (``enabled``): bars must be
loaded before any live trade is applied.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson

from spotlight.analytics.channels import CHANNELS
from spotlight.domain.ticks import Quote, SourceStatus, Tick, Trade
from spotlight.engine.pipeline import Pipeline
from spotlight.hub.event import Event

__all__ = ["StreamMirror"]

_CHANNELS = frozenset(CHANNELS)


class StreamMirror:
    def __init__(self, pipeline: Pipeline, latest: MutableMapping[str, Any]) -> None:
        self.pipeline = pipeline
        self.latest = latest
        self.enabled = False
        self.applied = 0
        self.skipped = 0  # events seen before the pipeline was ready
        self.malformed = 0

    def apply(self, event: Event) -> None:
        if not self.enabled:
            self.skipped += 1
            return
        try:
            tick = self._tick(event)
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError):
            self.malformed += 1
            return
        self.applied += 1
        if tick is not None:
            self.pipeline.warm([tick])

    def _tick(self, event: Event) -> Tick | None:
        t = event.type
        if t == "tick":
            d = orjson.loads(event.data)
            return Trade(d["s"], int(d["t"]), float(d["p"]), float(d["v"]))
        if t == "quote":
            d = orjson.loads(event.data)
            return Quote(
                d["s"], int(d["t"]), float(d["b"]), float(d["a"]), float(d["bs"]), float(d["as"])
            )
        if t == "status":
            d = orjson.loads(event.data)
            return SourceStatus(
                d["source"],
                d["state"],
                d.get("reason"),
                tuple((str(k), str(v)) for k, v in dict(d.get("feeds") or {}).items()),
                int(d["t"]),
                tuple((str(k), str(v)) for k, v in dict(d.get("replay") or {}).items()),
            )
        if t in _CHANNELS:
            self.latest[t] = orjson.loads(event.data)
        return None

    def stats(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "applied": self.applied,
            "skipped": self.skipped,
            "malformed": self.malformed,
        }
