"""Resume rules: a client's last event id -> replay what it missed, or reset (pure).

A client resumes exactly (every missed event, in order, no duplicates, no gaps) only when its
id names the current epoch and every event after it is still in history. Otherwise it is told
plainly, with a reason, and gets a fresh snapshot:

- ``epoch-changed``: the id is from another server run; seqs restart with each epoch.
- ``too-old``: the events after the id have left the bounded history.
- ``unknown-seq``: the seq is ahead of anything this epoch has published.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass

from spotlight.hub.event import Event
from spotlight.hub.history import History

__all__ = ["BadEventId", "EventId", "Replay", "Reset", "decide", "parse_event_id"]

_ID = re.compile(r"^([0-9a-f]{1,32}):(0|[1-9][0-9]{0,17})$")


class BadEventId(ValueError):
    """A Last-Event-ID / sinceSeq+epoch that is not of the form ``<epoch>:<seq>``."""


@dataclass(frozen=True, slots=True)
class EventId:
    epoch: str
    seq: int


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[Event]


@dataclass(frozen=True, slots=True)
class Reset:
    reason: str  # "epoch-changed" | "too-old" | "unknown-seq"


def parse_event_id(text: str) -> EventId:
    m = _ID.match(text.strip())
    if m is None:
        raise BadEventId(
            f"event id {text[:80]!r} is not '<epoch>:<seq>' (epoch: hex, seq: a non-negative "
            "integer); send back exactly the id of the last event you received"
        )
    return EventId(m.group(1), int(m.group(2)))


def decide(
    want: EventId, epoch: str, last_seq: int, history: History, topics: Container[str]
) -> Replay | Reset:
    if want.epoch != epoch:
        return Reset("epoch-changed")
    if want.seq > last_seq:
        return Reset("unknown-seq")
    if not history.covers(want.seq, last_seq):
        return Reset("too-old")
    return Replay(history.since(want.seq, topics))
