"""Shared chunks: the clients of one subscription that are in step get one chunk per burst.

On the fan-out path most clients want the same thing: the same topics, and everything up to
now. Written one by one, each of them still costs an offer per event, a drain, a join and
the accounting of its own chunk (about half of a burst's CPU at 1,000 clients,
docs/benchmarks.md). A ``StreamGroup`` is one hub subscriber standing for all of its
members: the hub offers it each event once, and on the flusher's pass the group builds the
burst's chunk once and hands the same bytes object to every member's non-blocking write.

Membership is an optimisation that never changes what a client receives:

- **Join** only in step. A client joins when its own queue is empty, everything it was given
  is on the socket, its writer task is parked, and the group has nothing pending: both are
  at the same position, so the switch (unsubscribe the client, add it to the group) loses and
  repeats nothing. It happens in one synchronous step, so no publish can fall in between.
- **Leave** whenever a member is not simply keeping up: a partial write (the rest goes to the
  client's own task, as on the individual path), a writer that is not parked, a close
  (shutdown, replay ended, the peer went away). The group's pending events are offered to the
  member's own queue first, then it is subscribed on its own again: from there on it is an
  ordinary client (bounds, conflation, ``slow``) until it is back in step.
- **Heartbeats** of members are written by the group, after the burst's chunk, so their resume
  position is exact.
- **Bounds**: the group's queue has the members' byte and age bounds. It only fills when the
  flusher itself cannot run; if it overflows, every member is cut off as ``slow`` as it would
  have been on its own.

Only transports that can write without awaiting join (the raw-socket SSE and WebSocket
paths); the ASGI fallback stays individual. Groups are per framing: an SSE group's chunk and a
WebSocket group's chunk carry the same events in their own envelopes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from spotlight.clients.flusher import FlushScheduler
from spotlight.clients.inbox import ClientInbox
from spotlight.hub.event import Event
from spotlight.hub.hub import Hub
from spotlight.metrics import WriteStats
from spotlight.protocol.framing import Framing

__all__ = ["Member", "StreamGroup", "StreamGroups"]


class Member(Protocol):
    """A member's side of the group's pass (clients/socket_stream.py implements it).

    ``write(chunk, events, oldest, last_seq)``: True when the burst is fully written and the
    member's own counters (writes, delivered, position) are updated; the group records the
    pass's write statistics once for all of them (``stats``). False: not fully written (the
    rest, or the whole chunk, is the member's own task's to finish, with its accounting):
    the member leaves the group. ``add_conflated(n)``: the group's queue superseded ``n``
    events this member would have had.
    """

    stats: WriteStats

    def write(self, chunk: bytes, events: int, oldest: float, last_seq: int) -> bool: ...

    def add_conflated(self, n: int) -> None: ...


class _GroupQueue(ClientInbox):
    """The group's one hub subscription: a client queue whose flush is the group's pass."""

    __slots__ = ("owner",)

    def __init__(self, owner: StreamGroup, max_bytes: int, max_age_s: float) -> None:
        super().__init__(max_bytes, max_age_s)
        self.owner = owner

    def flush(self) -> None:
        self._dirty = False
        self.owner.flush()

    def close(self, reason: str, *, dropped: bool = False) -> None:
        """Closing the group closes every member (the replay ended, the queue overflowed)."""
        if self.closed_reason is not None:
            return
        lost = self.pending_events if dropped else 0
        events = [] if dropped else self.peek()
        super().close(reason, dropped=dropped)
        self.owner.dissolve(reason, events, lost)


class StreamGroup:
    def __init__(
        self,
        groups: StreamGroups,
        hub: Hub,
        topics: tuple[str, ...],
        framing: Framing,
        flusher: FlushScheduler,
        max_bytes: int,
        max_age_s: float,
    ) -> None:
        self.groups = groups
        self.hub = hub
        self.topics = topics
        self.framing = framing
        self.queue = _GroupQueue(self, max_bytes, max_age_s)
        self.queue.attach(flusher)
        # Insertion-ordered, O(1) removal; the value writes a burst to that member.
        self.members: dict[ClientInbox, Member] = {}
        self._conflated = 0  # the queue's conflation count already passed on to members
        self._heartbeats = False  # some member has a heartbeat due
        hub.subscribe(self.queue, topics)

    def join(self, inbox: ClientInbox, member: Member) -> None:
        self.hub.unsubscribe(inbox)
        inbox.group = self
        self.members[inbox] = member
        self.groups.joins += 1

    def leave(self, inbox: ClientInbox, events: Sequence[Event], *, resubscribe: bool) -> None:
        """Take ``inbox`` out; ``events`` (published, not yet written to it) go to its queue."""
        if self.members.pop(inbox, None) is None:
            return
        inbox.group = None
        self.groups.leaves += 1
        for event in events:
            inbox.offer(event)
        if resubscribe and inbox.closed_reason is None:
            self.hub.subscribe(inbox, self.topics)
        if not self.members:
            self._end()

    def leave_now(self, inbox: ClientInbox, *, resubscribe: bool) -> None:
        """Leave between passes: the group's pending events are the member's too."""
        self.leave(inbox, self.queue.peek(), resubscribe=resubscribe)

    def poke(self) -> None:
        """A member has a heartbeat due: write it on the next pass."""
        self._heartbeats = True
        self.queue.nudge()

    def flush(self) -> None:
        """The flusher's pass: one chunk for the burst, written to every member."""
        events = self.queue.drain()
        n = len(events)
        if not n and not self._heartbeats:
            return
        self._heartbeats = False
        if n:
            event_bytes = self.framing.event
            chunk = b"".join([event_bytes(e) for e in events])
            oldest, last = events[0].published, events[-1].seq
        else:
            chunk, oldest, last = b"", 0.0, 0
        conflated = self.queue.conflated - self._conflated
        if conflated:
            self._conflated = self.queue.conflated
            for inbox, member in self.members.items():
                inbox.conflated += conflated
                member.add_conflated(conflated)
        written = 0
        stats: WriteStats | None = None
        for inbox, member in list(self.members.items()):
            if not n and not inbox.heartbeat_due:
                continue
            if not inbox.writer_parked:
                # Its task is busy (being cancelled, say): it gets the burst on its own.
                self.leave(inbox, events, resubscribe=True)
                continue
            try:
                complete = member.write(chunk, n, oldest, last)
            except Exception as exc:  # a bug on one member's path ends that member only
                self.leave(inbox, (), resubscribe=False)
                if self.groups.flusher is None:
                    raise
                self.groups.flusher.failed(inbox, exc)
                continue
            if complete:
                written += 1
                stats = member.stats
            else:
                self.leave(inbox, (), resubscribe=True)
                inbox.wake_writer()
        if n and stats is not None:
            # One record for the pass: every member's write completed by now, so this is
            # each one's publish-to-write latency or a little more (never less).
            stats.record_many(n, self.hub.clock() - oldest, written)

    def dissolve(self, reason: str, events: Sequence[Event], lost: int) -> None:
        """The group's queue closed: close every member with ``reason``."""
        for inbox in list(self.members):
            self.leave(inbox, events, resubscribe=False)
            inbox.dropped += lost
            inbox.close(reason, dropped=bool(lost))
        self._end()

    def _end(self) -> None:
        self.hub.unsubscribe(self.queue)
        self.queue.detach()
        self.groups.forget(self)


class StreamGroups:
    """Every group, by hub and topics (one hub per feed: live, and each replay)."""

    def __init__(self) -> None:
        # Keyed by the set of topics: the order a client named them in changes nothing.
        self._groups: dict[tuple[Hub, frozenset[str], Framing], StreamGroup] = {}
        self.flusher: FlushScheduler | None = None
        self.joins = 0
        self.leaves = 0

    def try_join(
        self,
        hub: Hub,
        topics: tuple[str, ...],
        framing: Framing,
        inbox: ClientInbox,
        member: Member,
    ) -> bool:
        """Join the group of ``topics`` on ``hub`` in ``framing`` if ``inbox`` is in step.

        The caller guarantees that everything given to the client so far is written and its
        writer task is parked.
        """
        flusher = self.flusher
        if (
            flusher is None
            or inbox.group is not None
            or inbox.pending_events
            or inbox.heartbeat_due
            or inbox.closed_reason is not None
        ):
            return False
        key = (hub, frozenset(topics), framing)
        group = self._groups.get(key)
        if group is not None and group.queue.pending_events:
            # The group's burst is not written yet (the flusher visits it later in this same
            # pass): write it now, so that both are at the same position.
            group.flush()
            group = self._groups.get(key)  # gone if its last member left meanwhile
        if group is None:
            group = self._groups[key] = StreamGroup(
                self, hub, topics, framing, flusher, inbox.max_bytes, inbox.max_age_s
            )
        group.join(inbox, member)
        return True

    def forget(self, group: StreamGroup) -> None:
        key = (group.hub, frozenset(group.topics), group.framing)
        if self._groups.get(key) is group:
            del self._groups[key]

    def __len__(self) -> int:
        return len(self._groups)

    def stats(self) -> dict[str, object]:
        groups = list(self._groups.values())
        return {
            "groups": len(groups),
            "members": sum(len(g.members) for g in groups),
            "joins": self.joins,
            "leaves": self.leaves,
        }
