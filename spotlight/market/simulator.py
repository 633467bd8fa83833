"""A deterministic, around-the-clock market simulator: the default data source.

Model, in brief:

* One market factor ``F`` (the log of ``I:SPX``, ~6000) follows a driftless random walk
  with ~15% annualized volatility, scaled by an exchange-time (America/New_York) profile:
  a U shape over 09:30-16:00 (busy at the open and close, quiet at lunch) and a lower but
  nonzero level overnight and on weekends, so a newcomer sees movement at any hour.
  Holidays are not modelled.
* Every symbol is ``anchor * exp(beta * (F - F0) + x)`` where ``x`` is a mean-reverting
  (Ornstein-Uhlenbeck) idiosyncratic term. SPY is SPX / ~10.04 with tiny, fast-reverting
  tracking noise; QQQ (~520) has beta 1.2 and ~0.9 return correlation; any other symbol
  gets a base price and beta derived from ``crc32(seed, symbol)``. Log-space steps keep
  prices positive; mean reversion keeps ratios (SPX/SPY) in a narrow band forever.
* Live ticks are Poisson arrivals (exponential gaps) per symbol; ETFs also get quotes at
  ``trades_per_second * quotes_per_trade``. Index values are trades with ``size == 0.0``.
* History is generated *backwards* from the live starting point, one bar per minute with a
  few substeps (not per tick, which would be ~100x slower). The same random walk read
  backwards is still a random walk, and it lets history end exactly where live ticks
  begin without live ticks depending on history (and vice versa).

Everything is a pure function of ``(config, start_ms)``: no wall clock, no trio, and each
concern draws from its own seeded ``random.Random`` stream, so the order in which
``history()`` and ``advance()`` are called never changes what either returns, and adding
an extra symbol never changes the paths of the others.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from random import Random

from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY
from spotlight.domain.ticks import Quote, Trade, is_index

__all__ = ["DEFAULT_SYMBOLS", "MarketSimulator", "SimulatorConfig"]

DEFAULT_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "I:SPX")

_MINUTE_MS = 60_000
_DAY_MINUTES = 1440

# Per-minute log sd of SPX at profile multiplier 1: 15% a year spread over 252 sessions of
# 390 regular-hours minutes (the profile averages ~1 over regular hours).
_SIGMA_MIN = 0.15 / math.sqrt(252 * 390)
# Live factor grid. Symbols read the factor by linear interpolation between grid points,
# so every symbol sees the same market move without sharing an RNG stream (a shared stream
# would make one symbol's tick count perturb another's path). 250 ms is far finer than
# any visible move.
_GRID_MS = 250
_GRID_DT_SQRT = math.sqrt(_GRID_MS / _MINUTE_MS)
# History substeps per minute: enough for plausible OHLC shapes, cheap enough for 5 days.
_SUBSTEPS = 4
_SUBSTEP_DT = 1.0 / _SUBSTEPS
# A 4-point path underestimates a minute's true range; widen high/low by a random
# excursion of about this many substep sds.
_EXCURSION = 0.5

_SYMBOL_RE = re.compile(r"(?:I:)?[A-Z0-9]+(?:\.[A-Z0-9]+)*")
_MAX_SYMBOL_LEN = 20


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Simulator knobs. Invalid values raise :class:`ValueError` at construction."""

    seed: int = 7
    # The caller always includes SPY, QQQ and I:SPX; any extra symbols are supported.
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    # Per symbol, on average, around the clock.
    trades_per_second: float = 2.0
    # Average quotes per trade for non-index symbols (0 disables quotes).
    quotes_per_trade: float = 1.0
    # Days of past 1-minute bars that history() generates.
    history_days: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if isinstance(self.symbols, str):
            # A bare string would otherwise be read as a tuple of one-letter symbols.
            raise ValueError(
                f"symbols must be a sequence of symbols, got the string {self.symbols!r}"
            )
        symbols = tuple(self.symbols)
        if not symbols:
            raise ValueError("symbols must not be empty")
        seen: set[str] = set()
        for sym in symbols:
            if (
                not isinstance(sym, str)
                or len(sym) > _MAX_SYMBOL_LEN
                or _SYMBOL_RE.fullmatch(sym) is None
            ):
                raise ValueError(
                    f"invalid symbol {sym!r}: expected uppercase letters, digits and dots "
                    f"with an optional 'I:' prefix, at most {_MAX_SYMBOL_LEN} characters"
                )
            if sym in seen:
                raise ValueError(f"duplicate symbol {sym!r} in symbols")
            seen.add(sym)
        # Normalize lists to a tuple so the config stays hashable and immutable.
        object.__setattr__(self, "symbols", symbols)
        if not _finite_number(self.trades_per_second) or self.trades_per_second <= 0:
            raise ValueError(
                f"trades_per_second must be a finite number > 0, got {self.trades_per_second!r}"
            )
        if not _finite_number(self.quotes_per_trade) or self.quotes_per_trade < 0:
            raise ValueError(
                f"quotes_per_trade must be a finite number >= 0, got {self.quotes_per_trade!r}"
            )
        if (
            isinstance(self.history_days, bool)
            or not isinstance(self.history_days, int)
            or self.history_days < 0
        ):
            raise ValueError(f"history_days must be an int >= 0, got {self.history_days!r}")


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------------------
# Exchange-time profile


@lru_cache(maxsize=16_384)
def _session_profile(minute_ms: int) -> tuple[float, float]:
    """``(volatility multiplier, volume multiplier)`` for the minute starting at ``minute_ms``.

    Cached: live ticks and history ask about the same minutes many times, and a zoneinfo
    conversion costs far more than the arithmetic. 16k entries is ~11 days of minutes.
    """
    local = datetime.fromtimestamp(minute_ms / 1000, tz=NY)
    if local.weekday() >= 5:  # Saturday, Sunday: quiet but alive
        return 0.15, 0.01
    mod = local.hour * 60 + local.minute
    if 570 <= mod < 960:  # 09:30-16:00 regular session
        # w is 1 at the open and the close, 0 at 12:45: the classic intraday U.
        w = ((mod - 570) / 390 * 2 - 1) ** 2
        # Vol averages 0.55 + 1.35 / 3 = 1.0 over the session (see _SIGMA_MIN).
        return 0.55 + 1.35 * w, 0.5 + 2.5 * w
    if 240 <= mod < 570 or 960 <= mod < 1200:  # pre-market 04:00, after-hours to 20:00
        return 0.3, 0.06
    return 0.2, 0.015  # overnight


# ---------------------------------------------------------------------------------------
# Symbol models


@dataclass(frozen=True, slots=True)
class _SymbolModel:
    symbol: str
    index: bool
    anchor: float  # latent price at start_ms == last history close (before rounding)
    beta: float  # sensitivity of the log price to the factor
    idio_sigma: float  # per-sqrt(minute) log sd of the idiosyncratic term at multiplier 1
    kappa: float  # OU mean reversion per minute (ln 2 / half-life)


def _half_life(minutes: float) -> float:
    return math.log(2) / minutes


def _build_models(config: SimulatorConfig) -> tuple[float, list[_SymbolModel]]:
    """Return the SPX anchor and one model per configured symbol, in config order."""
    # Seed-perturbed levels, drawn in a fixed order from their own stream so that the set of
    # configured symbols never changes them.
    params = Random(f"spotlight-sim:{config.seed}:params")
    spx = 6000.0 * math.exp(params.uniform(-0.03, 0.03))
    spy_ratio = params.uniform(10.02, 10.06)
    qqq = 520.0 * math.exp(params.uniform(-0.03, 0.03))
    models: list[_SymbolModel] = []
    for sym in config.symbols:
        if sym == "I:SPX":
            # The index *is* the factor: no idiosyncratic term.
            model = _SymbolModel(sym, True, spx, 1.0, 0.0, 1.0)
        elif sym == "SPY":
            # Tracking noise of ~0.1 factor sd with a 2-minute half-life keeps SPX/SPY
            # within a fraction of a basis point of the ratio.
            model = _SymbolModel(sym, False, spx / spy_ratio, 1.0, 0.1 * _SIGMA_MIN, _half_life(2))
        elif sym == "QQQ":
            # corr = 1.2 / sqrt(1.2^2 + s^2) = 0.9  =>  s = 0.58 (in factor sds).
            model = _SymbolModel(sym, False, qqq, 1.2, 0.58 * _SIGMA_MIN, _half_life(45))
        else:
            # crc32, not hash(): Python's str hash is salted per process.
            h = zlib.crc32(f"{config.seed}:{sym}".encode())
            u_price = (h & 0xFFFF) / 0xFFFF
            u_beta = (h >> 16) / 0xFFFF
            beta = 0.8 + 0.5 * u_beta
            index = is_index(sym)
            # Log-uniform levels: 20..500 for stocks/ETFs, 1000..20000 for indices.
            anchor = 1000.0 * 20.0**u_price if index else 20.0 * 25.0**u_price
            # Correlation ~0.75 with the factor; indices (baskets) track it more closely.
            idio = (0.3 if index else 0.9) * beta * _SIGMA_MIN
            model = _SymbolModel(sym, index, anchor, beta, idio, _half_life(60))
        models.append(model)
    return spx, models


def _poisson(rng: Random, lam: float) -> int:
    if lam < 30.0:
        # Knuth's method: exact and cheap for small means.
        limit = math.exp(-lam)
        k = 0
        p = rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    # Normal approximation: indistinguishable at these means and O(1).
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _lot_params(volume_mult: float) -> tuple[float, int, float]:
    """``(odd-lot probability, largest odd lot, mean extra round lots)`` by activity.

    The trade *rate* is constant around the clock (a configured knob), so the intraday
    volume curve comes from trade sizes: large multi-lot prints near the open and close,
    small odd lots overnight, as on real tapes.
    """
    if volume_mult >= 0.5:  # regular session: ~200 shares a print at lunch, ~850 at the open
        return 0.1, 99, 3.0 * volume_mult
    if volume_mult >= 0.05:  # pre-market and after-hours
        return 0.7, 99, 0.1
    return 0.95, 20, 0.05  # overnight and weekends


def _expected_size(volume_mult: float) -> float:
    odd, odd_max, extra = _lot_params(volume_mult)
    # E[floor(X)] for X ~ Exp(mean m) is q / (1 - q) with q = exp(-1/m); the lot cap is
    # ignored (it is rarely hit).
    q = math.exp(-1.0 / extra)
    return (1 - odd) * 100.0 * (1.0 + q / (1 - q)) + odd * (1 + odd_max) / 2


def _draw_trade_size(rng: Random, volume_mult: float) -> float:
    odd, odd_max, extra = _lot_params(volume_mult)
    if rng.random() < odd:
        return float(rng.randint(1, odd_max))
    lots = min(1 + int(rng.expovariate(1.0 / extra)), 50)
    return float(lots * 100)


# ---------------------------------------------------------------------------------------
# Live state


class _LiveSymbol:
    """Mutable live state of one symbol; advanced strictly in event-time order."""

    __slots__ = ("last_price", "model", "next_quote", "next_trade", "rng", "x", "x_t")

    def __init__(
        self, model: _SymbolModel, seed: int, start_ms: int, trade_gap: float, quote_gap: float
    ) -> None:
        self.model = model
        self.rng = Random(f"spotlight-sim:{seed}:live:{model.symbol}")
        self.x = 0.0  # idiosyncratic term; 0 so the start price is exactly the anchor
        self.x_t = float(start_ms)
        self.last_price = round(model.anchor, 2)
        # Continuous event times (float ms); the first of each kind one random gap in.
        self.next_trade = start_ms + self.rng.expovariate(1.0 / trade_gap)
        self.next_quote = math.inf  # indices never quote; nor does quotes_per_trade == 0
        if not model.index and math.isfinite(quote_gap):
            self.next_quote = start_ms + self.rng.expovariate(1.0 / quote_gap)


class MarketSimulator:
    """Deterministic ticks and 1-minute history for a fixed ``(config, start_ms)``."""

    def __init__(self, config: SimulatorConfig, start_ms: int) -> None:
        if isinstance(start_ms, bool) or not isinstance(start_ms, int) or start_ms < 0:
            raise ValueError(f"start_ms must be an int >= 0 (Unix ms), got {start_ms!r}")
        self._config = config
        self._start_ms = start_ms
        self._spx_anchor, self._models = _build_models(config)
        self._f0 = math.log(self._spx_anchor)
        # Mean gaps between events, in ms.
        self._trade_gap = 1000.0 / config.trades_per_second
        quote_rate = config.trades_per_second * config.quotes_per_trade
        self._quote_gap = 1000.0 / quote_rate if quote_rate > 0 else math.inf
        self._live = [
            _LiveSymbol(model, config.seed, start_ms, self._trade_gap, self._quote_gap)
            for model in self._models
        ]
        self._by_symbol = {s.model.symbol: s for s in self._live}
        # Live factor grid: _grid[i] is F at start_ms + (_grid_base + i) * _GRID_MS.
        self._factor_rng = Random(f"spotlight-sim:{config.seed}:live:factor")
        self._grid: list[float] = [self._f0]
        self._grid_base = 0
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
        """Price of the last trade returned by :meth:`advance` (initially the last
        history close). Raises :class:`KeyError` for an unknown symbol."""
        try:
            return self._by_symbol[symbol].last_price
        except KeyError:
            raise KeyError(f"unknown symbol {symbol!r}") from None

    # -- history ------------------------------------------------------------------------

    def history(self) -> dict[str, list[Bar]]:
        """Past 1-minute bars for every symbol, oldest first, ending with the minute before
        the one containing ``start_ms``. Deterministic and independent of :meth:`advance`.
        """
        n = self._config.history_days * _DAY_MINUTES
        end_minute = self._start_ms // _MINUTE_MS * _MINUTE_MS
        first_minute = end_minute - n * _MINUTE_MS
        profiles = [_session_profile(first_minute + i * _MINUTE_MS) for i in range(n)]
        factor = self._history_factor(profiles)
        return {
            model.symbol: self._history_symbol(model, profiles, factor, first_minute)
            for model in self._models
        }

    def _history_factor(self, profiles: list[tuple[float, float]]) -> list[float]:
        """F at every substep boundary, walked backwards from F0 at the last close."""
        rng = Random(f"spotlight-sim:{self._config.seed}:history:factor")
        gauss = rng.gauss
        n_points = len(profiles) * _SUBSTEPS + 1
        path = [0.0] * n_points
        f = self._f0
        path[-1] = f
        step = _SIGMA_MIN * math.sqrt(_SUBSTEP_DT)
        j = n_points - 1
        for i in range(len(profiles) - 1, -1, -1):
            sd = step * profiles[i][0]
            for _ in range(_SUBSTEPS):
                f -= gauss(0.0, sd)
                j -= 1
                path[j] = f
        return path

    def _history_symbol(
        self,
        model: _SymbolModel,
        profiles: list[tuple[float, float]],
        factor: list[float],
        first_minute: int,
    ) -> list[Bar]:
        rng = Random(f"spotlight-sim:{self._config.seed}:history:{model.symbol}")
        gauss = rng.gauss
        n = len(profiles)
        n_points = n * _SUBSTEPS + 1
        beta = model.beta
        base = math.log(model.anchor) - beta * self._f0

        # Idiosyncratic OU path, backwards from x = 0 at the last close (a stationary OU
        # process is time-reversible, so the backward recursion has the forward law).
        idio = [0.0] * n_points
        if model.idio_sigma > 0:
            a = math.exp(-model.kappa * _SUBSTEP_DT)
            b = model.idio_sigma * math.sqrt((1 - a * a) / (2 * model.kappa))
            x = 0.0
            j = n_points - 1
            for i in range(n - 1, -1, -1):
                sd = b * profiles[i][0]
                for _ in range(_SUBSTEPS):
                    x = x * a + gauss(0.0, sd)
                    j -= 1
                    idio[j] = x
        logs = [base + beta * f + x for f, x in zip(factor, idio, strict=True)]

        sub_sd = math.sqrt((beta * _SIGMA_MIN) ** 2 + model.idio_sigma**2) * math.sqrt(_SUBSTEP_DT)
        lam = self._config.trades_per_second * 60.0
        exp = math.exp
        sym = model.symbol
        index = model.index
        bars: list[Bar] = []
        append = bars.append
        for i in range(n):
            vol_mult, volume_mult = profiles[i]
            lo_j = i * _SUBSTEPS
            seg = logs[lo_j : lo_j + _SUBSTEPS + 1]
            widen = _EXCURSION * sub_sd * vol_mult
            hi = max(seg) + abs(gauss(0.0, widen))
            lo = min(seg) - abs(gauss(0.0, widen))
            # At least one trade per minute: bars are never invented for empty minutes
            # (see bars.py), and history promises one bar per minute.
            trades = max(1, _poisson(rng, lam))
            if index:
                volume = 0.0
            else:
                noise = exp(gauss(0.0, 0.25))
                volume = float(round(trades * _expected_size(volume_mult) * noise))
            # round() is monotone, so low <= open, close <= high survives rounding.
            append(
                Bar(
                    sym,
                    "1m",
                    first_minute + i * _MINUTE_MS,
                    round(exp(seg[0]), 2),
                    round(exp(hi), 2),
                    round(exp(lo), 2),
                    round(exp(seg[-1]), 2),
                    volume,
                    trades,
                )
            )
        return bars

    # -- live ---------------------------------------------------------------------------

    def next_tick_ms(self) -> float:
        """The ``ts_ms`` of the next tick ``advance`` will return (``math.inf``: none)."""
        due = min((min(s.next_trade, s.next_quote) for s in self._live), default=math.inf)
        return math.inf if due == math.inf else float(max(int(due), self._now + 1))

    def advance(self, now_ms: int) -> list[Trade | Quote]:
        """All ticks with ``start_ms <= ts_ms <= now_ms`` not yet returned, by ``ts_ms``
        (ties: config symbol order, then generation order). Returns ``[]`` if ``now_ms``
        is not past the previous call's."""
        if now_ms <= self._now:
            return []
        self._now = now_ms
        # Event times are continuous; ts_ms = floor(t) <= now_ms  <=>  t < now_ms + 1.
        limit = float(now_ms + 1)
        out: list[tuple[int, int, Trade | Quote]] = []
        for rank, state in enumerate(self._live):
            self._run_symbol(rank, state, limit, out)
        # Stable sort keeps each symbol's own order within a millisecond.
        out.sort(key=lambda item: (item[0], item[1]))
        self._trim_grid(limit)
        return [tick for _, _, tick in out]

    def _run_symbol(
        self,
        rank: int,
        state: _LiveSymbol,
        limit: float,
        out: list[tuple[int, int, Trade | Quote]],
    ) -> None:
        # Every draw below happens in event order and never depends on `limit`, so any
        # sequence of advance() calls produces the same events.
        model = state.model
        rng = state.rng
        sym = model.symbol
        base = math.log(model.anchor) - model.beta * self._f0
        while True:
            is_trade = state.next_trade <= state.next_quote
            t = state.next_trade if is_trade else state.next_quote
            if t >= limit:
                return
            ts = int(t)
            vol_mult, volume_mult = _session_profile(ts - ts % _MINUTE_MS)
            if model.idio_sigma > 0:
                self._evolve_idio(state, t, vol_mult)
            price = math.exp(base + model.beta * self._factor_at(t) + state.x)
            tick: Trade | Quote
            if is_trade:
                size = 0.0 if model.index else _draw_trade_size(rng, volume_mult)
                px = round(price, 2)
                state.last_price = px
                tick = Trade(sym, ts, px, size)
                state.next_trade = t + rng.expovariate(1.0 / self._trade_gap)
            else:
                cents = price * 100.0
                if rng.random() < 0.7:  # mostly one-cent markets, as in SPY/QQQ
                    bid_c = math.floor(cents)
                    ask_c = bid_c + 1
                else:
                    bid_c = round(cents) - 1
                    ask_c = bid_c + 2
                tick = Quote(
                    sym,
                    ts,
                    bid_c / 100,
                    ask_c / 100,
                    float(rng.randint(1, 30) * 100),
                    float(rng.randint(1, 30) * 100),
                )
                state.next_quote = t + rng.expovariate(1.0 / self._quote_gap)
            out.append((ts, rank, tick))

    def _evolve_idio(self, state: _LiveSymbol, t: float, vol_mult: float) -> None:
        model = state.model
        dt = (t - state.x_t) / _MINUTE_MS
        if dt <= 0:
            return
        a = math.exp(-model.kappa * dt)
        sd = model.idio_sigma * vol_mult * math.sqrt((1 - a * a) / (2 * model.kappa))
        state.x = state.x * a + state.rng.gauss(0.0, sd)
        state.x_t = t

    def _factor_at(self, t: float) -> float:
        pos = (t - self._start_ms) / _GRID_MS
        k = int(pos)
        i = k - self._grid_base
        grid = self._grid
        while i + 1 >= len(grid):
            # Step from grid point len-1 using the profile of the minute it lies in.
            g_ms = self._start_ms + (self._grid_base + len(grid) - 1) * _GRID_MS
            vol_mult = _session_profile(g_ms - g_ms % _MINUTE_MS)[0]
            grid.append(
                grid[-1] + self._factor_rng.gauss(0.0, _SIGMA_MIN * _GRID_DT_SQRT * vol_mult)
            )
        lo = grid[i]
        return lo + (grid[i + 1] - lo) * (pos - k)

    def _trim_grid(self, limit: float) -> None:
        # Every pending event lies at or after `limit`, so older grid points are dead.
        keep_from = int((limit - self._start_ms) / _GRID_MS) - self._grid_base
        # Always keep the newest point: the walk continues from it.
        drop = min(keep_from, len(self._grid) - 1)
        if drop > 0:
            del self._grid[:drop]
            self._grid_base += drop
