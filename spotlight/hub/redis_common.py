"""What the Redis backend's parts share: configuration, failure kinds, entry encodings."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import coredis.exceptions
import trio

from spotlight.hub.epoch import Epoch

__all__ = [
    "UNAVAILABLE",
    "Fields",
    "RedisConfig",
    "RedisUnavailable",
    "Resync",
    "epoch_value",
    "failure_kind",
    "leaf",
    "new_node_id",
    "parse_epoch",
    "seq_of",
]

Fields = Mapping[Any, Any]  # a stream entry's field -> value (bytes; coredis types it wider)


class RedisUnavailable(Exception):
    """Redis cannot be reached right now (the node is degraded)."""


class Resync(Exception):
    """The stream changed under this node (epoch, lost suffix, unrepairable gap)."""


@dataclass(frozen=True, slots=True)
class RedisConfig:
    url: str
    prefix: str  # key namespace: several deployments can share one Redis
    node_id: str  # this process, in leases and batch keys; unique per process
    max_events: int  # the stream's length bound (approximate trim: Redis keeps a bit more)
    max_age_s: float
    timeout_s: float  # a command slower than this counts as Redis being unreachable
    outbound_events: int  # the outbound queue's bound (the oldest are dropped beyond it)

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"


# What losing Redis looks like from here: coredis's connection errors, timeouts (ours and
# the socket's) and OS errors from connecting.
UNAVAILABLE = (coredis.exceptions.ConnectionError, TimeoutError, trio.TooSlowError, OSError)


def failure_kind(exc: BaseException) -> str | None:
    """ "resync", "unavailable", or None for anything else (cancellation, bugs: re-raised).

    coredis's client runs a task group of its own, so failures can arrive grouped."""
    if isinstance(exc, BaseExceptionGroup):
        kinds = {failure_kind(e) for e in exc.exceptions}
        if None in kinds:
            return None
        return "resync" if kinds == {"resync"} else "unavailable"
    if isinstance(exc, Resync):
        return "resync"
    if isinstance(exc, UNAVAILABLE):
        return "unavailable"
    return None


def leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


def epoch_value(now_ms: int) -> str:
    """A new epoch as stored in Redis: ``<id>:<start ms>``."""
    e = Epoch.new(now_ms)
    return f"{e.id}:{e.start_ms}"


def parse_epoch(value: bytes | str) -> Epoch:
    text = value.decode() if isinstance(value, bytes) else value
    eid, _, start = text.partition(":")
    return Epoch(eid, int(start or 0))


def seq_of(identifier: bytes | str) -> int:
    """A stream entry id's seq (entries are ``<seq>-0``)."""
    text = identifier.decode() if isinstance(identifier, bytes) else identifier
    return int(text.split("-", 1)[0])


def new_node_id(hostname: str, pid: int) -> str:
    """A process's id in leases and batch keys: host, pid and a random part (a restarted
    process with a recycled pid is still another node)."""
    return f"{hostname}-{pid}-{secrets.token_hex(3)}"
