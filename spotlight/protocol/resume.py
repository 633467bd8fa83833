"""Resume rules: a client's last event id -> replay what it missed, or reset (pure).

A client resumes exactly (every missed event, in order, no duplicates, no gaps) only when its
id names the current epoch and every event after it is still in history. Otherwise it is told
plainly, with a reason, and gets a fresh snapshot:

- ``epoch-changed``: the id is from another server run; seqs restart with each epoch.
- ``too-old``: the events after the id have left the bounded history.
- ``unknown-seq``: the seq is ahead of anything this epoch has published.
- ``malformed-id``: a Last-Event-ID that is not an id at all (a browser's EventSource sends
  back whatever it stored, e.g. an id from before a format change); a 400 would end the
  EventSource for good, so it starts fresh instead.
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


# How much of an unreadable id is echoed back in ``reset.requested``.
MAX_ECHO = 80


@dataclass(frozen=True, slots=True)
class EventId:
    epoch: str
    seq: int
    malformed: str | None = None  # an unreadable id as sent (then epoch "" and seq 0)

    @classmethod
    def unreadable(cls, text: str) -> EventId:
        return cls("", 0, text[:MAX_ECHO])

    @property
    def text(self) -> str:
        """The id as the client sent it (for ``reset.requested``)."""
        return self.malformed if self.malformed is not None else f"{self.epoch}:{self.seq}"


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[Event]


@dataclass(frozen=True, slots=True)
class Reset:
    reason: str  # "epoch-changed" | "too-old" | "unknown-seq" | "malformed-id"


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
    if want.malformed is not None:
        return Reset("malformed-id")
    if want.epoch != epoch:
        return Reset("epoch-changed")
    if want.seq > last_seq:
        return Reset("unknown-seq")
    if not history.covers(want.seq, last_seq):
        return Reset("too-old")
    return Replay(history.since(want.seq, topics))
