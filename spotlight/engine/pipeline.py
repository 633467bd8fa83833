"""The live pipeline as a reusable unit: source -> normalizer -> bars -> publisher -> hub.

A ``Pipeline`` owns all per-market state (bars per symbol, last trade and quote) and nothing
is global, so the server can run several: the live one, a Massive-fed one, one per replay.
Its actor (``run``) drains its inbox of tick batches and ingests each batch synchronously;
one batch becomes one burst of hub events, which writers then send as one write per client.

Within a batch, snapshot-like events are coalesced before publishing: only the last
``bar:update`` per (symbol, timeframe) and the last ``quote`` per symbol are published, after
the batch's trades. Every earlier one would be superseded in every client's queue before any
writer could run (publishing a batch never yields), so publishing it would only cost
sequence numbers, history and 1,000 offers. Trades (the tape) and ``bar:close`` events are
all published, in order: a close is published when it happens, so it always precedes the
next bucket's update.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import trio

from spotlight.domain.bars import TIMEFRAMES, Bar
from spotlight.domain.symbol_bars import SymbolBars
from spotlight.domain.ticks import BarRevision, Quote, SourceStatus, Tick, Trade, is_index
from spotlight.engine.normalizer import TickNormalizer
from spotlight.engine.publisher import MarketPublisher, SilentPublisher, quote_json, trade_json
from spotlight.hub.hub import Hub
from spotlight.metrics import Metrics
from spotlight.runtime.mailbox import Mailbox
from spotlight.runtime.tree import ActorNode

__all__ = ["Pipeline"]

# Tick batches waiting for the pipeline. A source that gets ahead waits on ``send`` (it is our
# own task, backpressure is correct there); 256 batches is ~25 s of 100 ms bursts.
INBOX_BATCHES = 256


class Pipeline:
    def __init__(
        self,
        name: str,
        hub: Hub,
        symbols: Sequence[str],
        bar_buffer_minutes: int,
        metrics: Metrics | None = None,
    ) -> None:
        self.name = name
        self.hub = hub
        self.symbols = tuple(symbols)
        self.normalizer = TickNormalizer(self.symbols)
        self.bars = {s: SymbolBars(s, bar_buffer_minutes) for s in self.symbols}
        self.publisher = MarketPublisher(hub)
        self.inbox: Mailbox[list[Tick]] = Mailbox(INBOX_BATCHES)
        self.last_trade: dict[str, Trade] = {}
        self.last_quote: dict[str, Quote] = {}
        self.status: SourceStatus | None = None  # the source's latest word about itself
        self.ticks_in = 0
        self.revisions = 0  # closed 1-minute bars replaced by the source's corrected version
        self.batches = 0
        self._metrics = metrics
        self._reported: dict[str, int] = {}
        # The recorder (recording/recorder.py): called with each batch as it is ingested.
        self.on_batch: Callable[[str, Any], None] | None = None

    def load_history(self, history: Mapping[str, Iterable[Bar]]) -> None:
        """Seed the bars. An index that prints no live value for a while (the market is
        closed) still has its last known value: the close of its newest bar, stamped at that
        minute's end (its trade events carry size 0 like every index value)."""
        for symbol, bars in history.items():
            if symbol not in self.bars:
                continue
            loaded = list(bars)
            self.bars[symbol].load_history(loaded)
            if loaded and is_index(symbol) and symbol not in self.last_trade:
                last = loaded[-1]
                self.last_trade[symbol] = Trade(symbol, last.start_ms + 59_999, last.close, 0.0)

    def restore(
        self,
        last_trades: Iterable[Trade],
        last_quotes: Iterable[Quote],
        status: SourceStatus | None,
    ) -> None:
        """Adopt the last prices and status captured with a recording's bars."""
        self.last_trade.update((t.symbol, t) for t in last_trades if t.symbol in self.bars)
        self.last_quote.update((q.symbol, q) for q in last_quotes if q.symbol in self.bars)
        if status is not None:
            self.status = status

    def warm(self, ticks: Iterable[Tick]) -> None:
        """Ingest without publishing: a replay fast-forwards its state to its start."""
        publisher, self.publisher = self.publisher, SilentPublisher(self.hub)
        try:
            self.ingest(ticks)
        finally:
            self.publisher = publisher

    def ingest(self, ticks: Iterable[Tick]) -> None:
        """Normalize, build bars and publish; synchronous, so one batch is one burst."""
        if self.on_batch is not None:
            ticks = ticks if isinstance(ticks, list) else list(ticks)
            self.on_batch("ticks", ticks)
        publisher = self.publisher
        updates: dict[tuple[str, str], Bar] = {}  # {(symbol, timeframe): newest in-progress bar}
        quotes: dict[str, Quote] = {}  # {symbol: newest quote}
        for t in self.normalizer.normalize(ticks):
            self.ticks_in += 1
            if isinstance(t, Trade):
                self.last_trade[t.symbol] = t
                publisher.trade(t)
                for kind, bar in self.bars[t.symbol].apply(t):
                    if kind == "close":
                        publisher.bar("close", bar)
                    else:
                        updates[bar.symbol, bar.timeframe] = bar
            elif isinstance(t, Quote):
                self.last_quote[t.symbol] = quotes[t.symbol] = t
            elif isinstance(t, BarRevision):
                bar = Bar(
                    t.symbol, "1m", t.start_ms, t.open, t.high, t.low, t.close, t.volume, t.trades
                )
                for kind, changed in self.bars[t.symbol].revise(bar):
                    if kind == "close":
                        publisher.bar("close", changed)
                    else:
                        updates[changed.symbol, changed.timeframe] = changed
                self.revisions += 1
            elif t != self.status:
                self.status = t
                publisher.status(t)
        for bar in updates.values():
            publisher.bar("update", bar)
        for q in quotes.values():
            publisher.quote(q)
        self.batches += 1
        self._report_rejections()

    async def run(
        self, node: ActorNode, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        node.stats = self.stats
        task_status.started()
        while True:
            for batch in await self.inbox.receive_batch():
                self.ingest(batch)

    def snapshot(self, symbols: Iterable[str]) -> dict[str, Any]:
        """Latest state per symbol: last trade, last quote, in-progress bar per timeframe."""
        out: dict[str, Any] = {}
        for s in symbols:
            bars = self.bars[s]
            trade = self.last_trade.get(s)
            quote = self.last_quote.get(s)
            out[s] = {
                "trade": trade_json(trade) if trade else None,
                "quote": quote_json(quote) if quote else None,
                "bars": {
                    tf: (b.to_json() if (b := bars.latest(tf)) is not None else None)
                    for tf in TIMEFRAMES
                },
            }
        return {"symbols": out, "status": self.status.to_json() if self.status else None}

    def stale_ticks(self) -> int:
        return sum(b.stale_ticks for b in self.bars.values())

    def stats(self) -> dict[str, Any]:
        return {
            "ticksIn": self.ticks_in,
            "batches": self.batches,
            "rejected": dict(self.normalizer.rejected),
            "staleTicks": self.stale_ticks(),
            "barRevisions": self.revisions,
            "inbox": self.inbox.stats(),
            "symbols": {s: {"minutes": b.minute_count} for s, b in self.bars.items()},
        }

    def _report_rejections(self) -> None:
        if self._metrics is None:
            return
        counts = dict(self.normalizer.rejected)
        counts["stale"] = self.stale_ticks()
        for reason, n in counts.items():
            seen = self._reported.get(reason, 0)
            if n > seen:
                self._metrics.ticks_rejected.labels(self.name, reason).inc(n - seen)
                self._reported[reason] = n
