"""One client's stream, whatever carries it: what to write next, as synchronous steps.

``Stream`` holds one stream's protocol state and does no I/O (websockets' sans-I/O manner:
feed it inputs, take ``next_chunk()``), so every way of writing shares it: SSE on a raw
socket, the SSE ASGI fallback, and WebSocket on a raw socket; the connection's own writer
task, the flusher's direct writes (``clients/flusher.py``) and shared chunks
(``clients/stream_group.py``). The transport only picks the ``Framing``
(``protocol/framing.py``): the messages and their fields are the same on every transport.

Inputs:
- ``subscribe(topics, resume, snapshot)`` is synchronous: decide between replay and reset,
  queue the prelude and subscribe to the hub with no ``await`` in between, so nothing
  published meanwhile can be missed or duplicated. An SSE stream subscribes once; a
  WebSocket once per ``subscribe`` command (subscriptions add up).
- ``send_control(type, payload)``: a per-connection message (a command's reply); ``send_raw``:
  transport bytes (a WebSocket pong); ``send_droppable``: transport bytes that may be dropped
  when the stream's unwritten bytes would exceed ``droppable_budget`` (a voice answer's audio:
  late audio is worth less than a connection that keeps up); ``close(reason)``: end with a
  reason from ``protocol/close.py``.
- The hub offers events to the session's inbox; the heartbeat ticker pokes it.

Outputs:
- ``next_chunk()`` takes *everything* there is (the queued prelude and replies, every
  pending event, then the closing message or a heartbeat) as one chunk: one write per batch
  is the measured lever (~40-50 us per write on hypercorn's path; ~5 us on a raw socket).
- ``wrote()`` once a chunk is fully on the socket (metrics, resume position); ``finish()``
  unsubscribes and unregisters, exactly once, however the stream ended.

Positions: every message carries the position the client has fully caught up to (SSE
``id:``, WebSocket ``seq``/``id``), and positions never decrease on one connection. Replies are
framed when the chunk is built, at the position reached by what precedes them in it.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import AsyncGenerator, Callable, Sequence

from spotlight.clients.session import ClientRegistry, ClientSession
from spotlight.clients.stream_queue import OutQueue
from spotlight.hub.hub import Hub
from spotlight.metrics import Metrics, WriteStats
from spotlight.protocol.close import CloseReason, close_reason
from spotlight.protocol.framing import Framing
from spotlight.protocol.resume import EventId, Reset, decide
from spotlight.protocol.snapshot import snapshot_pieces

__all__ = ["CHUNK_BYTES", "MAX_QUEUED_OUT_FACTOR", "Stream", "stream_chunks"]

# The prelude and replies a stream holds outside its inbox (replays, snapshots, command
# replies) are bounded too: past this many times the inbox's byte bound the client is cut
# off as slow. A replay from a full history is ~7 MB, so the bound must sit well above one
# inbox; a client that keeps asking while never reading still cannot grow it without end.
MAX_QUEUED_OUT_FACTOR = 16
# A prelude larger than this is written in chunks of about this size (next_chunk).
CHUNK_BYTES = 64 * 1024
# While a prelude is written, the queue behind it does not age for up to its size at this
# rate (a slow mobile link), plus the age bound, and never more than MAX_PRELUDE_HOLD_S.
MIN_PRELUDE_RATE = 2048.0  # bytes per second
MAX_PRELUDE_HOLD_S = 120.0


class Stream:
    __slots__ = (
        "_chunk_events",
        "_chunk_oldest",
        "_conflated",
        "_finished",
        "_inflight",
        "_queue",
        "_reported_conflated",
        "_started",
        "_stats",
        "closed",
        "done",
        "droppable_budget",
        "dropped_out_bytes",
        "epoch",
        "framing",
        "hub",
        "metrics",
        "on_heartbeat",
        "out",
        "registry",
        "retry_ms",
        "session",
    )

    def __init__(
        self,
        hub: Hub,
        session: ClientSession,
        registry: ClientRegistry,
        metrics: Metrics,
        framing: Framing,
        retry_ms: int,
    ) -> None:
        self.hub = hub
        self.session = session
        self.registry = registry
        self.metrics = metrics
        self.framing = framing
        self.retry_ms = retry_ms
        self.done = False  # the closing message has been produced: nothing follows it
        self.closed: CloseReason | None = None  # why, once done
        self.out = b""  # part of a chunk a direct write could not finish (the task writes it)
        # Called when a heartbeat is due, before the chunk is built: returns transport bytes
        # to write right after the heartbeat message (a WebSocket's ping), or b"", and may
        # close the inbox instead (a WebSocket whose peer went silent). Returned rather than
        # queued, so a shared-chunk member pings without leaving its group.
        self.on_heartbeat: Callable[[], bytes] | None = None
        # The epoch this stream's positions belong to. The hub's can change under a live
        # stream (the Redis backend adopting a new epoch closes it): its closing message must
        # still carry an id of its own epoch, never the new epoch with an old seq.
        self.epoch = hub.epoch.id
        self._queue = OutQueue()  # what it holds outside its inbox (clients/stream_queue.py)
        self._started = False
        self._stats = metrics.writes[framing.name]
        self._conflated = metrics.dropped[framing.name].labels("conflated")
        self._reported_conflated = 0
        self._chunk_events = 0  # events in the chunk being written
        self._chunk_oldest = 0.0  # publish time of its oldest event
        self._finished = False
        self._inflight = 0  # bytes of the chunk handed to the transport and not yet written
        # send_droppable: what the stream may hold unwritten (queued + in flight) and still
        # take droppable bytes; 0 (the default) drops them all. Set by the endpoint.
        self.droppable_budget = 0
        self.dropped_out_bytes = 0  # droppable bytes refused so far
        metrics.connections[framing.name].inc()

    @property
    def queued(self) -> bool:
        """Something of this stream's own (a prelude, a reply, transport bytes) is unwritten."""
        return bool(self._queue)

    # -- inputs ---------------------------------------------------------------------------
    def subscribe(
        self,
        topics: Sequence[str],
        resume: EventId | None,
        snapshot: Callable[[], object],
    ) -> None:
        """Add ``topics`` (replayed from ``resume``, or a snapshot); synchronous, no ``await``.

        The reply goes after everything already pending for this stream, merged in sequence
        order with the replay, so positions keep increasing on the connection.
        """
        hub, session, inbox = self.hub, self.session, self.session.inbox
        if inbox.group is not None:
            inbox.group.leave_now(inbox, resubscribe=False)
        if not self._started:
            self._started = True
            self.epoch = hub.epoch.id
            prelude = self.framing.prelude(self.retry_ms)
            if prelude:
                self._queue.raw(prelude)
        new = tuple(t for t in topics if t not in session.topics)
        pending = inbox.drain()
        decision = (
            None
            if resume is None
            else decide(resume, hub.epoch.id, hub.last_seq, hub.history, new or tuple(topics))
        )
        if decision is None or isinstance(decision, Reset):
            self._queue.events(pending)
            if decision is not None and resume is not None:
                self._put_control(
                    "reset",
                    {
                        "reason": decision.reason,
                        "epoch": hub.epoch.to_json(),
                        "lastSeq": hub.last_seq,
                        "requested": resume.text,
                    },
                )
            for piece in snapshot_pieces(snapshot()):
                self._put_control("snapshot", piece)
        else:
            replay = decision.events
            if pending:
                merged = heapq.merge(
                    ((e.seq, 0, e) for e in pending),
                    ((e.seq, 1, e) for e in replay),  # 1: replayed
                )
                last = -1
                for seq, kind, e in merged:
                    if seq != last:  # re-subscribing a topic: pending and replayed overlap
                        self._queue.events((e,), replayed=kind == 1)
                    last = seq
            else:
                self._queue.events(replay, replayed=True)
            session.delivered += len(replay)  # replayed: counted here, not as write latency
        session.last_seq = hub.last_seq
        if session.topics:
            hub.unsubscribe(inbox)
        session.topics = (*session.topics, *new)
        hub.subscribe(inbox, session.topics)
        self._check_bound()
        self._hold_age()
        inbox.nudge()

    def unsubscribe(self, topics: Sequence[str]) -> tuple[str, ...]:
        """Stop receiving ``topics``; returns what remains. Events already queued still go."""
        session, inbox = self.session, self.session.inbox
        if inbox.group is not None:
            inbox.group.leave_now(inbox, resubscribe=False)
        drop = set(topics)
        session.topics = tuple(t for t in session.topics if t not in drop)
        self.hub.unsubscribe(inbox)
        if session.topics:
            self.hub.subscribe(inbox, session.topics)
        return session.topics

    def send_control(self, type: str, payload: object) -> None:
        """A per-connection reply, after what is already queued for this client."""
        self._leave_group()
        self._queue.reply(type, payload)
        self._check_bound()
        self.session.inbox.nudge()

    def send_raw(self, data: bytes) -> None:
        """Transport bytes (a WebSocket pong or ping), written with the next chunk."""
        self._leave_group()
        self._queue.raw(data)
        self._check_bound()
        self.session.inbox.nudge()

    def send_droppable(self, data: bytes) -> bool:
        """Transport bytes that may be dropped (a voice endpoint's audio frames): queued like
        ``send_raw`` while everything this stream holds unwritten (its queue, its inbox and the
        chunk in flight) plus ``data`` stays within ``droppable_budget``; otherwise dropped,
        counted in ``dropped_out_bytes``, and False is returned (the caller tells its client).
        Nothing else is ever dropped this way: replies and events keep their own bounds."""
        if self.done or self.unwritten_bytes + len(data) > self.droppable_budget:
            self.dropped_out_bytes += len(data)
            return False
        self.send_raw(data)
        return True

    @property
    def unwritten_bytes(self) -> int:
        """What the server holds for this client and has not written yet (about: a queued
        reply counts 64 bytes until it is framed)."""
        return self._queue.bytes + self.session.inbox.pending_bytes + self._inflight

    def close(self, reason: str) -> None:
        """End the stream with ``reason`` (a name in protocol/close.py); idempotent."""
        close_reason(reason)  # unknown names are a bug: fail here, not at the write
        self.session.inbox.close(reason)

    # -- outputs --------------------------------------------------------------------------
    def next_chunk(self) -> bytes | None:
        """Everything there is to write now, as one chunk; None when there is nothing.

        A prelude larger than ``CHUNK_BYTES`` (a replay, a snapshot in pieces) goes first, in
        chunks of about that size ending on message boundaries; the inbox's events follow it.
        A close while some of it is still queued drops the rest and writes the closing
        message right after the chunk in flight: the client is told (``slow``, ``shutdown``)
        at a message boundary instead of being cut mid-message."""
        if self.done:
            return None
        session, inbox = self.session, self.session.inbox
        if self._queue.bytes > CHUNK_BYTES:
            if inbox.closed_reason is None:
                return self._prelude_chunk()
            inbox.dropped += self._queue.clear()
        after_heartbeat = b""
        if inbox.heartbeat_due and self.on_heartbeat is not None:
            after_heartbeat = self.on_heartbeat()  # a ping, or b"" (may close the inbox)
        parts: list[bytes] = []
        events = 0
        oldest = 0.0
        if self._queue:
            parts, events, oldest, position = self._queue.take(
                session.last_seq, self.framing.event, self._control
            )
            session.last_seq = position
        pending = inbox.drain()
        if pending:
            event_bytes = self.framing.event
            parts += [event_bytes(e) for e in pending]
            session.last_seq = max(session.last_seq, pending[-1].seq)
            if not events:
                oldest = pending[0].published
            events += len(pending)
        self._chunk_events = events
        self._chunk_oldest = oldest
        reason = inbox.closed_reason
        if reason is not None:
            cr = close_reason(reason)
            if not pending and reason == "shutdown":
                session.last_seq = self.hub.last_seq
            if cr.announce:
                parts.append(
                    self._control(
                        cr.sse_event,
                        {
                            "reason": reason,
                            "reconnect": cr.reconnect,
                            "retryMs": self.retry_ms,
                            "dropped": inbox.dropped,
                            "detail": cr.description,
                        },
                        session.last_seq,
                    )
                )
            parts.append(self.framing.closing(cr))
            session.close_reason = reason
            self.closed = cr
            self.done = True
        elif inbox.heartbeat_due:
            # The queue was just drained in this same step: everything published so far that
            # this client subscribes to is in this chunk or was written before it.
            parts.append(self._heartbeat_frame())
            if after_heartbeat:
                parts.append(after_heartbeat)
        data = b"".join(parts)
        self._inflight = len(data)
        return data if data else None

    def shared_chunk(self, chunk: bytes, events: int, oldest: float, last_seq: int) -> bytes | None:
        """This client's copy of a group's burst (clients/stream_group.py): the shared bytes,
        plus its heartbeat when one is due. The group has just drained its queue, so as in
        ``next_chunk`` everything published so far is in the chunk or was written before.

        None: this client has something of its own to write first (a reply, transport
        bytes, a close, or its heartbeat found the peer silent); the caller hands the chunk
        to the client's task instead. A WebSocket's heartbeat ping is not of that kind: it
        goes right after the heartbeat in this copy, and the client stays in its group.
        """
        self._chunk_events = events
        if events:
            self._chunk_oldest = oldest
            self.session.last_seq = last_seq
        inbox = self.session.inbox
        if self._queue or inbox.closed_reason is not None:
            return None
        if inbox.heartbeat_due:
            after_heartbeat = b"" if self.on_heartbeat is None else self.on_heartbeat()
            if inbox.closed_reason is not None:  # the heartbeat found the peer silent
                return None
            chunk += self._heartbeat_frame() + after_heartbeat
        self._inflight = len(chunk)
        return chunk

    # -- the shared-chunk fast path (clients/stream_group.py, clients/socket_stream.py) --
    @property
    def write_stats(self) -> WriteStats:
        return self._stats

    def shared_ready(self) -> bool:
        """Nothing of its own to add to a group's burst: the burst's bytes go as they are."""
        inbox = self.session.inbox
        return not (self._queue or inbox.heartbeat_due or inbox.closed_reason is not None)

    def wrote_shared(self, events: int, last_seq: int) -> None:
        """A group's burst is fully written: this client's own counters. The group records
        the write statistics once for the pass (``WriteStats.record_many``)."""
        session = self.session
        session.writes += 1
        if events:
            session.delivered += events
            if last_seq > session.last_seq:  # a heartbeat in this burst may be further on
                session.last_seq = last_seq

    def took_shared(self, events: int, oldest: float, last_seq: int) -> None:
        """A group's burst is this client's to finish on its own: ``wrote`` accounts for it."""
        self._chunk_events = events
        if events:
            self._chunk_oldest = oldest
            self.session.last_seq = last_seq

    def add_conflated(self, n: int) -> None:
        """Its group's queue superseded ``n`` events (already added to the inbox's count)."""
        self._conflated.inc(n)
        self._reported_conflated += n

    def wrote(self) -> None:
        """The last chunk from ``next_chunk`` (or ``shared_chunk``) is fully written."""
        session = self.session
        session.writes += 1
        self._inflight = 0
        if session.inbox.age_floor == math.inf and not self._queue:
            # The prelude is out: from now on the queue's age counts, from this moment.
            session.inbox.age_floor = self.registry.clock()
        n = self._chunk_events
        if n:
            session.delivered += n
            self._stats.record(n, self.registry.clock() - self._chunk_oldest)
            conflated = session.inbox.conflated
            if conflated != self._reported_conflated:
                self._conflated.inc(conflated - self._reported_conflated)
                self._reported_conflated = conflated

    def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        session, inbox, metrics = self.session, self.session.inbox, self.metrics
        name = self.framing.name
        self.hub.unsubscribe(inbox)
        inbox.detach()
        reason = session.close_reason or inbox.closed_reason or "client-closed"
        if reason.startswith("slow") and inbox.dropped:
            metrics.dropped[name].labels(reason).inc(inbox.dropped)
        metrics.disconnects.labels(name, reason).inc()
        metrics.connections[name].dec()
        self.registry.remove(session)

    # -- internals ------------------------------------------------------------------------
    def _prelude_chunk(self) -> bytes:
        """One chunk of a large prelude (``next_chunk``)."""
        session = self.session
        parts, events, oldest, position = self._queue.take(
            session.last_seq, self.framing.event, self._control, CHUNK_BYTES
        )
        session.last_seq = position
        self._chunk_events = events
        self._chunk_oldest = oldest
        data = b"".join(parts)
        self._inflight = len(data)
        return data

    def _hold_age(self) -> None:
        """A prelude was queued (a snapshot or a replay): while it is being written, events
        queued behind it do not age (a slow link would otherwise be cut off mid-snapshot),
        for as long as its size needs at ``MIN_PRELUDE_RATE`` (at most
        ``MAX_PRELUDE_HOLD_S``). The byte bound still applies throughout."""
        inbox = self.session.inbox
        prelude = self._queue.bytes
        if not prelude:
            return
        allowance = inbox.max_age_s + min(MAX_PRELUDE_HOLD_S, prelude / MIN_PRELUDE_RATE)
        inbox.hold_age(self.registry.clock() + allowance)

    def _leave_group(self) -> None:
        inbox = self.session.inbox
        if inbox.group is not None:
            inbox.group.leave_now(inbox, resubscribe=True)

    def _put_control(self, type: str, payload: object) -> None:
        self._queue.framed(self._control(type, payload, self.hub.last_seq), self.hub.last_seq)

    def _check_bound(self) -> None:
        inbox = self.session.inbox
        if self._queue.bytes > MAX_QUEUED_OUT_FACTOR * inbox.max_bytes:
            inbox.dropped += self._queue.clear()
            inbox.close("slow-bytes", dropped=True)

    def _control(self, type: str, payload: object, position: int) -> bytes:
        return self.framing.control(type, payload, self.epoch, position)

    def _heartbeat_frame(self) -> bytes:
        session = self.session
        session.inbox.heartbeat_due = False
        session.last_seq = self.hub.last_seq
        return self._control("heartbeat", _heartbeat(session), session.last_seq)


async def stream_chunks(stream: Stream) -> AsyncGenerator[bytes, None]:
    """The stream as an async generator of chunks, for transports that write asynchronously
    (the SSE ASGI fallback). Each ``yield`` returns once the chunk is written. The caller has
    subscribed the stream; the generator holds no nursery, starts no task and finishes the
    stream however it ends."""
    inbox = stream.session.inbox
    try:
        while not stream.done:
            chunk = stream.next_chunk()
            if chunk is not None:
                yield chunk
                stream.wrote()
            else:
                await inbox.wait()
    finally:
        stream.finish()


def _heartbeat(session: ClientSession) -> dict[str, object]:
    inbox = session.inbox
    return {
        "queuedEvents": inbox.pending_events,
        "queuedBytes": inbox.pending_bytes,
        "peakBytes": inbox.peak_bytes,
        "conflated": inbox.conflated,
        "dropped": inbox.dropped,
        "delivered": session.delivered,
    }
