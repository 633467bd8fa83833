"""What a stream holds outside its inbox: the prelude, replays and replies (pure).

A stream's inbox (``clients/inbox.py``) holds what the hub offers it, bounded by bytes and
age. Everything else a stream must write goes through this queue, in the order it was asked
for: the SSE ``retry:`` prelude, a subscribe's replay (merged with what was pending) or its
reset and snapshot, command replies (``pong``, ``error``), transport bytes (a WebSocket
pong). Replies are framed when the chunk is built, at the position reached by what precedes
them, so they never claim more than the client has received.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import orjson

from spotlight.hub.event import Event

__all__ = ["OutQueue"]

# Items: a pending event (counted as delivered when written, with its latency), a replayed
# one (counted at subscribe), prebuilt bytes at a position, a reply framed when the chunk is
# built, or raw transport bytes (position unchanged).
_EVENT, _REPLAYED, _AT, _REPLY, _RAW = 0, 1, 2, 3, 4
# What a reply costs before it is framed, for the bound (replies are small JSON messages).
_REPLY_BYTES = 64


class OutQueue:
    __slots__ = ("_items", "bytes", "counted")

    def __init__(self) -> None:
        self._items: list[tuple[int, object, int]] = []  # (kind, item, position)
        self.bytes = 0  # what the queue holds, framed or estimated
        self.counted = 0  # pending events in it (delivered, with latency, when written)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def events(self, events: Iterable[Event], *, replayed: bool = False) -> None:
        kind = _REPLAYED if replayed else _EVENT
        for e in events:
            self._items.append((kind, e, e.seq))
            self.bytes += e.size
            if not replayed:
                self.counted += 1

    def framed(self, data: bytes, position: int) -> None:
        """A message already framed, at ``position`` (a snapshot, a reset)."""
        self._items.append((_AT, data, position))
        self.bytes += len(data)

    def reply(self, type: str, payload: object) -> None:
        """A reply, encoded now (in the caller's task: a value that cannot be encoded fails
        there, never in the flusher that builds the chunk) and framed when the chunk is."""
        encoded = orjson.Fragment(orjson.dumps(payload))
        self._items.append((_REPLY, (type, encoded), 0))
        self.bytes += _REPLY_BYTES

    def raw(self, data: bytes) -> None:
        self._items.append((_RAW, data, 0))
        self.bytes += len(data)

    def clear(self) -> int:
        """Drop everything; returns how many items were dropped."""
        n = len(self._items)
        self._items.clear()
        self.bytes = self.counted = 0
        return n

    def take(
        self,
        position: int,
        event_bytes: Callable[[Event], bytes],
        control: Callable[[str, object, int], bytes],
        max_bytes: int = 1 << 62,
    ) -> tuple[list[bytes], int, float, int]:
        """What is queued, as bytes: (parts, counted events, oldest counted publish time, the
        position reached). ``position`` is where the client stands before this chunk.

        At most about ``max_bytes``: items are taken whole, in order, until that much is
        taken (at least one item); the rest stays queued for the next chunk. A large prelude
        (a replay, a snapshot in pieces) so goes out in chunks that end on message
        boundaries, and a close can be written after the chunk in flight instead of after
        everything (clients/stream.py)."""
        items = self._items
        if self.bytes > max_bytes:
            taken = 0
            cut = 0
            while cut < len(items) and (cut == 0 or taken < max_bytes):
                kind, item, _ = items[cut]
                taken += item.size if isinstance(item, Event) else _item_bytes(kind, item)
                cut += 1
            items, self._items = items[:cut], items[cut:]
            self.bytes = max(0, self.bytes - taken)
            counted = sum(1 for kind, _, _ in items if kind == _EVENT)
            self.counted -= counted
        else:
            self._items = []
            counted, self.counted = self.counted, 0
            self.bytes = 0
        parts: list[bytes] = []
        oldest = 0.0
        for kind, item, at in items:
            if kind in (_EVENT, _REPLAYED):
                assert isinstance(item, Event)
                parts.append(event_bytes(item))
                if kind == _EVENT and not oldest:
                    oldest = item.published
                if at > position:
                    position = at
            elif kind == _AT:
                assert isinstance(item, bytes)
                parts.append(item)
                if at > position:
                    position = at
            elif kind == _REPLY:
                assert isinstance(item, tuple)
                parts.append(control(item[0], item[1], position))
            else:
                assert isinstance(item, bytes)
                parts.append(item)
        return parts, counted, oldest, position


def _item_bytes(kind: int, item: object) -> int:
    if kind == _REPLY:
        return _REPLY_BYTES
    assert isinstance(item, bytes)
    return len(item)
