"""Connected clients: one ``ClientSession`` per stream, all of them in a ``ClientRegistry``.

A session is the per-connection actor's state: its inbox, subscription, resume position and
close reason. Its task is the transport's request handler (owned by hypercorn's connection
nursery); the session registers an ``ActorNode`` under the tree's ``clients`` node so every
connection is visible in /api/diag, and is removed when the handler ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import trio

from spotlight.clients.flusher import FlushScheduler
from spotlight.clients.inbox import ClientInbox
from spotlight.clients.stream_group import StreamGroups
from spotlight.runtime.tree import ActorNode

__all__ = ["ClientRegistry", "ClientSession"]


class ClientSession:
    __slots__ = (
        "_clock",
        "close_reason",
        "connected_at",
        "delivered",
        "id",
        "inbox",
        "last_seq",
        "node",
        "remote",
        "topics",
        "transport",
        "writes",
    )

    def __init__(
        self,
        id: int,
        transport: str,
        remote: str,
        topics: tuple[str, ...],
        inbox: ClientInbox,
        node: ActorNode,
        clock: Callable[[], float],
    ) -> None:
        self.id = id
        self.transport = transport
        self.remote = remote
        self.topics = topics
        self.inbox = inbox
        self.node = node
        self._clock = clock
        self.connected_at = clock()
        self.last_seq = 0  # the position this client has fully caught up to
        self.delivered = 0
        self.writes = 0
        self.close_reason: str | None = None
        node.stats = self.stats
        node.state = "running"

    def stats(self) -> dict[str, object]:
        return {
            "id": self.id,
            "transport": self.transport,
            "remote": self.remote,
            "topics": len(self.topics),
            "lastSeq": self.last_seq,
            "delivered": self.delivered,
            "writes": self.writes,
            "connectedS": round(self._clock() - self.connected_at, 3),
            "sharedChunk": self.inbox.group is not None,
            **self.inbox.stats(),
        }


class ClientRegistry:
    """Every open stream. ``clock`` is the monotonic clock of the hubs the streams follow
    (``trio.current_time`` in the server): latency and connection ages are read from it, so
    streams can be driven without an event loop in tests."""

    def __init__(self, node: ActorNode, clock: Callable[[], float] = trio.current_time) -> None:
        self.node = node
        self.clock = clock
        self._ids = itertools.count(1)
        self._sessions: dict[int, ClientSession] = {}
        # Clients of one subscription that are in step share one chunk per burst.
        self.groups = StreamGroups()
        # Set by the service once its flusher actor runs; streams opened after that are
        # flushed in one pass per burst (clients/flusher.py).
        self.flusher = None
        self.closing_reason: str | None = None  # set once shutdown begins: refuse new streams

    def open(
        self, transport: str, remote: str, topics: tuple[str, ...], inbox: ClientInbox
    ) -> ClientSession:
        cid = next(self._ids)
        node = self.node.child(f"{transport}-{cid}", f"client:{transport}")
        if self.flusher is not None:
            inbox.attach(self.flusher)
        session = ClientSession(cid, transport, remote, topics, inbox, node, self.clock)
        self._sessions[cid] = session
        if self.closing_reason is not None:
            inbox.close(self.closing_reason)
        return session

    @property
    def flusher(self) -> FlushScheduler | None:
        return self.groups.flusher

    @flusher.setter
    def flusher(self, flusher: FlushScheduler | None) -> None:
        self.groups.flusher = flusher

    def remove(self, session: ClientSession) -> None:
        self._sessions.pop(session.id, None)
        session.node.state = "stopped"
        session.node.detach()

    def close_all(self, reason: str) -> int:
        """Close every stream with ``reason`` (pending events are still delivered first)."""
        self.closing_reason = reason
        for s in list(self._sessions.values()):
            s.inbox.close(reason)
        return len(self._sessions)

    def __iter__(self) -> Iterator[ClientSession]:
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        return len(self._sessions)

    def poke_all(self) -> None:
        """Ask every stream for a heartbeat at its next write."""
        for s in self._sessions.values():
            s.inbox.poke()

    async def run_heartbeats(
        self,
        interval_s: float,
        node: ActorNode,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The heartbeat ticker actor: one timer for all clients instead of one each."""
        node.stats = lambda: {"intervalS": interval_s}
        task_status.started()
        while True:
            await trio.sleep(interval_s)
            self.poke_all()

    def count(self, transport: str) -> int:
        return sum(1 for s in self._sessions.values() if s.transport == transport)

    def queue_depths(self) -> Iterator[tuple[str, int, int]]:
        for s in list(self._sessions.values()):
            yield s.transport, s.inbox.pending_events, s.inbox.pending_bytes
