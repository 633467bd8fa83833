"""The replay actor on its own: memory cap, stop, and what its streams see at the end."""

from __future__ import annotations

import orjson
import trio
from support import InlineExecutor

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import SourceStatus
from spotlight.hub.event import Event
from spotlight.protocol.topics import STATUS_TOPIC
from spotlight.replay.actor import Replay, ReplayLimits
from spotlight.replay.items import BarItems
from spotlight.replay.plan import ReplayPlan
from spotlight.runtime.clock import TrioWallClock
from spotlight.runtime.tree import ActorNode

T0 = 1_795_000_000_000 - 1_795_000_000_000 % 60_000


class Stream:
    """A subscriber like a client inbox: records events and its close reason."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.closed: str | None = None
        self.pending_bytes = 0

    def offer(self, event: Event) -> bool:
        self.events.append(event)
        return True

    def close(self, reason: str) -> None:
        self.closed = reason


def make(minutes: int, speed: float | None, limits: ReplayLimits) -> Replay:
    bars = [Bar("SPY", "1m", T0 + i * 60_000, 1, 2, 0.5, 1.5, 8, 4) for i in range(minutes)]
    status = SourceStatus("simulated", "replay", "rebuilt", (), T0)
    plan = ReplayPlan(("SPY",), None, T0, T0 + minutes * 60_000, speed)
    items = BarItems({"SPY": bars}, T0, plan.to_ms, status, 5)
    return Replay("r1", "me", plan, "simulated", items, TrioWallClock(T0), InlineExecutor, limits)


async def test_memory_cap_fails_the_replay_and_ends_its_streams(
    autojump_clock: trio.testing.MockClock,
) -> None:
    replay = make(30, None, ReplayLimits(max_bytes=20_000))
    stream = Stream()
    replay.hub.subscribe(stream, [STATUS_TOPIC])
    await replay.run(ActorNode("r", "replay"))
    assert replay.state == "failed" and replay.error and replay.error.startswith("memory-limit")
    end = orjson.loads(stream.events[-1].data)
    assert stream.events[-1].type == "replay:end" and end["reason"] == "failed"
    assert stream.closed == "replay-ended"


async def test_stop_ends_at_once_with_reason_stopped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    replay = make(60, 1.0, ReplayLimits())
    stream = Stream()
    replay.hub.subscribe(stream, [STATUS_TOPIC])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(replay.run, ActorNode("r", "replay"))
        await trio.sleep(90)  # a minute and a half of replay time at 1x
        assert replay.state == "running" and 0.02 < replay.describe()["progress"] < 0.05
        replay.stop()
    assert replay.state == "stopped" and replay.end_reason == "stopped"
    assert orjson.loads(stream.events[-1].data)["reason"] == "stopped"
    assert stream.closed == "replay-ended"


async def test_a_backlogged_client_holds_a_max_speed_replay(
    autojump_clock: trio.testing.MockClock,
) -> None:
    replay = make(10, None, ReplayLimits(client_queue_bytes=1000))
    stream = Stream()
    stream.pending_bytes = 10_000  # the client is far behind
    replay.hub.subscribe(stream, [STATUS_TOPIC])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(replay.run, ActorNode("r", "replay"))
        await trio.sleep(5)
        held = replay.items_played
        assert replay.state == "running" and held <= 1
        stream.pending_bytes = 0  # it caught up
        await trio.sleep(5)
    assert replay.state == "ended" and replay.items_played > held


async def test_server_shutdown_ends_a_replay_cleanly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    replay = make(60, 1.0, ReplayLimits())
    stream = Stream()
    replay.hub.subscribe(stream, [STATUS_TOPIC])
    async with trio.open_nursery() as nursery:  # the manager's nursery, cancelled at shutdown
        nursery.start_soon(replay.run, ActorNode("r", "replay"))
        await trio.sleep(30)
        nursery.cancel_scope.cancel()
    assert replay.state == "stopped" and stream.closed == "replay-ended"
    assert orjson.loads(stream.events[-1].data)["reason"] == "stopped"


async def test_a_stretch_with_nothing_to_play_is_skipped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Bars only from two hours after the start of the range (a server started mid-morning):
    # at 1x the replay does not sit two hours on an empty chart.
    later = T0 + 2 * 3600_000
    bars = [Bar("SPY", "1m", later + i * 60_000, 1, 2, 0.5, 1.5, 8, 4) for i in range(3)]
    status = SourceStatus("simulated", "replay", "rebuilt", (), T0)
    plan = ReplayPlan(("SPY",), None, T0, later + 3 * 60_000, 1.0)
    items = BarItems({"SPY": bars}, T0, plan.to_ms, status, 5)
    replay = Replay(
        "r1", "me", plan, "simulated", items, TrioWallClock(T0), InlineExecutor, ReplayLimits()
    )
    t0 = trio.current_time()
    await replay.run(ActorNode("r", "replay"))
    assert replay.state == "ended" and replay.skipped >= 1
    assert 170 < trio.current_time() - t0 < 200  # the three minutes of bars, at 1x
