"""The simulator as a live source: deliver its ticks in bursts on a fixed time grid.

On a grid of ``burst_ms`` the driver wakes at the grid point of the next scheduled tick,
takes every tick the simulator scheduled up to it and stamps them with the burst time, the
way a consolidated feed delivers a packet. Bursts are what make fan-out cheap (one write per
client per burst), and stamping at the burst time means an event's ``t`` is when it was
published: the benchmark measures publish-to-receive latency from it directly.

The schedule of ticks is a pure function of the seed and the date (market/simulator.py), so
the feed is deterministic; only the burst stamping depends on ``burst_ms``, and it never moves
a tick into a later minute.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import trio

from spotlight.domain.bars import Bar
from spotlight.domain.options import OptionSnapshot
from spotlight.domain.ticks import Quote, SourceStatus, Tick, Trade
from spotlight.market.simulated_options import OPTION_UNDERLYINGS, OptionBook
from spotlight.market.simulated_tape import MarketData
from spotlight.market.simulator import MarketSimulator
from spotlight.market.source import ChainJob, TickSink
from spotlight.runtime.clock import WallClock
from spotlight.runtime.tree import ActorNode

__all__ = ["OPTION_UNDERLYINGS", "SimulatedSource"]


class SimulatedSource:
    kind = "simulated"

    def __init__(self, simulator: MarketSimulator, burst_ms: int, clock: WallClock) -> None:
        if burst_ms <= 0:
            raise ValueError(f"burst_ms must be positive, not {burst_ms!r}")
        self.simulator = simulator
        self.burst_ms = burst_ms
        self.clock = clock
        self._book: OptionBook | None = None  # built on first use (a few hundred ms)
        self.bursts = 0
        self.ticks = 0

    async def refresh(self, symbols: Sequence[str], ingest: Callable[[list[Tick]], None]) -> None:
        """Always current: every burst already reached the pipeline."""
        await trio.lowlevel.checkpoint()

    async def option_chains(self) -> Mapping[str, tuple[int, list[OptionSnapshot]]]:
        """Simulated chains for I:SPX and SPY, priced off the same market path as the ticks.

        The option book (market/simulated_options.py, the same one the shipped fake Massive
        serves) is built on a tape of a twin of this simulator (same seed, start and trade
        rate, hence the same SPX path) and yields the domain's snapshots, as Massive's
        parser does: analytics cannot tell simulated chains from live ones. Pricing a few
        thousand contracts takes ~0.1-0.3 s, so it runs off the event loop.
        """
        now = self.clock.now_ms()
        return await trio.to_thread.run_sync(self._chains_at, now)

    def _chains_at(self, now_ms: int) -> dict[str, tuple[int, list[OptionSnapshot]]]:
        if self._book is None:
            cfg = self.simulator.config
            market = MarketData(
                cfg.seed,
                self.simulator.start_ms,
                history_days=1,
                trades_per_second=cfg.trades_per_second,
                hours=cfg.hours,
            )
            self._book = OptionBook(market)
        out: dict[str, tuple[int, list[OptionSnapshot]]] = {}
        for underlying in OPTION_UNDERLYINGS:
            out[underlying] = (now_ms, self._book.chain(underlying, now_ms))
        return out

    async def chain_job(self) -> ChainJob:
        """The recipe, not the chains: the analytics worker builds them itself."""
        await trio.lowlevel.checkpoint()
        cfg = self.simulator.config
        return ("sim", cfg.seed, self.simulator.start_ms, cfg.trades_per_second, cfg.hours)

    def diag(self) -> dict[str, Any]:
        return {"bursts": self.bursts, "ticks": self.ticks}

    async def catch_up(self, now_ms: int) -> list[Tick]:
        """Every tick scheduled up to ``now_ms``, unpublished (off the event loop).

        With the Redis backend every node's simulator shares one market path (seed and
        epoch start), so a follower rebuilds the leader's bars from them at start, and a
        node taking over the market starts from the present instead of bursting out the
        ticks scheduled while it was following (the leader published those already).
        """
        return list(await trio.to_thread.run_sync(self.simulator.advance, now_ms))

    async def backfill(self) -> Mapping[str, Sequence[Bar]]:
        # Generating days of history takes a few hundred ms: off the event loop.
        return await trio.to_thread.run_sync(self.simulator.history)

    async def run(
        self,
        node: ActorNode,
        *,
        sink: TickSink,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        node.stats = lambda: {"bursts": self.bursts, "ticks": self.ticks, "burstMs": self.burst_ms}
        task_status.started()
        await sink(
            [SourceStatus("simulated", "simulated", "no MASSIVE_API_KEY", (), self.clock.now_ms())]
        )
        burst = self.burst_ms
        while True:
            now = self.clock.now_s()
            now_ms = int(now * 1000)
            # Wake at the grid point of the next scheduled tick, not at every grid point:
            # with 1 ms bursts and a quiet market that is the difference between 1,000
            # wake-ups a second and a few. The schedule is the simulator's, so the ticks and
            # their burst stamps are the same either way. At most a second's sleep at once.
            due = min(self.simulator.next_tick_ms(), now_ms + 1000.0)
            at = -(-max(int(due), now_ms + 1) // burst) * burst
            await trio.sleep(at / 1000 - now)
            ticks = [_stamp(t, at) for t in self.simulator.advance(at)]
            if ticks:
                self.bursts += 1
                self.ticks += len(ticks)
                await sink(ticks)


def _stamp(t: Trade | Quote, at: int) -> Tick:
    """The tick at its burst time, but never in a later minute than it happened: the bars
    built from the stream must stay the simulator's bars (a restart's history equals them)."""
    minute_end = t.ts_ms - t.ts_ms % 60_000 + 59_999
    ts = min(at, minute_end)
    if isinstance(t, Trade):
        return Trade(t.symbol, ts, t.price, t.size)
    return Quote(t.symbol, ts, t.bid, t.ask, t.bid_size, t.ask_size)
