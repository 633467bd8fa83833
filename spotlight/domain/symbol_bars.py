"""One symbol's bar state: the bounded 1-minute buffer and every timeframe's open bar (pure).

``SymbolBars.apply(trade)`` applies the candle rules (``bars``' docstring) to the 1-minute bar
and every rollup, returning ``close`` and ``update`` changes; ``revise(bar)`` replaces a
closed minute with the source's corrected one and recomputes its rollups.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Literal

from spotlight.domain.bars import (
    HIGHER_TIMEFRAMES,
    MINUTE_MS,
    Bar,
    bucket_start,
    merge,
    parse_timeframe,
    retag,
    rollup,
)
from spotlight.domain.ticks import Trade

__all__ = ["BarChange", "SymbolBars"]

BarChange = tuple[Literal["update", "close"], Bar]
_MAX_PENDING_REVISIONS = 4


class SymbolBars:
    """Per-symbol 1-minute buffer (bounded) plus the in-progress bar of every timeframe.

    The buffer holds at most ``max_minutes`` 1-minute bars, counting the in-progress one.
    Each higher timeframe keeps the aggregate of the closed minutes of its current bucket,
    so a tick costs one merge per timeframe instead of a re-aggregation of the bucket.
    """

    def __init__(self, symbol: str, max_minutes: int) -> None:
        if max_minutes < 1:
            raise ValueError(f"max_minutes must be >= 1, got {max_minutes}")
        self.symbol = symbol
        self.max_minutes = max_minutes
        self.stale_ticks = 0
        # The in-progress minute lives outside the deque, hence one slot fewer.
        self._closed: deque[Bar] = deque(maxlen=max_minutes - 1)
        self._minute: Bar | None = None
        # Per higher timeframe: current bucket start, and the merge of its closed minutes
        # (None while the in-progress minute is the bucket's first).
        self._bucket: dict[str, int] = {}
        self._agg: dict[str, Bar | None] = {}
        # Source revisions of minutes not closed here yet: {minute start: bar}.
        self._pending: dict[int, Bar] = {}

    @property
    def minute_count(self) -> int:
        return len(self._closed) + (self._minute is not None)

    @property
    def oldest_start_ms(self) -> int | None:
        """Start of the oldest 1-minute bar held (None when empty)."""
        if self._closed:
            return self._closed[0].start_ms
        return self._minute.start_ms if self._minute is not None else None

    def load_history(self, bars: Iterable[Bar]) -> None:
        """Seed with past 1-minute bars, sorted, before any live tick.

        The newest loaded bar becomes the in-progress minute: a live tick in that same
        minute updates it (a REST backfill's last minute is usually partial), a tick in a
        later minute closes it, and an older tick is stale. Only the newest ``max_minutes``
        are kept, but the in-progress bar of every timeframe aggregates all loaded minutes
        of its bucket. Raises ValueError for malformed input and RuntimeError if the buffer
        already holds data (loading would silently drop live bars).
        """
        if self._minute is not None:
            raise RuntimeError(f"{self.symbol}: load_history after bars already exist")
        loaded = list(bars)
        prev: int | None = None
        for bar in loaded:
            if bar.symbol != self.symbol or bar.timeframe != "1m":
                raise ValueError(f"{self.symbol}: cannot load {bar.symbol} {bar.timeframe} bar")
            if bar.start_ms % MINUTE_MS:
                raise ValueError(f"{self.symbol}: bar start {bar.start_ms} is not on a minute")
            if prev is not None and bar.start_ms <= prev:
                raise ValueError(f"{self.symbol}: bars not strictly increasing at {bar.start_ms}")
            prev = bar.start_ms
        if not loaded:
            return
        last = loaded[-1]
        self._closed.extend(loaded[:-1])  # the deque keeps the newest
        self._minute = last
        for tf in HIGHER_TIMEFRAMES:
            start = bucket_start(last.start_ms, tf)
            first = len(loaded) - 1
            while first > 0 and bucket_start(loaded[first - 1].start_ms, tf) == start:
                first -= 1
            # Fold oldest first, exactly as rollup() and live ticks do, so float sums match.
            agg: Bar | None = None
            for bar in loaded[first:-1]:
                agg = retag(bar, tf, start) if agg is None else merge(agg, bar)
            self._bucket[tf] = start
            self._agg[tf] = agg

    def apply(self, trade: Trade) -> list[BarChange]:
        """Fold one trade in; return the closes (TIMEFRAMES order), then every update."""
        if trade.symbol != self.symbol:
            raise ValueError(f"{self.symbol}: got a trade for {trade.symbol}")
        ts = trade.ts_ms
        minute_start = ts - ts % MINUTE_MS
        current = self._minute
        changes: list[BarChange] = []
        if current is None:
            self._open_minute(trade, minute_start)
            for tf in HIGHER_TIMEFRAMES:
                self._bucket[tf] = bucket_start(ts, tf)
                self._agg[tf] = None
        elif minute_start == current.start_ms:
            price = trade.price
            self._minute = Bar(
                self.symbol,
                "1m",
                minute_start,
                current.open,
                current.high if current.high >= price else price,
                current.low if current.low <= price else price,
                price,
                current.volume + trade.size,
                current.trades + 1,
            )
        elif minute_start > current.start_ms:
            if self._pending:
                # The source's own bar for this minute arrived before our minute closed: it is
                # the authoritative version, so it is what closes.
                current = self._pending.pop(current.start_ms, current)
                self._pending = {t: b for t, b in self._pending.items() if t > minute_start}
            changes.append(("close", current))
            self._closed.append(current)
            for tf in HIGHER_TIMEFRAMES:
                start = bucket_start(ts, tf)
                agg = self._agg[tf]
                bucket = self._bucket[tf]
                folded = retag(current, tf, bucket) if agg is None else merge(agg, current)
                if start == bucket:
                    self._agg[tf] = folded
                else:
                    changes.append(("close", folded))
                    self._bucket[tf] = start
                    self._agg[tf] = None
            self._open_minute(trade, minute_start)
        else:
            # Too late: the bar for that minute has been published as closed. Bucket starts
            # are monotonic in time, so the tick is stale at every larger timeframe as well.
            self.stale_ticks += 1
            return changes
        minute = self._minute
        assert minute is not None
        changes.append(("update", minute))
        for tf in HIGHER_TIMEFRAMES:
            changes.append(("update", self._in_progress(tf, minute)))
        return changes

    def revise(self, bar: Bar) -> list[BarChange]:
        """Replace a closed 1-minute bar with the source's corrected version (late prints).

        Only closed minutes still in the buffer are revised (older ones have left the
        buffer). A revision of the in-progress minute (or a later one) is kept and becomes
        that minute's bar when it closes: the source saw the minute close before our next
        tick did. A minute the buffer lacks is
        inserted in order. Returns the corrected bars: ("close", minute), then for every
        higher timeframe either ("close", that older bucket recomputed) or, when the minute
        lies in the current bucket, ("update", the in-progress bar). An identical bar
        changes nothing and returns [].
        """
        current = self._minute
        if bar.symbol != self.symbol or bar.timeframe != "1m" or bar.start_ms % MINUTE_MS:
            raise ValueError(f"{self.symbol}: cannot revise with {bar!r}")
        if current is None:
            return []
        if bar.start_ms >= current.start_ms:
            # The source considers this minute closed while ours is still open (our next tick
            # has not come yet): keep its bar and close with it (bounded: the newest few).
            self._pending[bar.start_ms] = bar
            if len(self._pending) > _MAX_PENDING_REVISIONS:
                del self._pending[min(self._pending)]
            return []
        closed = list(self._closed)
        if closed and bar.start_ms < closed[0].start_ms and len(closed) == self._closed.maxlen:
            return []  # older than the bounded buffer keeps
        starts = [b.start_ms for b in closed]
        i = bisect_left(starts, bar.start_ms)
        if i < len(closed) and closed[i].start_ms == bar.start_ms:
            if closed[i] == bar:
                return []
            closed[i] = bar
        else:
            closed.insert(i, bar)
        self._closed = deque(closed[-(self.max_minutes - 1) :], maxlen=self.max_minutes - 1)
        changes: list[BarChange] = [("close", bar)]
        for tf in HIGHER_TIMEFRAMES:
            start = bucket_start(bar.start_ms, tf)
            members = [b for b in self._closed if bucket_start(b.start_ms, tf) == start]
            if start == self._bucket[tf]:
                agg: Bar | None = None
                for b in members:
                    agg = retag(b, tf, start) if agg is None else merge(agg, b)
                self._agg[tf] = agg
                changes.append(("update", self._in_progress(tf, current)))
            elif members and start >= self._closed[0].start_ms:
                # Only a bucket wholly inside the buffer can be recomputed exactly.
                changes.append(("close", rollup(members, tf)[0]))
        return changes

    def _open_minute(self, trade: Trade, minute_start: int) -> None:
        p = trade.price
        self._minute = Bar(self.symbol, "1m", minute_start, p, p, p, p, trade.size, 1)

    def _in_progress(self, tf: str, minute: Bar) -> Bar:
        agg = self._agg[tf]
        return retag(minute, tf, self._bucket[tf]) if agg is None else merge(agg, minute)

    def latest(self, timeframe: str) -> Bar | None:
        """The in-progress bar at ``timeframe``, or None before any data."""
        parse_timeframe(timeframe)
        minute = self._minute
        if minute is None or timeframe == "1m":
            return minute
        return self._in_progress(timeframe, minute)

    def history(self, timeframe: str, limit: int, before_ms: int | None = None) -> list[Bar]:
        """The newest ``limit`` bars with ``start_ms < before_ms``, oldest first.

        Includes the in-progress bar unless ``before_ms`` excludes it; that bar is exactly
        :meth:`latest`, so a client can splice live updates onto a history page. Other bars
        are rolled up from the 1-minute buffer, and only the minutes of the returned buckets
        are aggregated. The oldest bar may be partial if its bucket began before the buffer.
        """
        parse_timeframe(timeframe)
        if limit <= 0:
            return []
        picked: list[Bar] = []  # newest first
        buckets = 0
        last_bucket: int | None = None
        for bar in self._minutes_newest_first(timeframe, before_ms):
            start = bucket_start(bar.start_ms, timeframe)
            if start != last_bucket:
                if buckets == limit:
                    break
                buckets += 1
                last_bucket = start
            picked.append(bar)
        picked.reverse()
        out = rollup(picked, timeframe)
        live = self.latest(timeframe)
        if out and live is not None and out[-1].start_ms == live.start_ms:
            # Same bucket; the live aggregate also covers minutes evicted from the buffer.
            out[-1] = live
        return out

    def _minutes_newest_first(self, timeframe: str, before_ms: int | None) -> Iterator[Bar]:
        """Buffered minutes, newest first, whose ``timeframe`` bucket starts before before_ms."""
        minute = self._minute
        if minute is None:
            return
        if before_ms is None or bucket_start(minute.start_ms, timeframe) < before_ms:
            yield minute
        closed = self._closed
        skip = 0
        if before_ms is not None:
            # Bucket starts are monotonic in the minute start, so the excluded minutes are a
            # suffix of the buffer; find it by bisection instead of walking past it.
            keep = bisect_left(
                closed, before_ms, key=lambda bar: bucket_start(bar.start_ms, timeframe)
            )
            skip = len(closed) - keep
        yield from islice(reversed(closed), skip, None)
