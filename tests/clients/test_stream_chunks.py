"""An SSE stream driven through ``stream_chunks`` (the ASGI fallback's writer, no HTTP):
prelude, batching, heartbeat, slow, shutdown."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import trio
import trio.testing
from support import Frame, parse_frames

from spotlight.clients.inbox import ClientInbox
from spotlight.clients.session import ClientRegistry
from spotlight.clients.stream import Stream, stream_chunks
from spotlight.hub import Epoch, History, Hub
from spotlight.metrics import Metrics
from spotlight.protocol.framing import SSE
from spotlight.protocol.resume import EventId
from spotlight.runtime.tree import ActorNode


class Rig:
    def __init__(self, history: int = 1000) -> None:
        self.hub = Hub(Epoch("ee", 0), History(history, 1e9), trio.current_time)
        self.registry = ClientRegistry(ActorNode("clients", "registry"))
        self.metrics = Metrics()

    def stream(
        self,
        topics: tuple[str, ...],
        resume: EventId | None = None,
        *,
        max_bytes: int = 1 << 20,
    ) -> AsyncGenerator[bytes, None]:
        session = self.registry.open("sse", "test", (), ClientInbox(max_bytes, 1e9))
        stream = Stream(self.hub, session, self.registry, self.metrics, SSE, retry_ms=1500)
        stream.subscribe(topics, resume, lambda: {"snap": self.hub.last_seq})
        return stream_chunks(stream)


async def frames(gen: Any) -> list[Frame]:
    out, rest = parse_frames(await gen.__anext__())
    assert rest == b""
    return out


async def test_fresh_client_prelude_then_one_write_per_batch() -> None:
    rig = Rig()
    rig.hub.publish("tick", "t", 0)
    gen = rig.stream(("t",))
    pre = await frames(gen)
    assert [f.event for f in pre] == ["retry", "snapshot"]
    assert pre[0].retry == 1500 and pre[1].id == "ee:1" and pre[1].json() == {"snap": 1}
    for i in range(5):
        rig.hub.publish("tick", "t", i)
        rig.hub.publish("tick", "other", i)
    batch = await frames(gen)  # everything queued, in one chunk
    assert [f.seq for f in batch] == [2, 4, 6, 8, 10]
    rig.hub.publish("tick", "t", 99)
    assert [f.seq for f in await frames(gen)] == [12]
    # Counted once the write completed (when the writer resumed after its yield): the
    # prelude and the batch; the last chunk is not written yet.
    session = next(iter(rig.registry))
    assert session.writes == 2 and session.delivered == 5
    await gen.aclose()
    assert len(rig.registry) == 0 and rig.hub.subscriber_count == 0


async def test_heartbeat_advances_id_to_hub_position(
    autojump_clock: trio.testing.MockClock,
) -> None:
    rig = Rig()
    gen = rig.stream(("t",))
    await frames(gen)
    rig.hub.publish("tick", "elsewhere", 1)
    rig.hub.publish("tick", "elsewhere", 2)
    async with trio.open_nursery() as nursery:
        await nursery.start(rig.registry.run_heartbeats, 10.0, ActorNode("hb", "ticker"))
        start = trio.current_time()
        (hb,) = await frames(gen)
        nursery.cancel_scope.cancel()
    assert hb.event == "heartbeat" and trio.current_time() - start == 10.0
    assert hb.id == "ee:2"  # nothing subscribed was missed up to seq 2
    assert hb.json()["queuedEvents"] == 0 and hb.json()["dropped"] == 0
    await gen.aclose()


async def test_slow_client_gets_slow_event_with_last_delivered_id() -> None:
    rig = Rig()
    gen = rig.stream(("t",), max_bytes=4096)
    await frames(gen)
    rig.hub.publish("tick", "t", "first")
    assert [f.seq for f in await frames(gen)] == [1]
    for _ in range(200):
        rig.hub.publish("tick", "t", "x" * 50)
    assert rig.hub.subscriber_count == 0  # cut off during publish, without awaiting anyone
    out = await frames(gen)
    assert [f.event for f in out] == ["slow"]
    assert out[0].id == "ee:1" and out[0].json()["reason"] == "slow-bytes"
    assert out[0].json()["dropped"] > 0
    # The stream has ended.
    try:
        await gen.__anext__()
        raise AssertionError("stream should have ended")
    except StopAsyncIteration:
        pass
    assert len(rig.registry) == 0


async def test_shutdown_flushes_pending_then_says_reconnect() -> None:
    rig = Rig()
    gen = rig.stream(("t",))
    await frames(gen)
    rig.hub.publish("tick", "t", 1)
    rig.registry.close_all("shutdown")
    out = await frames(gen)
    assert [f.event for f in out] == ["tick", "shutdown"]
    assert out[1].json()["reconnect"] is True


async def test_resume_replays_missed_events_then_goes_live() -> None:
    rig = Rig()
    for i in range(5):
        rig.hub.publish("tick", "t", i)
    gen = rig.stream(("t",), EventId("ee", 2))
    pre = await frames(gen)
    assert [f.event for f in pre] == ["retry", "tick", "tick", "tick"]
    assert [f.seq for f in pre[1:]] == [3, 4, 5]
    rig.hub.publish("tick", "t", 6)
    assert [f.seq for f in await frames(gen)] == [6]
    await gen.aclose()
