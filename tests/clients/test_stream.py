"""The transport-free stream state, driven without an event loop (websockets' sans-I/O
manner): publish to a real hub, feed commands, assert exactly what ``next_chunk`` returns.

The same scenarios run in both framings: SSE and WebSocket carry the same messages with the
same fields and positions, only the envelope differs.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from support import parse_frames
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, TextMessage

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientRegistry
from spotlight.clients.stream import (
    CHUNK_BYTES,
    MAX_PRELUDE_HOLD_S,
    MAX_QUEUED_OUT_FACTOR,
    MIN_PRELUDE_RATE,
    Stream,
)
from spotlight.hub import Epoch, History, Hub
from spotlight.metrics import Metrics
from spotlight.protocol.close import close_reason
from spotlight.protocol.framing import SSE, WS, Framing
from spotlight.protocol.resume import EventId
from spotlight.protocol.ws_frames import pong_frame
from spotlight.runtime.tree import ActorNode

Msg = tuple[str, int, Any]  # (type, position, payload)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Rig:
    def __init__(self, framing: Framing, *, history: int = 1000, max_bytes: int = 1 << 20) -> None:
        self.clock = Clock()
        self.hub = Hub(Epoch("ee", 0), History(history, 1e9), self.clock)
        self.registry = ClientRegistry(ActorNode("clients", "registry"), clock=self.clock)
        self.metrics = Metrics()
        self.framing = framing
        self.max_bytes = max_bytes
        self.ws = Connection(ConnectionType.CLIENT)  # reads WS bytes as a real client would
        self.ws_closed: CloseConnection | None = None

    def stream(self) -> Stream:
        session = self.registry.open(
            self.framing.name, "test", (), ClientInbox(self.max_bytes, 1e9)
        )
        return Stream(self.hub, session, self.registry, self.metrics, self.framing, 1500)

    def tick(self, topic: str, value: object) -> int:
        event = self.hub.publish("tick", topic, value)
        assert event is not None  # the memory backend sequences at once
        return event.seq

    def read(self, chunk: bytes | None) -> list[Msg]:
        """The messages in a chunk, as (type, position, payload), whatever the framing."""
        assert chunk is not None
        if self.framing is SSE:
            frames, rest = parse_frames(chunk)
            assert rest == b""
            return [
                (
                    f.event,
                    -1 if f.id is None else f.seq,
                    f.retry if f.event == "retry" else f.json(),
                )
                for f in frames
            ]
        self.ws.receive_data(chunk)
        out: list[Msg] = []
        for event in self.ws.events():
            if isinstance(event, CloseConnection):
                self.ws_closed = event
                continue
            assert isinstance(event, TextMessage)
            body = orjson.loads(event.data)
            assert body["id"] == f"ee:{body['seq']}"
            out.append((body["type"], body["seq"], body["payload"]))
        return out

    def market(self, chunk: bytes | None) -> list[Msg]:
        return [m for m in self.read(chunk) if m[0] != "retry"]


@pytest.fixture(params=[SSE, WS], ids=["sse", "ws"])
def rig(request: pytest.FixtureRequest) -> Rig:
    framing: Framing = request.param
    return Rig(framing)


def test_fresh_subscribe_then_one_chunk_per_batch(rig: Rig) -> None:
    rig.tick("t", 0)
    s = rig.stream()
    s.subscribe(("t",), None, lambda: {"snap": rig.hub.last_seq})
    first = rig.read(s.next_chunk())
    if rig.framing is SSE:
        assert first[0] == ("retry", -1, 1500)  # the reconnect hint comes first on SSE only
        first = first[1:]
    assert first == [("snapshot", 1, {"snap": 1})]
    s.wrote()
    for i in range(3):
        rig.tick("t", i)
        rig.tick("other", i)
    assert rig.read(s.next_chunk()) == [("tick", 2, 0), ("tick", 4, 1), ("tick", 6, 2)]
    s.wrote()
    assert s.next_chunk() is None
    assert s.session.delivered == 3 and s.session.writes == 2
    assert rig.metrics.writes[rig.framing.name].delivered == 3


def test_resume_replays_or_resets_with_the_same_fields(rig: Rig) -> None:
    for i in range(5):
        rig.tick("t", i)
    s = rig.stream()
    s.subscribe(("t",), EventId("ee", 2), lambda: {})
    assert rig.market(s.next_chunk()) == [("tick", 3, 2), ("tick", 4, 3), ("tick", 5, 4)]
    other = rig.stream()
    other.subscribe(("t",), EventId("ff", 2), lambda: {"s": 1})
    reset, snapshot = rig.market(other.next_chunk())
    assert reset == (
        "reset",
        5,
        {
            "reason": "epoch-changed",
            "epoch": {"id": "ee", "startMs": 0},
            "lastSeq": 5,
            "requested": "ff:2",
        },
    )
    assert snapshot == ("snapshot", 5, {"s": 1})


def test_replies_are_placed_after_what_is_pending_and_positions_never_decrease(
    rig: Rig,
) -> None:
    s = rig.stream()
    s.subscribe(("t",), None, lambda: {})
    rig.read(s.next_chunk())
    s.wrote()
    rig.tick("t", "a")  # 1
    s.send_control("pong", {"id": 7})
    rig.tick("t", "b")  # 2
    out = rig.read(s.next_chunk())
    # The reply goes out before the pending events, at the position already written (0):
    # it claims nothing that has not reached the client, and nothing goes backwards.
    assert [(t, p) for t, p, _ in out] == [("pong", 0), ("tick", 1), ("tick", 2)]


def test_a_second_subscribe_merges_its_replay_with_what_is_pending(rig: Rig) -> None:
    s = rig.stream()
    s.subscribe(("a",), None, lambda: {})
    rig.read(s.next_chunk())
    s.wrote()
    start = rig.hub.last_seq
    rig.tick("b", "b1")  # 1
    rig.tick("a", "a1")  # 2, pending for this client
    rig.tick("b", "b2")  # 3
    s.subscribe(("b",), EventId("ee", start), lambda: {})
    rig.tick("a", "a2")  # 4
    rig.tick("b", "b3")  # 5
    out = rig.market(s.next_chunk())
    assert [(t, p, v) for t, p, v in out] == [
        ("tick", 1, "b1"),
        ("tick", 2, "a1"),
        ("tick", 3, "b2"),
        ("tick", 4, "a2"),
        ("tick", 5, "b3"),
    ]
    s.wrote()
    assert s.session.delivered == 5 and set(s.session.topics) == {"a", "b"}


def test_heartbeat_is_at_the_hub_position_with_the_same_fields(rig: Rig) -> None:
    s = rig.stream()
    s.subscribe(("t",), None, lambda: {})
    rig.read(s.next_chunk())
    rig.tick("elsewhere", 1)
    rig.tick("elsewhere", 2)
    s.session.inbox.poke()
    (hb,) = rig.read(s.next_chunk())
    assert hb == (
        "heartbeat",
        2,
        {
            "queuedEvents": 0,
            "queuedBytes": 0,
            "peakBytes": 0,
            "conflated": 0,
            "dropped": 0,
            "delivered": 0,
        },
    )


@pytest.mark.parametrize("reason", ["slow-bytes", "shutdown", "replay-ended"])
def test_close_carries_the_same_fields_and_the_websocket_code(rig: Rig, reason: str) -> None:
    s = rig.stream()
    s.subscribe(("t",), None, lambda: {})
    rig.read(s.next_chunk())
    rig.tick("t", 1)
    s.close(reason)
    out = rig.market(s.next_chunk())
    name = {"slow-bytes": "slow", "shutdown": "shutdown", "replay-ended": "end"}[reason]
    closing = out[-1]
    assert closing[0] == name and closing[2]["reason"] == reason
    assert set(closing[2]) == {"reason", "reconnect", "retryMs", "dropped", "detail"}
    assert closing[2]["retryMs"] == 1500 and closing[2]["detail"]
    assert s.done and s.closed is not None and s.closed.name == reason
    if rig.framing is WS:
        assert rig.ws_closed is not None and rig.ws_closed.code == s.closed.ws_code
    assert s.next_chunk() is None
    s.finish()
    assert len(rig.registry) == 0 and rig.hub.subscriber_count == 0


def test_a_peer_close_is_answered_with_a_close_frame_and_no_message() -> None:
    rig = Rig(WS)
    s = rig.stream()
    s.close("client-closed")
    assert rig.read(s.next_chunk()) == []
    assert rig.ws_closed is not None and rig.ws_closed.code == 1000
    with pytest.raises(ValueError, match="unknown close reason"):
        rig.stream().close("no-such-reason")


def test_raw_transport_bytes_go_out_with_the_next_chunk() -> None:
    rig = Rig(WS)
    s = rig.stream()
    s.send_raw(pong_frame(b"p"))
    chunk = s.next_chunk()
    assert chunk == pong_frame(b"p")


def test_what_a_stream_holds_outside_its_inbox_is_bounded_too() -> None:
    rig = Rig(WS, max_bytes=1000)
    s = rig.stream()
    s.subscribe(("t",), None, lambda: {})
    for i in range(MAX_QUEUED_OUT_FACTOR * 1000 // 64 + 2):  # a client that asks, never reads
        s.send_control("pong", {"id": i})
        if s.session.inbox.closed_reason is not None:
            break
    assert s.session.inbox.closed_reason == "slow-bytes"
    out = rig.market(s.next_chunk())
    assert [t for t, _, _ in out] == ["slow"]


def test_unsubscribe_keeps_what_was_already_queued(rig: Rig) -> None:
    s = rig.stream()
    s.subscribe(("a", "b"), None, lambda: {})
    rig.read(s.next_chunk())
    rig.tick("a", 1)
    assert s.unsubscribe(("a",)) == ("b",)
    rig.tick("a", 2)
    rig.tick("b", 3)
    assert [v for _, _, v in rig.market(s.next_chunk())] == [1, 3]


def test_droppable_bytes_respect_the_budget_and_nothing_else_is_dropped() -> None:
    rig = Rig(WS)
    s = rig.stream()
    assert s.send_droppable(b"a" * 10) is False  # no budget set: the default drops
    s.droppable_budget = 1000
    assert s.send_droppable(b"a" * 600) is True
    assert s.send_droppable(b"b" * 600) is False  # 1200 would be held unwritten
    assert s.dropped_out_bytes == 610
    s.send_control("notice", {"x": 1})  # replies are never dropped
    assert s.unwritten_bytes == 600 + 64
    chunk = s.next_chunk()
    assert chunk is not None and chunk.startswith(b"a" * 600)
    # Handed to the transport but not yet written: still counts against the budget.
    assert s.unwritten_bytes == len(chunk)
    assert s.send_droppable(b"c" * 600) is False
    s.wrote()
    assert s.unwritten_bytes == 0
    assert s.send_droppable(b"c" * 600) is True
    assert s.next_chunk() == b"c" * 600


def _big_snapshot(rig: Rig) -> dict[str, Any]:
    """A snapshot like a subscriber to every channel gets: small parts and two large
    analytics payloads (~110 and ~170 KB)."""
    return {
        "symbols": {"SPY": {"trade": {"p": 1.0}}},
        "status": {"state": "live"},
        "timeframe": "1m",
        "channels": {
            "regime:update": {"label": "calm"},
            "gex:SPX": {"profile": list(range(30_000))},
            "gex:SPY": {"profile": list(range(20_000))},
        },
    }


def test_a_large_snapshot_goes_in_parts_and_chunks_on_message_boundaries(rig: Rig) -> None:
    """Issue 21: a ~190 KB snapshot as one message could not reach a slow link. Now each
    large channel is a part of its own (smallest first), every part a complete message at the
    snapshot's position, and the prelude is written in chunks of about CHUNK_BYTES, each
    ending on a message boundary, before any live event."""
    rig.tick("t", 0)
    s = rig.stream()
    s.subscribe(("t",), None, lambda: _big_snapshot(rig))
    rig.tick("t", 1)  # published while the prelude waits: it must follow the prelude
    chunks = []
    while (chunk := s.next_chunk()) is not None:
        assert len(chunk) < CHUNK_BYTES + 180_000  # one part at most past the cut
        chunks.append(rig.market(chunk))  # parses: complete messages only
        s.wrote()
    messages = [m for c in chunks for m in c]
    parts = [m for m in messages if m[0] == "snapshot"]
    assert [(p[1], p[2]["part"], p[2]["parts"]) for p in parts] == [(1, 1, 3), (1, 2, 3), (1, 3, 3)]
    assert set(parts[0][2]["channels"]) == {"regime:update"}
    assert parts[0][2]["symbols"] == {"SPY": {"trade": {"p": 1.0}}}
    assert list(parts[1][2]["channels"]) == ["gex:SPY"]  # the smaller one first
    assert list(parts[2][2]["channels"]) == ["gex:SPX"]
    assert parts[2][2]["channels"]["gex:SPX"]["profile"][-1] == 29_999
    assert messages[-1] == ("tick", 2, 1) and len(chunks) >= 2


def test_a_small_snapshot_is_one_message_without_part_fields(rig: Rig) -> None:
    s = rig.stream()
    s.subscribe(("t",), None, lambda: {"channels": {"levels:update": {"x": 1}}})
    assert rig.market(s.next_chunk()) == [
        ("snapshot", 0, {"channels": {"levels:update": {"x": 1}}})
    ]


def test_events_do_not_age_while_the_prelude_is_written_within_its_allowance() -> None:
    """A slow link gets the time its snapshot needs (size / MIN_PRELUDE_RATE, plus the age
    bound) before the queue behind it starts to age; past that it is cut off as slow-age."""
    rig = Rig(SSE)
    session = rig.registry.open("sse", "test", (), ClientInbox(1 << 20, 5.0))
    s = Stream(rig.hub, session, rig.registry, rig.metrics, SSE, 1500)
    s.subscribe(("t",), None, lambda: _big_snapshot(rig))
    allowance = 5.0 + min(MAX_PRELUDE_HOLD_S, s.unwritten_bytes / MIN_PRELUDE_RATE)
    first = s.next_chunk()  # the first chunk goes out; the rest waits on the slow link
    assert first is not None
    for dt in (1.0, 6.0, allowance - 5):
        rig.clock.now = 100.0 + dt
        rig.tick("t", dt)
    assert session.inbox.closed_reason is None  # 30+ s of events queued: still fine
    s.wrote()
    while True:
        chunk = s.next_chunk()  # the last one takes the rest and every event pending
        assert chunk is not None
        if not s.queued:
            break
        s.wrote()
    rig.clock.now += 3.0
    rig.tick("t", "while the last chunk is in flight")
    s.wrote()  # the prelude is out: from now on the queue ages, counted from this moment
    assert session.inbox.age_floor == rig.clock.now
    rig.clock.now += 4.0
    rig.tick("t", "a")
    assert session.inbox.closed_reason is None  # 7 s after its publish, 4 s past the floor
    rig.clock.now += 2.0
    rig.tick("t", "b")
    assert session.inbox.closed_reason == "slow-age"


def test_a_prelude_slower_than_its_allowance_is_cut_off_and_told_at_a_boundary() -> None:
    rig = Rig(WS)
    session = rig.registry.open("ws", "test", (), ClientInbox(1 << 20, 5.0))
    s = Stream(rig.hub, session, rig.registry, rig.metrics, WS, 1500)
    s.subscribe(("t",), None, lambda: _big_snapshot(rig))
    allowance = 5.0 + min(MAX_PRELUDE_HOLD_S, s.unwritten_bytes / MIN_PRELUDE_RATE)
    first = rig.read(s.next_chunk())
    assert [m[2]["part"] for m in first if m[0] == "snapshot"] == [1, 2]  # part 3 still queued
    rig.tick("t", 0)
    rig.clock.now = 100.0 + allowance + 1
    rig.tick("t", 1)
    assert session.inbox.closed_reason == "slow-age"
    s.wrote()  # the chunk in flight is finished; the rest of the prelude is dropped
    closing = rig.read(s.next_chunk())
    assert [m[0] for m in closing] == ["slow"]
    assert rig.ws_closed is not None and rig.ws_closed.code == close_reason("slow-age").ws_code
