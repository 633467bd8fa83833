"""Shared chunks (clients/stream_group.py) on real sockets, through the real flusher.

Each client is a socketpair: the server end is written by ``stream_to_socket`` (the raw-socket
SSE path the server uses), the test reads the other end without blocking. Membership must
never change what a client receives: these tests check exact sequences across joins, leaves
(partial writes, closes, heartbeats) and rejoins.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing
from hypo import examples
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from support import Frame, parse_frames

from spotlight.clients.flusher import Flusher
from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientRegistry, ClientSession
from spotlight.clients.socket_stream import stream_to_socket
from spotlight.clients.stream import Stream
from spotlight.hub import Epoch, History, Hub
from spotlight.metrics import Metrics
from spotlight.protocol.framing import SSE
from spotlight.protocol.resume import EventId, parse_event_id
from spotlight.runtime.boundary import contain
from spotlight.runtime.tree import ActorNode

TOPICS = ("a", "b", "c")
MARKET = {"tick", "bar:update"}


class Client:
    def __init__(self, sock: socket.socket, session: ClientSession) -> None:
        self.sock = sock
        self.session = session
        self.buf = b""
        self.frames: list[Frame] = []
        self.eof = False

    def read(self) -> list[Frame]:
        """Whatever has arrived, as frames (never blocks)."""
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                break
            if not data:
                self.eof = True
                break
            self.buf += data
        frames, self.buf = parse_frames(self.buf)
        self.frames += frames
        return frames

    @property
    def grouped(self) -> bool:
        return self.session.inbox.group is not None

    def market(self) -> list[tuple[int, str, str]]:
        return [(f.seq, f.event, f.data) for f in self.frames if f.event in MARKET]


class Rig:
    def __init__(self, nursery: trio.Nursery, *, history: int = 10_000) -> None:
        self.nursery = nursery
        self.hub = Hub(Epoch("ee", 0), History(history, 1e9), trio.current_time)
        self.registry = ClientRegistry(ActorNode("clients", "registry"))
        self.metrics = Metrics()

    async def start(self) -> None:
        flusher = Flusher()
        await self.nursery.start(flusher.run, ActorNode("flusher", "flusher"))
        self.registry.flusher = flusher

    async def connect(
        self,
        topics: tuple[str, ...],
        *,
        resume: EventId | None = None,
        sndbuf: int | None = None,
        max_bytes: int = 1 << 22,
    ) -> Client:
        server, client = socket.socketpair()
        for s in (server, client):
            s.setblocking(False)
        if sndbuf is not None:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        session = self.registry.open("sse", "test", (), ClientInbox(max_bytes, 1e9))
        stream = Stream(self.hub, session, self.registry, self.metrics, SSE, retry_ms=1000)

        async def serve() -> None:
            try:
                # As the server's router does: the peer going away ends this connection
                # only; anything else (a bug) still fails the test.
                with contain(lambda: ("sse", "test"), _peer_gone_only):
                    stream.subscribe(topics, resume, lambda: {"snap": True})
                    await stream_to_socket(server, stream, b"")
            finally:
                trio.lowlevel.notify_closing(server)
                server.close()

        self.nursery.start_soon(serve)
        await settle()
        c = Client(client, session)
        c.read()
        return c

    def tick(self, topic: str, n: int = 1, size: int = 20) -> None:
        for _ in range(n):
            self.hub.publish("tick", topic, {"s": self.hub.last_seq, "pad": "x" * size})

    def bar(self, topic: str) -> None:
        self.hub.publish(
            "bar:update", topic, {"k": topic, "s": self.hub.last_seq}, conflate_key=topic
        )

    def published(self, topics: tuple[str, ...], after: int = 0) -> list[tuple[int, str, str]]:
        return [
            (e.seq, e.type, e.data.decode())
            for e in self.hub.history.since(after, topics)
            if e.type == "tick"
        ]


async def settle() -> None:
    """Let the flusher and every connection task run until all of them wait."""
    await trio.testing.wait_all_tasks_blocked()


@asynccontextmanager
async def rig(**kw: Any) -> AsyncIterator[Rig]:
    async with trio.open_nursery() as nursery:
        r = Rig(nursery, **kw)
        await r.start()
        yield r
        nursery.cancel_scope.cancel()


def ticks(c: Client) -> list[tuple[int, str, str]]:
    return [m for m in c.market() if m[1] == "tick"]


async def test_clients_in_step_share_one_subscription_and_identical_bytes() -> None:
    async with rig() as r:
        same = [await r.connect(("a", "b")) for _ in range(3)]
        other = await r.connect(("c",))
        r.tick("a", 3)
        r.tick("c", 2)
        await settle()  # written one by one; each joins its group once caught up
        assert all(c.grouped for c in [*same, other])
        assert r.hub.subscriber_count == 2  # one per group, none per client
        assert r.registry.groups.stats() == {"groups": 2, "members": 4, "joins": 4, "leaves": 0}
        for _ in range(5):
            r.tick("a", 2)
            r.tick("b", 1)
            r.tick("c", 1)
            await settle()
        streams = []
        for c in same:
            c.read()
            streams.append(c.frames)
        other.read()
        assert streams[0] == streams[1] == streams[2]
        assert ticks(same[0]) == r.published(("a", "b"))
        assert ticks(other) == r.published(("c",))
        # Accounting is per client, as on the individual path.
        assert same[0].session.delivered == len(r.published(("a", "b")))
        assert same[0].session.last_seq == r.published(("a", "b"))[-1][0]
        assert r.metrics.writes["sse"].delivered == 3 * 18 + 7


async def test_the_order_topics_were_named_in_does_not_split_a_group() -> None:
    async with rig() as r:
        ab = await r.connect(("a", "b"))
        ba = await r.connect(("b", "a"))
        r.tick("a")
        r.tick("b")
        await settle()
        assert ab.grouped and ba.grouped and len(r.registry.groups) == 1
        r.tick("b")
        r.tick("a")
        await settle()
        ab.read()
        ba.read()
        assert ticks(ab) == ticks(ba) == r.published(("a", "b"))


async def test_a_client_that_stops_reading_leaves_then_catches_up_exactly_and_rejoins() -> None:
    async with rig() as r:
        fast = await r.connect(("a",))
        slow = await r.connect(("a",), sndbuf=4096)
        r.tick("a")
        await settle()
        assert fast.grouped and slow.grouped
        bursts = 0
        while slow.grouped:  # slow never reads: its buffer fills, a write is partial
            r.tick("a", 5, size=300)
            await settle()
            fast.read()
            bursts += 1
            assert bursts < 200
        assert r.registry.groups.leaves == 1 and fast.grouped
        assert r.hub.subscriber_count == 2  # the group, and the slow client on its own
        for _ in range(5):  # it stays on its own, queueing, while it does not read
            r.tick("a", 5, size=300)
            await settle()
            assert not slow.grouped
        while not slow.eof:  # it reads again: the task writes the rest, then the flusher
            before = len(slow.frames)
            slow.read()
            await settle()
            if len(slow.frames) == before and not slow.session.inbox.pending_events:
                break
        r.tick("a")  # one more burst, written directly; caught up, it rejoins
        await settle()
        assert slow.grouped and r.hub.subscriber_count == 1
        r.tick("a", 2)
        await settle()
        fast.read()
        slow.read()
        assert ticks(slow) == ticks(fast) == r.published(("a",))


async def test_a_client_subscribed_before_its_group_still_joins_it() -> None:
    # The hub offers (and the flusher visits) subscribers in subscription order: a client
    # subscribed before the group existed is flushed before the group in every pass, so its
    # join writes the group's pending burst first, putting both at one position.
    async with rig() as r:
        early = await r.connect(("a",), sndbuf=4096)  # subscribed first
        other = await r.connect(("a",))
        r.tick("a", 30, size=300)  # too much for early's buffer: its write is partial
        await settle()
        assert other.grouped and not early.grouped  # the group was created after early
        while True:
            before = len(early.frames)
            early.read()
            await settle()
            if len(early.frames) == before:
                break
        r.tick("a", 2)
        await settle()
        assert early.grouped and r.hub.subscriber_count == 1
        for _ in range(3):
            r.tick("a", 2)
            await settle()
        early.read()
        other.read()
        assert ticks(early) == ticks(other) == r.published(("a",))


async def test_a_members_heartbeat_follows_the_burst_and_carries_the_hub_position() -> None:
    async with rig() as r:
        c = await r.connect(("a",))
        r.tick("a")
        await settle()
        assert c.grouped
        c.read()
        r.tick("a", 2)
        r.tick("b", 1)  # not subscribed: still moves the resume position
        r.registry.poke_all()
        await settle()
        frames = c.read()
        assert [f.event for f in frames] == ["tick", "tick", "heartbeat"]
        assert frames[2].seq == r.hub.last_seq
        assert frames[2].json()["queuedEvents"] == 0 and c.grouped
        r.registry.poke_all()  # a heartbeat with nothing else to write
        await settle()
        assert [f.event for f in c.read()] == ["heartbeat"]


async def test_shutdown_delivers_what_the_group_holds_then_closes() -> None:
    async with rig() as r:
        cs = [await r.connect(("a",)) for _ in range(2)]
        r.tick("a")
        await settle()
        assert all(c.grouped for c in cs)
        r.tick("a", 3)  # pending in the group when the close comes
        r.registry.close_all("shutdown")
        await settle()
        for c in cs:
            c.read()
            events = [f.event for f in c.frames]
            assert events[-4:] == ["tick", "tick", "tick", "shutdown"]
            assert c.frames[-1].seq == r.hub.last_seq
            assert c.eof
        assert len(r.registry.groups) == 0 and r.hub.subscriber_count == 0


async def test_closing_the_group_closes_every_member_after_its_events() -> None:
    # What a replay's end does: it closes every subscriber of its hub, the group included.
    async with rig() as r:
        cs = [await r.connect(("a",)) for _ in range(2)]
        r.tick("a")
        await settle()
        r.hub.publish("replay:end", "a", {"id": "x"})
        for sub in r.hub.subscribers():
            sub.close("replay-ended")  # type: ignore[attr-defined]
        await settle()
        for c in cs:
            c.read()
            assert [f.event for f in c.frames[-2:]] == ["replay:end", "end"]
            assert c.frames[-1].json()["reason"] == "replay-ended"
        assert len(r.registry.groups) == 0


async def test_an_overflowing_group_cuts_every_member_off_as_slow() -> None:
    # The group's queue only fills when the flusher cannot run; then every member is too slow.
    async with rig() as r:
        cs = [await r.connect(("a",), max_bytes=3000) for _ in range(2)]
        r.tick("a")
        await settle()
        assert all(c.grouped for c in cs)
        r.tick("a", 20, size=200)  # no checkpoint: > 3000 bytes pending in the group
        await settle()
        for c in cs:
            c.read()
            assert c.frames[-1].event == "slow"
            assert c.frames[-1].json()["dropped"] > 0
            assert c.session.inbox.dropped == c.frames[-1].json()["dropped"]
        assert len(r.registry.groups) == 0
        assert r.metrics.sse_dropped.labels("slow-bytes")._value.get() == sum(
            c.session.inbox.dropped for c in cs
        )


op = st.one_of(
    # A burst: n events on one topic, ticks of a given size or conflating bar updates.
    st.tuples(
        st.just("pub"),
        st.integers(0, 2),
        st.booleans(),
        st.sampled_from([10, 400]),
        st.integers(1, 12),
    ),
    st.just(("settle",)),
    st.tuples(st.just("read"), st.integers(0, 2)),
    st.tuples(st.just("stall"), st.integers(0, 2)),
    st.just(("poke",)),
    st.tuples(st.just("cut"), st.integers(0, 2)),
)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topics=st.lists(
        st.sets(st.integers(0, 2), min_size=1).map(lambda s: tuple(TOPICS[i] for i in sorted(s))),
        min_size=3,
        max_size=3,
    ),
    ops=st.lists(op, min_size=10, max_size=60),
)
async def test_grouping_never_changes_what_a_client_receives(
    topics: list[tuple[str, ...]], ops: list[tuple[Any, ...]]
) -> None:
    """Whatever the interleaving of bursts, reads, stalls, heartbeats and reconnects (with
    Last-Event-ID, within history): every client receives every tick of its topics exactly
    once and in order, seqs and ids never go backwards, and the newest bar of each key is
    delivered."""
    async with rig() as r:
        clients = [await r.connect(t, sndbuf=4096) for t in topics]
        received = [list(c.frames) for c in clients]  # across reconnects
        reading = [True, True, True]

        def collect(i: int) -> None:
            received[i] += clients[i].read()

        for o in ops:
            if o[0] == "pub":
                _, t, conflate, size, n = o
                for _ in range(n):
                    if conflate:
                        r.bar(TOPICS[t])
                    else:
                        r.tick(TOPICS[t], size=size)
            elif o[0] == "settle":
                await settle()
                for i in range(3):
                    if reading[i]:
                        collect(i)
            elif o[0] == "read":
                collect(o[1])
            elif o[0] == "stall":
                reading[o[1]] = not reading[o[1]]
            elif o[0] == "poke":
                r.registry.poke_all()
            else:  # cut: drop the connection, reconnect from the last id received
                i = o[1]
                collect(i)
                clients[i].sock.close()
                await settle()
                ids = [f.id for f in received[i] if f.id is not None]
                resume = parse_event_id(ids[-1]) if ids else None
                clients[i] = await r.connect(topics[i], resume=resume, sndbuf=4096)
                received[i] += clients[i].frames
        r.tick("a")
        r.tick("b")
        r.tick("c")
        quiet = 0
        while quiet < 2:  # everyone reads until nothing more comes
            await settle()
            before = sum(len(x) for x in received)
            for i in range(3):
                collect(i)
            quiet = quiet + 1 if sum(len(x) for x in received) == before else 0
        # Steer the search towards runs where members fall out of their group and rejoin.
        target(float(r.registry.groups.leaves), label="leaves")
        for i, frames in enumerate(received):
            assert not any(f.event in ("reset", "slow") for f in frames)
            ids = [parse_event_id(f.id).seq for f in frames if f.id is not None]
            assert ids == sorted(ids), "ids went backwards"
            market = [f.seq for f in frames if f.event in MARKET]
            assert market == sorted(set(market)), "market seqs not strictly increasing"
            got = [(f.seq, f.event, f.data) for f in frames if f.event == "tick"]
            assert got == r.published(topics[i])
            for key in topics[i]:
                bars = [e.seq for e in r.hub.history.since(0, TOPICS) if e.conflate_key == key]
                if bars:
                    mine = [
                        f.seq for f in frames if f.event == "bar:update" and f.json()["k"] == key
                    ]
                    assert mine and mine[-1] == bars[-1], "the newest bar was lost"


def _peer_gone_only(endpoint: str, kind: str, peer: str, errors: list[BaseException]) -> None:
    assert kind != "error", errors
