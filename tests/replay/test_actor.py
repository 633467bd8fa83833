"""The replay actor on its own: memory cap, stop, and what its streams see at the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import trio
from support import InlineExecutor

from spotlight.domain.bars import Bar
from spotlight.domain.ticks import SourceStatus, Trade
from spotlight.hub.event import Event
from spotlight.protocol.topics import STATUS_TOPIC
from spotlight.replay.actor import Replay, ReplayLimits
from spotlight.replay.items import AnalyticsStep, BarItems, Item, SegmentState, TickBatch
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


class TickAt(Stream):
    """Sets ``reached`` when a tick at or after ``t_ms`` is published."""

    def __init__(self, t_ms: int) -> None:
        super().__init__()
        self.t_ms = t_ms
        self.reached = trio.Event()

    def offer(self, event: Event) -> bool:
        if event.type == "tick" and orjson.loads(event.data)["t"] >= self.t_ms:
            self.reached.set()
        return super().offer(event)


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
    ticks = TickAt(T0 + 90_000)
    replay.hub.subscribe(ticks, ["tick:SPY"])
    async with trio.open_nursery() as nursery:
        nursery.start_soon(replay.run, ActorNode("r", "replay"))
        # A minute and a half of replay time at 1x. Waited for on an event, neither slept nor
        # polled: the position is what was played, and each chunk is read in a thread, during
        # which the mock clock would jump to any deadline of the test's own.
        await ticks.reached.wait()
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


async def test_ready_once_the_starting_state_is_loaded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """/api/history waits on ``ready`` (issue 15): before it the pipeline has no bars; when it
    is set the history before the replay's start is in place, before anything in range plays."""
    history = [Bar("SPY", "1m", T0 - (30 - i) * 60_000, 1, 2, 0.5, 1.5, 8, 4) for i in range(30)]
    # The first bar in range starts a minute after ``from``: at 1x nothing of it plays soon.
    bars = history + [
        Bar("SPY", "1m", T0 + (1 + i) * 60_000, 1, 2, 0.5, 1.5, 8, 4) for i in range(5)
    ]
    status = SourceStatus("simulated", "replay", "rebuilt", (), T0)
    plan = ReplayPlan(("SPY",), None, T0, T0 + 5 * 60_000, 1.0)
    items = BarItems({"SPY": bars}, T0, plan.to_ms, status, 5)
    replay = Replay(
        "r1", "me", plan, "simulated", items, TrioWallClock(T0), InlineExecutor, ReplayLimits()
    )
    assert not replay.ready.is_set()
    assert replay.pipeline.bars["SPY"].history("1m", 100) == []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(replay.run, ActorNode("r", "replay"))
        await replay.ready.wait()
        got = replay.pipeline.bars["SPY"].history("1m", 100)
        assert [b.start_ms for b in got] == [b.start_ms for b in history]
        assert replay.items_played <= 1  # at most the status at ``from``; no bar in range
        replay.stop()
    assert replay.ready.is_set()


async def test_a_stopped_replay_is_ready_for_waiters(
    autojump_clock: trio.testing.MockClock,
) -> None:
    replay = make(5, 1.0, ReplayLimits())
    replay.stop()  # before it ever ran: nobody may wait forever on it
    await replay.run(ActorNode("r", "replay"))
    with trio.fail_after(1):
        await replay.ready.wait()


class Watcher(Stream):
    """Checks the replay's reported position against every tick as it is published (inside
    the replay's own task: no timer of the test's moves Trio's clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.replay: Replay | None = None
        self.newest_tick = 0
        self.reached: list[float] = []

    def offer(self, event: Event) -> bool:
        assert self.replay is not None
        if event.type == "tick":
            r = self.replay.describe()
            assert r["positionMs"] <= max(self.newest_tick, T0), "the position is ahead"
            self.newest_tick = orjson.loads(event.data)["t"]
            if r["speedReached"] is not None:
                self.reached.append(r["speedReached"])
        return super().offer(event)


async def test_slow_gex_steps_neither_hold_the_speed_nor_run_the_position_ahead(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Issue 15: at 100x a recorded day played at ~20x (every GEX step computed, 0.2-0.6 s
    each) while the position ran on at 100x. Ten minutes of a tick a second and a GEX step
    every 15 s, each costing 0.4 s, at 100x: the stale steps are skipped, the replay takes
    about the 6 s that 100x means, the speed it reports is about 100x, and the position
    never passes the newest tick played."""
    minutes = 10
    items: list[Item] = [SegmentState(T0, {"SPY": []}, [], [], None, {})]
    for s in range(minutes * 60):
        t = T0 + s * 1000
        items.append(TickBatch(t, [Trade("SPY", t, 100 + s % 7, 1)]))
        if s % 15 == 14:
            items.append(AnalyticsStep(t, {"k": "gex", "now": t, "spots": {}, "job": ("x",)}))
    plan = ReplayPlan(("SPY",), None, T0, T0 + minutes * 60_000, 100.0)
    replay = Replay(
        "r1", "me", plan, "recorded", [items], TrioWallClock(T0), InlineExecutor, ReplayLimits()
    )
    computed: list[int] = []

    async def slow_step(step: Mapping[str, Any]) -> None:
        # What a GEX step costs the replay: the wait for the worker, on Trio's clock.
        computed.append(int(step["now"]))
        await trio.sleep(0.4)

    replay.engine.apply = slow_step  # type: ignore[method-assign]
    watcher = Watcher()
    watcher.replay = replay
    replay.hub.subscribe(watcher, ["tick:SPY"])
    t0 = trio.current_time()
    await replay.run(ActorNode("r", "replay"))
    elapsed = trio.current_time() - t0
    described = replay.describe()
    assert replay.state == "ended" and described["progress"] == 1.0
    assert 5.5 < elapsed < 8.0, elapsed  # ~100x; every step computed: 6 s + 40 x 0.4 s
    skipped = described["stepsSkipped"].get("gex", 0)
    assert skipped > 0 and len(computed) + skipped == minutes * 4
    late = watcher.reached[len(watcher.reached) // 3 :]
    assert late and all(60 < r < 140 for r in late), watcher.reached
