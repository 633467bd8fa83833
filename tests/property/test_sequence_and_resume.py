"""Property tests through the real stream state (``Stream``, both framings) and hub.

(a) On every connection, market-event seqs strictly increase and ids never go backwards,
    whatever the publish pattern, topics, conflation and queue bounds.
(b) Reconnect determinism: a client that disconnects at arbitrary points and resumes with
    its last id receives exactly the event sequence of a client that never disconnected,
    as long as history covers the gap; otherwise it gets an explicit `reset` (too-old),
    exactly when history no longer covers it.
"""

from __future__ import annotations

from typing import Any

from hypo import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import Frame, parse_frames

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientRegistry, ClientSession
from spotlight.clients.stream import Stream, stream_chunks
from spotlight.hub import Epoch, History, Hub
from spotlight.metrics import Metrics
from spotlight.protocol.framing import SSE
from spotlight.protocol.resume import EventId, parse_event_id
from spotlight.runtime.tree import ActorNode

TOPICS = ("a", "b", "c")
MARKET = {"tick", "bar:update"}


class Env:
    def __init__(self, history: int) -> None:
        self.hub = Hub(Epoch("ee", 0), History(history, 1e9), clock=lambda: 0.0)
        self.registry = ClientRegistry(ActorNode("clients", "registry"))
        self.metrics = Metrics()

    def connect(
        self,
        topics: tuple[str, ...],
        resume: EventId | None = None,
        max_bytes: int = 1 << 20,
        sessions: list[ClientSession] | None = None,
    ) -> Any:
        s = self.registry.open("sse", "p", (), ClientInbox(max_bytes, 1e9))
        if sessions is not None:
            sessions.append(s)
        stream = Stream(self.hub, s, self.registry, self.metrics, SSE, retry_ms=0)
        stream.subscribe(topics, resume, lambda: {})
        return stream_chunks(stream)

    def publish(self, topic_i: int, conflate: bool) -> None:
        topic = TOPICS[topic_i]
        if conflate:
            self.hub.publish("bar:update", topic, {"k": topic}, conflate_key=topic)
        else:
            self.hub.publish("tick", topic, {"s": self.hub.last_seq})


async def read(gen: Any) -> list[Frame]:
    frames, rest = parse_frames(await gen.__anext__())
    assert rest == b""
    return frames


client_spec = st.tuples(
    st.sets(st.integers(0, 2), min_size=1).map(lambda s: tuple(TOPICS[i] for i in sorted(s))),
    st.sampled_from([600, 2_000, 1 << 20]),  # queue bounds: some clients will be cut off
)
op = st.one_of(
    st.tuples(st.just("pub"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("drain"), st.integers(0, 3)),
)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clients=st.lists(client_spec, min_size=1, max_size=4), ops=st.lists(op, max_size=120))
async def test_a_seq_strictly_increases_on_every_connection(
    clients: list[tuple[tuple[str, ...], int]], ops: list[tuple[Any, ...]]
) -> None:
    env = Env(history=10_000)
    sessions: list[ClientSession] = []
    gens = [env.connect(topics, max_bytes=mb, sessions=sessions) for topics, mb in clients]
    seen: list[list[Frame]] = [await read(g) for g in gens]
    ended = [False] * len(gens)
    for o in ops:
        if o[0] == "pub":
            env.publish(o[1], o[2])
            continue
        i = o[1] % len(gens)
        session = sessions[i]
        if ended[i]:
            continue
        if session.inbox.pending_events == 0 and session.inbox.closed_reason is None:
            continue  # nothing to write: the writer would block until a heartbeat poke
        frames = await read(gens[i])
        seen[i] += frames
        if frames and frames[-1].event == "slow":
            ended[i] = True
    for g in gens:
        await g.aclose()
    for frames in seen:
        ids = [parse_event_id(f.id).seq for f in frames if f.id is not None]
        assert ids == sorted(ids), "ids went backwards"
        market = [f.seq for f in frames if f.event in MARKET]
        assert market == sorted(set(market)), "market seqs not strictly increasing"


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topics=st.sets(st.integers(0, 2), min_size=1).map(
        lambda s: tuple(TOPICS[i] for i in sorted(s))
    ),
    history=st.sampled_from([8, 30, 10_000]),
    script=st.lists(
        st.one_of(st.tuples(st.just("pub"), st.integers(0, 2)), st.just(("cut",))), max_size=80
    ),
)
async def test_b_reconnect_resumes_exactly_or_resets_explicitly(
    topics: tuple[str, ...], history: int, script: list[tuple[Any, ...]]
) -> None:
    env = Env(history)
    ref = env.connect(topics)
    await read(ref)
    ref_events: list[Frame] = []
    client = env.connect(topics)
    await read(client)
    got: list[Frame] = []
    connected, last_id = True, None
    reset_seen = False

    async def reconnect() -> None:
        nonlocal client, connected, last_id, reset_seen, got
        want = parse_event_id(last_id) if last_id else EventId("ee", 0)
        covered = env.hub.history.covers(want.seq, env.hub.last_seq)
        client = env.connect(topics, want)
        frames = await read(client)
        connected = True
        kinds = [f.event for f in frames]
        if covered:
            assert "reset" not in kinds
            got += [f for f in frames if f.event in MARKET]
            last_id = got[-1].id if got else last_id
        else:
            assert kinds[:3] == ["retry", "reset", "snapshot"]
            assert frames[1].json()["reason"] == "too-old"
            reset_seen = True

    for step in script:
        if reset_seen:
            break
        if step[0] == "pub":
            # Ticks only: nothing conflates, so "exactly the same sequence" is well defined.
            env.publish(step[1], conflate=False)
            if TOPICS[step[1]] in topics:
                ref_events += await read(ref)
                if connected:
                    got += await read(client)
                    last_id = got[-1].id if got else last_id
        elif connected:
            await client.aclose()
            connected = False
        else:
            await reconnect()
    if not connected and not reset_seen:
        await reconnect()
    if connected:
        await client.aclose()
    await ref.aclose()
    if not reset_seen:
        assert [(f.seq, f.data) for f in got] == [(f.seq, f.data) for f in ref_events]
