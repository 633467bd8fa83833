"""A bounded actor inbox: a Trio memory channel plus the numbers diag shows.

Senders inside the process choose: ``await send()`` (wait for room: backpressure onto a
producer we own) or ``offer()`` (never blocks; a full inbox refuses and counts the refusal,
for producers that must not be slowed). The receiver takes everything queued at once with
``receive_batch()``: batching is what keeps per-message cost low (trio-stack-notes.md).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import trio

__all__ = ["Mailbox"]

T = TypeVar("T")


class Mailbox(Generic[T]):
    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"Mailbox capacity must be positive, not {capacity!r}")
        self.capacity = capacity
        self._send, self._recv = trio.open_memory_channel[T](capacity)
        self.refused = 0
        self.peak = 0

    async def send(self, item: T) -> None:
        await self._send.send(item)
        self._note_depth()

    def offer(self, item: T) -> bool:
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self.refused += 1
            return False
        self._note_depth()
        return True

    async def receive_batch(self) -> list[T]:
        """Wait for at least one item, then return every item queued, oldest first."""
        batch = [await self._recv.receive()]
        while True:
            try:
                batch.append(self._recv.receive_nowait())
            except trio.WouldBlock:
                return batch

    def close(self) -> None:
        self._send.close()

    @property
    def depth(self) -> int:
        return self._send.statistics().current_buffer_used

    def _note_depth(self) -> None:
        d = self.depth
        if d > self.peak:
            self.peak = d

    def stats(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "capacity": self.capacity,
            "peak": self.peak,
            "refused": self.refused,
        }
