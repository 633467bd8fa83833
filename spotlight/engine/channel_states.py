"""Whether each analytics channel has its first value yet: ``warming`` until it does.

Streams are served as soon as the market runs, but the first GEX pass needs the worker
process and an option chain, and levels need an SPX value: for a few seconds after start a
channel has nothing to show. Rather than a bare ``null`` (indistinguishable from "broken")
a subscriber's snapshot carries a marker for such a channel, and ``/health`` names them:

    {"state": "warming", "channel": "gex:SPX", "reason": "...", "sinceMs": 1766...}

``warming`` lasts until the channel's first value, at most ``WARMING_LIMIT_MS`` after start;
a channel still without a value after that is ``waiting`` (its inputs are missing upstream:
no option chain, no SPX value), with the same reason. Markers are never published as
events: the first real payload is the channel's first event, and replaces the marker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = [
    "WARMING_LIMIT_MS",
    "channel_states",
    "channel_view",
    "is_marker",
]

# One GEX cadence (15 s) plus a worker start and a slow first chain poll, with room to spare:
# a channel without a value a minute after start is not warming up, its inputs are missing.
WARMING_LIMIT_MS: Final = 60_000

_NEEDS: Final[dict[str, str]] = {
    "gex:SPX": "the first GEX pass: an SPX option chain and the analytics worker",
    "gex:SPY": "the first GEX pass: a SPY option chain and the analytics worker",
    "flow:alert": "the first option chain",
    "levels:update": "an SPX value",
    "clusters:update": "an SPX value",
    "regime:update": "an SPX value",
    "setups:update": "an SPX value",
    "basis:update": "an SPX value and a SPY quote",
    "coach:message": "the analytics actor's start",
}


_MARKER_KEYS = frozenset({"state", "channel", "reason", "sinceMs"})


def is_marker(payload: object) -> bool:
    """Is ``payload`` a warming/waiting marker (no value yet), not a channel's payload?"""
    return isinstance(payload, dict) and payload.keys() == _MARKER_KEYS


def _marker(channel: str, state: str, since_ms: int | None) -> dict[str, Any]:
    return {
        "state": state,
        "channel": channel,
        "reason": f"no value yet: waits for {_NEEDS.get(channel, 'its inputs')}",
        "sinceMs": since_ms,
    }


def channel_states(
    channels: Iterable[str], latest: Mapping[str, Any], started_ms: int | None, now_ms: int
) -> dict[str, str]:
    """``{channel: "ready" | "warming" | "waiting"}``."""
    young = started_ms is None or now_ms - started_ms < WARMING_LIMIT_MS
    return {
        c: "ready" if latest.get(c) is not None else "warming" if young else "waiting"
        for c in channels
    }


def channel_view(
    channels: Iterable[str], latest: Mapping[str, Any], started_ms: int | None, now_ms: int
) -> dict[str, Any]:
    """``latest`` with a marker for every channel that has no value yet (for snapshots)."""
    out = dict(latest)
    for channel, state in channel_states(channels, latest, started_ms, now_ms).items():
        if state != "ready":
            out[channel] = _marker(channel, state, started_ms)
    return out
