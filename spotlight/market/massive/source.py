"""Massive as the live source: backfill (``backfill``), then one supervised poller per feed,
and a status published on change (``status``).

Feeds and cadences (``MassiveCadence``, configurable):
- ``prices``: last trade and NBBO of every stock symbol, about every second;
- ``indices``: index values (I:SPX has no trades or quotes) from the indices snapshot;
- ``market-status``: open, closed or extended hours, every minute; while the market is closed
  the price feeds slow down (``closed_factor``) and the status says so;
- ``options-chain``: the 0DTE-and-later chain snapshots of the option underlyings, every N
  seconds, kept for the analytics (``chains``).

What this source never does: substitute anything. A failing feed is marked (``degraded``,
``not-entitled``, ``unauthorized``) in /api/diag and in a ``status`` event to every client;
prices simply stop moving until Massive answers again, and recovery is automatic (poller.py).
There is no simulator in this mode at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio

from spotlight.domain.bars import Bar
from spotlight.domain.nytime import ny_date
from spotlight.domain.options import OptionSnapshot
from spotlight.domain.ticks import BarRevision, Quote, SourceStatus, Tick, Trade, is_index
from spotlight.market.massive.backfill import backfill_bars, minute_bars
from spotlight.market.massive.client import MassiveClient
from spotlight.market.massive.errors import MassiveError
from spotlight.market.massive.status import StatusBoard, source_status
from spotlight.market.poller import FeedState, Poller
from spotlight.market.source import ChainJob, TickSink, chains_job
from spotlight.runtime.clock import WallClock
from spotlight.runtime.supervisor import supervise
from spotlight.runtime.tree import ActorNode

__all__ = ["MassiveCadence", "MassiveSource"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MassiveCadence:
    prices_s: float = 1.0
    status_s: float = 60.0
    chain_s: float = 15.0
    closed_factor: float = 15.0  # price feeds poll this much slower while the market is closed
    # A symbol's price counts as current this long after it was last fetched; a subscriber
    # asking for an older one triggers one shared upstream fetch (``refresh``).
    fresh_s: float = 2.0
    # The last minutes of 1-minute bars are re-fetched this often: late prints revise bars
    # for up to ~15 minutes (Massive's "aggregate bar delays"), and an index's bars built from
    # polled values miss the highs and lows between polls.
    bars_s: float = 30.0
    bars_lookback_minutes: int = 15
    option_underlyings: tuple[str, ...] = ("I:SPX", "SPY")


class MassiveSource:
    kind = "massive"

    def __init__(
        self,
        client: MassiveClient,
        symbols: Sequence[str],
        clock: WallClock,
        cadence: MassiveCadence | None = None,
    ) -> None:
        self.client = client
        self.symbols = tuple(symbols)
        self.stocks = tuple(s for s in self.symbols if not is_index(s))
        self.indices = tuple(s for s in self.symbols if is_index(s))
        self.clock = clock
        self.cadence = cadence or MassiveCadence()
        self.feeds = {
            name: FeedState(name)
            for name in (
                "backfill",
                "prices",
                "indices",
                "minute-bars",
                "market-status",
                "options-chain",
            )
        }
        self.market: str | None = None  # "open" | "closed" | "extended-hours"
        self.chains: dict[str, tuple[int, list[OptionSnapshot]]] = {}  # {underlying: (ms, chain)}
        # How each chain's pagination walk ended ({underlying: Walk.note()}): a looping
        # next_url keeps the contracts and says so in the GEX payload and in diag.
        self.chain_notes: dict[str, dict[str, object]] = {}
        self._last: dict[str, Tick] = {}  # last trade/quote emitted per (kind, symbol) key
        self._status = StatusBoard(self.current_status)
        self._active: list[str] = []  # feeds with a running poller
        self._fetched_ms: dict[str, int] = {}  # {symbol: when its price was last fetched}
        self._inflight: dict[str, trio.Event] = {}  # {symbol: fetch in progress}
        self.refreshes = 0  # upstream fetches made for subscribers

    # -- backfill -------------------------------------------------------------------------
    async def backfill(self) -> Mapping[str, Sequence[Bar]]:
        """Today's and the previous session's 1-minute bars, per symbol (empty on failure)."""
        feed = self.feeds["backfill"]
        bars, problems = await backfill_bars(
            self.client, self.symbols, ny_date(self.clock.now_ms())
        )
        feed.state = "degraded" if problems else "ok"
        feed.reason = "; ".join(problems)[:300] or None
        if not problems:
            feed.last_success_ms = self.clock.now_ms()
        else:
            log.warning("Massive backfill incomplete: %s", feed.reason)
        return bars

    async def minute_bars(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> dict[str, list[Bar]]:
        """1-minute aggregates of ``symbols`` from ``start`` to ``end`` (exchange dates,
        inclusive), for replays of days that were not recorded. Raises ``MassiveError``."""
        return await minute_bars(self.client, symbols, start, end)

    # -- the feeds --------------------------------------------------------------------------
    async def run(
        self,
        node: ActorNode,
        *,
        sink: TickSink,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        node.stats = self.diag
        c = self.cadence
        pollers = {
            "prices": (self._poll_prices, self._price_interval),
            "indices": (self._poll_indices, self._price_interval),
            "minute-bars": (self._poll_minute_bars, lambda: c.bars_s),
            "market-status": (self._poll_market_status, lambda: c.status_s),
            "options-chain": (self._poll_chains, lambda: c.chain_s),
        }
        async with trio.open_nursery() as nursery:
            await nursery.start(self._status.run, sink)
            for name, (fetch, interval) in pollers.items():
                if name == "prices" and not self.stocks:
                    continue
                if name == "indices" and not self.indices:
                    continue
                self._active.append(name)
                poller = Poller(
                    self.feeds[name],
                    partial(fetch, sink),
                    interval,
                    self.clock,
                    self._status_changed,
                )
                await nursery.start(supervise, node, f"poller:{name}", "poller", poller.run)
            task_status.started()

    def _price_interval(self) -> float:
        c = self.cadence
        return c.prices_s * (c.closed_factor if self.market == "closed" else 1.0)

    async def _poll_prices(self, sink: TickSink) -> bool:
        ticks: list[Tick] = []
        delayed = False
        for symbol in self.stocks:
            trade = await self.client.last_trade(symbol)
            self._fetched_ms[symbol] = self.clock.now_ms()
            if trade is not None:
                ticks += self._changed(
                    ("t", symbol), Trade(symbol, trade.ts_ms, trade.price, trade.size)
                )
            quote = await self.client.last_nbbo(symbol)
            if quote is not None:
                ticks += self._changed(
                    ("q", symbol),
                    Quote(
                        symbol, quote.ts_ms, quote.bid, quote.ask, quote.bid_size, quote.ask_size
                    ),
                )
        if ticks:
            await sink(ticks)
        return delayed

    async def _poll_indices(self, sink: TickSink) -> bool:
        values = await self.client.indices_snapshot(self.indices)
        ticks: list[Tick] = []
        delayed = False
        for v in values:
            if v.error is not None or v.ticker not in self.indices:
                continue
            delayed = delayed or v.delayed
            self._fetched_ms[v.ticker] = self.clock.now_ms()
            ts = v.ts_ms if v.ts_ms is not None else self.clock.now_ms()
            ticks += self._changed(("t", v.ticker), Trade(v.ticker, ts, v.value, 0.0))
        if ticks:
            await sink(ticks)
        return delayed

    async def _poll_minute_bars(self, sink: TickSink) -> bool:
        """Re-fetch the recent closed minutes; the pipeline replaces the ones that differ."""
        now = self.clock.now_ms()
        current_minute = now - now % 60_000
        start = current_minute - self.cadence.bars_lookback_minutes * 60_000
        revisions: list[Tick] = []
        delayed = False
        for symbol in self.symbols:
            aggs = await self.client.aggregates(symbol, 1, "minute", start, now)
            delayed = delayed or aggs.delayed
            for b in aggs.bars:
                if b.t_ms >= current_minute:
                    continue  # the in-progress minute is built from live prices
                revisions += self._changed(
                    ("b", f"{symbol}@{b.t_ms}"),
                    BarRevision(symbol, b.t_ms, b.o, b.h, b.l, b.c, b.v or 0.0, b.n or 0),
                )
        self._forget_old_revisions(start)
        if revisions:
            await sink(revisions)
        return delayed

    def _forget_old_revisions(self, before_ms: int) -> None:
        """Keep the dedup memory bounded: drop bars older than the look-back window."""
        stale = [
            k
            for k, v in self._last.items()
            if isinstance(v, BarRevision) and v.start_ms < before_ms
        ]
        for k in stale:
            del self._last[k]

    async def _poll_market_status(self, sink: TickSink) -> bool:
        status = await self.client.market_status()
        if status.market != self.market:
            self.market = status.market
            self._status_changed()
        return False

    async def _poll_chains(self, sink: TickSink) -> bool:
        today = ny_date(self.clock.now_ms())
        delayed = False
        for underlying in self.cadence.option_underlyings:
            walk = await self.client.options_chain_walk(
                underlying, expiration_date_gte=today.isoformat()
            )
            chain = walk.items
            delayed = delayed or any(o.delayed for o in chain)
            self.chains[underlying] = (self.clock.now_ms(), chain)
            self.chain_notes[underlying] = walk.note()
            if walk.looped or walk.partial:
                log.warning(
                    "Massive %s chain walk %s after %d pages; %d contracts kept",
                    underlying,
                    "looped" if walk.looped else "hit the page cap (partial)",
                    walk.pages,
                    len(chain),
                )
        return delayed

    # -- immediate snapshot for a new subscriber -------------------------------------------
    def is_fresh(self, symbol: str) -> bool:
        fetched = self._fetched_ms.get(symbol)
        return fetched is not None and self.clock.now_ms() - fetched < self.cadence.fresh_s * 1000

    async def refresh(self, symbols: Sequence[str], ingest: Callable[[list[Tick]], None]) -> None:
        """Fetch the latest price of every stale symbol, once for all concurrent callers.

        A caller that finds a fetch for its symbol in flight waits for that one instead of
        asking Massive again (in-flight de-duplication). Failures are left to the pollers to
        report: a subscriber then simply gets the last known price, or none.
        """
        async with trio.open_nursery() as nursery:
            for symbol in symbols:
                if not self.is_fresh(symbol):
                    nursery.start_soon(self._refresh_one, symbol, ingest)

    async def _refresh_one(self, symbol: str, ingest: Callable[[list[Tick]], None]) -> None:
        pending = self._inflight.get(symbol)
        if pending is not None:
            await pending.wait()
            return
        if self.is_fresh(symbol):
            # Stale when the caller looked, but another caller's fetch has finished since:
            # with a fast upstream that happens before this task even starts.
            await trio.lowlevel.checkpoint()
            return
        done = self._inflight[symbol] = trio.Event()
        try:
            self.refreshes += 1
            ticks: list[Tick] = []
            if is_index(symbol):
                for v in await self.client.indices_snapshot([symbol]):
                    if v.error is None and v.ticker == symbol:
                        ts = v.ts_ms if v.ts_ms is not None else self.clock.now_ms()
                        ticks += self._changed(("t", symbol), Trade(symbol, ts, v.value, 0.0))
            else:
                trade = await self.client.last_trade(symbol)
                if trade is not None:
                    ticks += self._changed(
                        ("t", symbol), Trade(symbol, trade.ts_ms, trade.price, trade.size)
                    )
            self._fetched_ms[symbol] = self.clock.now_ms()
            if ticks:
                ingest(ticks)
        except MassiveError as exc:
            log.info("snapshot refresh of %s failed: %s", symbol, exc)
        finally:
            del self._inflight[symbol]
            done.set()

    def _changed(self, key: tuple[str, str], tick: Tick) -> list[Tick]:
        """Emit a polled print or quote only when it is new (polling repeats the last one)."""
        ident = f"{key[0]}:{key[1]}"
        if self._last.get(ident) == tick:
            return []
        self._last[ident] = tick
        return [tick]

    # -- status -------------------------------------------------------------------------------
    def _status_changed(self) -> None:
        self._status.changed()

    def current_status(self) -> SourceStatus:
        """The source's state from its feeds (``status.source_status``)."""
        return source_status(self.feeds, self._active, self.market, self.clock.now_ms())

    async def chain_job(self) -> ChainJob | None:
        await trio.lowlevel.checkpoint()
        return chains_job(self.chains, self.chain_notes) if self.chains else None

    async def option_chains(self) -> Mapping[str, tuple[int, list[OptionSnapshot]]]:
        """What the options-chain poller fetched last (empty until its first success)."""
        await trio.lowlevel.checkpoint()
        return dict(self.chains)

    def diag(self) -> dict[str, Any]:
        status = self.current_status()
        return {
            "state": status.state,
            "reason": status.reason,
            "market": self.market,
            "feeds": {n: f.to_json() for n, f in self.feeds.items()},
            "chains": {
                u: {"atMs": ms, "contracts": len(c), **self.chain_notes.get(u, {})}
                for u, (ms, c) in self.chains.items()
            },
            "pagination": self.client.walk_stops(),
            "snapshotRefreshes": self.refreshes,
        }
