"""A deterministic market simulator: the default data source.

Model, in brief (the parts live in ``sim_paths.py`` and ``sim_minutes.py``):

* One market factor ``F`` (the log of ``I:SPX``, ~6000) follows a mean-reverting random walk
  with ~15% annualized volatility, scaled by an exchange-time (America/New_York) profile:
  a U shape over the regular session (busy at the open and close, quiet at lunch), lower
  pre- and after-market, lower still overnight, on weekends and NYSE holidays.
* Every symbol is ``level * exp(beta * (F - F0) + x)`` where ``x`` is a mean-reverting
  (Ornstein-Uhlenbeck) idiosyncratic term. SPY is SPX / ~10.04 with tiny, fast-reverting
  tracking noise; QQQ (~520) has beta 1.2 and ~0.9 return correlation; any other symbol
  gets a base price and beta derived from ``crc32(seed, symbol)``.
* Market hours (``SimulatorConfig.hours``): under ``exchange`` (the default) an index prints
  only in NYSE regular sessions (09:30 to the close, 13:00 on early-close days; nothing on
  weekends and holidays), so its bars, its session levels and its options keep market hours;
  stocks and ETFs print around the clock, quietly overnight, so a live stream exists at any
  hour. Under ``always`` indices print around the clock too (demos at night, tests).
* Every day's path, bars and ticks are a pure function of ``(seed, date)``: not of when the
  simulator started. A restart therefore never rewrites the past: ``history()`` after a
  restart equals the bars the live ticks built before it, minute for minute. ``start_ms``
  only says where history ends and live ticks begin.

No wall clock, no trio, and each concern draws from its own seeded ``random.Random`` stream,
so the order in which ``history()`` and ``advance()`` are called never changes what either
returns, and adding an extra symbol never changes the paths of the others.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

from spotlight.domain.bars import Bar
from spotlight.domain.calendar import previous_trading_day
from spotlight.domain.nytime import ny_date
from spotlight.domain.ticks import Quote, Trade
from spotlight.market.sim_config import DEFAULT_SYMBOLS, SimulatorConfig
from spotlight.market.sim_minutes import MinuteTicks, day_bars, minute_ticks
from spotlight.market.sim_paths import (
    MINUTE_MS,
    SUBSTEPS,
    MarketPaths,
    SymbolModel,
    build_models,
    day_start_ms,
    minute_profiles,
)

__all__ = ["DEFAULT_SYMBOLS", "MarketSimulator", "SimulatorConfig", "history_start_ms"]

_DAY_MS = 86_400_000
# How far back the last print before start is looked for: the longest NYSE closure (a
# weekend next to a holiday, or the rare multi-day closings) is well inside a week.
_LOOKBACK_DAYS = 10
# Per-symbol day bars kept: history days plus today, bounded for a long-running demo.
_BAR_DAYS = 12


def history_start_ms(start_ms: int, sessions: int) -> int:
    """Where ``sessions`` trading sessions of history begin for a start at ``start_ms``:
    New York midnight of the ``sessions``-th NYSE trading day before the start's New York
    date (the start minute itself when ``sessions`` is 0).

    Sessions, not 24-hour days: a trader's "prior day" is the previous session, so one
    session of history started on a Monday reaches back to Friday (and past a holiday), and
    prior-day levels exist whatever the weekday. Every calendar day in between is included
    too (stocks print around the clock, and under ``always`` the index does).
    """
    if sessions == 0:
        return start_ms - start_ms % MINUTE_MS
    d = ny_date(start_ms)
    for _ in range(sessions):
        d = previous_trading_day(d)
    return day_start_ms(d)


class _Live:
    """Where one symbol's live stream is: the minute in progress and what it emitted."""

    __slots__ = ("last_price", "last_quote", "last_trade", "minute", "quotes", "ticks", "trades")

    def __init__(self, last_trade: Trade | None, last_price: float) -> None:
        self.minute = -1  # start of the minute whose ticks are loaded
        self.ticks: MinuteTicks | None = None
        self.trades = 0  # prints of that minute already returned
        self.quotes = 0  # and quotes
        self.last_trade = last_trade
        self.last_quote: Quote | None = None
        self.last_price = last_price


class MarketSimulator:
    """Deterministic ticks and 1-minute bars; history ends at ``start_ms``."""

    def __init__(self, config: SimulatorConfig, start_ms: int) -> None:
        if isinstance(start_ms, bool) or not isinstance(start_ms, int) or start_ms < 0:
            raise ValueError(f"start_ms must be an int >= 0 (Unix ms), got {start_ms!r}")
        self._config = config
        self._start_ms = start_ms
        spx_base, self._models = build_models(config)
        self.spx_base = spx_base
        self._paths = MarketPaths(config.seed, spx_base)
        self._by_symbol = {m.symbol: m for m in self._models}
        self._bars: dict[tuple[str, date], list[Bar | None]] = {}
        self._minutes: dict[tuple[str, int], MinuteTicks] = {}
        self._live: dict[str, _Live] = {}
        for m in self._models:
            last = self._last_trade_before(m, start_ms)
            self._live[m.symbol] = _Live(last, last.price if last else round(m.level, 2))
        self._now = start_ms - 1  # high-water mark of advance()

    @property
    def config(self) -> SimulatorConfig:
        return self._config

    @property
    def start_ms(self) -> int:
        return self._start_ms

    @property
    def symbols(self) -> tuple[str, ...]:
        return self._config.symbols

    def last_price(self, symbol: str) -> float:
        """Price of the last print returned by :meth:`advance` (initially the last print
        before ``start_ms``). Raises :class:`KeyError` for an unknown symbol."""
        try:
            return self._live[symbol].last_price
        except KeyError:
            raise KeyError(f"unknown symbol {symbol!r}") from None

    def last_trade(self, symbol: str) -> Trade | None:
        """The last print returned by :meth:`advance`, or the last before ``start_ms``
        (None when the symbol has not printed within ten days of the start)."""
        return self._live[symbol].last_trade

    def last_quote(self, symbol: str) -> Quote | None:
        """The last quote returned by :meth:`advance` (None before the first)."""
        return self._live[symbol].last_quote

    def model(self, symbol: str) -> SymbolModel:
        return self._by_symbol[symbol]

    # -- bars -----------------------------------------------------------------------------

    def _day(self, model: SymbolModel, d: date) -> list[Bar | None]:
        key = (model.symbol, d)
        got = self._bars.get(key)
        if got is None:
            if len(self._bars) > _BAR_DAYS * len(self._models):
                self._bars.clear()
            cfg = self._config
            logs = self._paths.logs(model, d)
            got = self._bars[key] = day_bars(
                cfg.seed, model, d, logs, cfg.trades_per_second, cfg.hours
            )
        return got

    def _bar(self, model: SymbolModel, minute_ms: int) -> Bar | None:
        d = ny_date(minute_ms)
        return self._day(model, d)[(minute_ms - day_start_ms(d)) // MINUTE_MS]

    def _ticks(self, model: SymbolModel, bar: Bar) -> MinuteTicks:
        key = (model.symbol, bar.start_ms)
        got = self._minutes.get(key)
        if got is None:
            if len(self._minutes) > 4 * len(self._models):  # the minutes in use, bounded
                self._minutes.clear()
            got = self._minutes[key] = self._make_ticks(model, bar)
        return got

    def _make_ticks(self, model: SymbolModel, bar: Bar) -> MinuteTicks:
        d = ny_date(bar.start_ms)
        i = (bar.start_ms - day_start_ms(d)) // MINUTE_MS
        seg = self._paths.logs(model, d)[i * SUBSTEPS : i * SUBSTEPS + SUBSTEPS + 1].tolist()
        volume_mult = minute_profiles(d)[i][1]
        return minute_ticks(
            self._config.seed, model, bar, seg, volume_mult, self._config.quotes_per_trade
        )

    def bars(self, symbol: str, lo_ms: int, hi_ms: int, now_ms: int) -> list[Bar]:
        """1-minute bars of ``symbol`` starting in ``[lo_ms, hi_ms]``, as of ``now_ms``: the
        minute in progress holds only the prints up to ``now_ms``, later minutes none."""
        model = self._by_symbol[symbol]
        out: list[Bar] = []
        minute = lo_ms - lo_ms % MINUTE_MS + (MINUTE_MS if lo_ms % MINUTE_MS else 0)
        last = min(hi_ms, now_ms)
        d = ny_date(minute) if minute <= last else None
        while d is not None:
            start = day_start_ms(d)
            day = self._day(model, d)
            end = day_start_ms(d + timedelta(days=1))
            i = max(0, (minute - start) // MINUTE_MS)
            while i < len(day) and start + i * MINUTE_MS <= last:
                bar = day[i]
                if bar is not None:
                    if bar.start_ms + MINUTE_MS - 1 <= now_ms:
                        out.append(bar)
                    else:
                        partial = self._partial(model, bar, now_ms)
                        if partial is not None:
                            out.append(partial)
                i += 1
            d = d + timedelta(days=1) if end <= last else None
            minute = end
        return out

    def _partial(self, model: SymbolModel, bar: Bar, now_ms: int) -> Bar | None:
        """``bar`` as far as its prints up to ``now_ms`` go (None before the first)."""
        ticks = self._ticks(model, bar)
        k = ticks.trades_until(now_ms)
        if k == 0:
            return None
        prices = ticks.t_price[:k]
        return Bar(
            bar.symbol, "1m", bar.start_ms, prices[0], max(prices), min(prices), prices[-1],
            float(sum(ticks.t_size[:k])), k,
        )  # fmt: skip

    def history(self) -> dict[str, list[Bar]]:
        """Past 1-minute bars for every symbol, oldest first: every traded minute from the
        start of the ``history_days`` trading sessions before ``start_ms``'s New York date
        (:func:`history_start_ms`) up to ``start_ms``, the last one holding only the prints
        before ``start_ms``. Deterministic and independent of :meth:`advance`."""
        if self._config.history_days == 0:
            return {m.symbol: [] for m in self._models}
        lo = history_start_ms(self._start_ms, self._config.history_days)
        end = self._start_ms - 1
        return {m.symbol: self.bars(m.symbol, lo, end, end) for m in self._models}

    def _last_trade_before(self, model: SymbolModel, ms: int) -> Trade | None:
        """The last print with ``ts_ms < ms`` (None if there is none within the look-back)."""
        minute = (ms - 1) - (ms - 1) % MINUTE_MS
        floor = minute - _LOOKBACK_DAYS * _DAY_MS
        while minute >= floor:
            bar = self._bar(model, minute)
            if bar is not None:
                ticks = self._ticks(model, bar)
                k = ticks.trades_until(ms - 1)
                if k:
                    return ticks.trade(k - 1)
            minute -= MINUTE_MS
        return None

    # -- live ticks -----------------------------------------------------------------------

    def next_tick_ms(self) -> float:
        """The ``ts_ms`` of the next tick :meth:`advance` will return, looking into the
        current and the next minute (``math.inf`` when nothing prints before then, e.g. an
        index alone while the market is closed: a caller polls again within a second)."""
        after = max(self._now, self._start_ms - 1)
        first = after + 1 - (after + 1) % MINUTE_MS
        best = math.inf
        for model in self._models:
            for minute in (first, first + MINUTE_MS):
                bar = self._bar(model, minute)
                if bar is None:
                    continue
                ticks = self._ticks(model, bar)
                k, j = ticks.trades_until(after), ticks.quotes_until(after)
                due = [ticks.t_ts[k]] if k < len(ticks.t_ts) else []
                due += [ticks.q_ts[j]] if j < len(ticks.q_ts) else []
                if due:
                    best = min(best, float(min(due)))
                    break
        return best

    def advance(self, now_ms: int, /) -> list[Trade | Quote]:
        """Every tick with ``start_ms <= ts_ms <= now_ms`` not returned yet, by ``ts_ms``
        (ties: config symbol order, then time order within a symbol). ``[]`` when ``now_ms``
        is not past the previous call's. Chunking never changes what is returned."""
        if now_ms <= self._now:
            return []
        since = self._now
        self._now = now_ms
        out: list[tuple[int, int, int, Trade | Quote]] = []
        for rank, model in enumerate(self._models):
            self._run_symbol(rank, model, since, now_ms, out)
        out.sort(key=lambda item: (item[0], item[1], item[2]))
        return [tick for _, _, _, tick in out]

    def _run_symbol(
        self,
        rank: int,
        model: SymbolModel,
        since: int,
        now_ms: int,
        out: list[tuple[int, int, int, Trade | Quote]],
    ) -> None:
        live = self._live[model.symbol]
        minute = max(since + 1, self._start_ms)
        minute -= minute % MINUTE_MS
        while minute <= now_ms:
            if live.minute != minute:
                bar = self._bar(model, minute)
                live.minute = minute
                live.ticks = None if bar is None else self._ticks(model, bar)
                # Ticks before start_ms belong to history (its last, partial bar).
                live.trades = live.quotes = 0
                if live.ticks is not None:
                    live.trades = live.ticks.trades_until(self._start_ms - 1)
                    live.quotes = live.ticks.quotes_until(self._start_ms - 1)
            ticks = live.ticks
            if ticks is not None:
                for k, tick in enumerate(ticks.between(live.trades, live.quotes, now_ms)):
                    if isinstance(tick, Trade):
                        live.last_price = tick.price
                        live.last_trade = tick
                        live.trades += 1
                    else:
                        live.last_quote = tick
                        live.quotes += 1
                    out.append((tick.ts_ms, rank, k, tick))
            minute += MINUTE_MS
