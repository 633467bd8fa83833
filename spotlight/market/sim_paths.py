"""The simulated market's price paths, as pure functions of the seed and the date (pure).

Time is cut into New York calendar days. For each day ``d``:

* the market factor ``F`` (log of ``I:SPX``) at New York midnight, the *anchor* ``A(d)``, is
  an AR(1) over days: ``A(d) = F0 + sum_k phi^(k-1) s(d-k) e(d-k)`` (k = 1.._ANCHOR_TERMS),
  with ``e(d)`` one seeded normal per date and ``s(d)`` that day's sd. A truncated sum, not a
  recursion, so an anchor never depends on which days were computed before it, and mean
  reversion (half-life ``ANCHOR_HALF_LIFE_DAYS``) keeps the index near its base level forever;
* inside the day, ``F`` walks from ``A(d)`` to ``A(d+1)`` on 4 substeps a minute: seeded
  normal steps scaled by the exchange-time profile (a U over the regular session, quieter
  pre- and after-market, quieter still overnight, on weekends and holidays), then bridged so
  the walk ends exactly at the next anchor (a Brownian bridge in variance time);
* each symbol adds a mean-reverting (Ornstein-Uhlenbeck) idiosyncratic term that starts each
  day from a seeded stationary draw and is bridged to the next day's start.

So every day's path is a function of ``(seed, date)`` alone: a restart, or a twin built for
another purpose, sees the same past. Each concern draws from its own ``random.Random``
stream, keyed by seed, symbol and date, so adding a symbol never changes another's path.
"""

from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from hashlib import blake2b
from random import Random
from typing import Final

import numpy as np
from numpy.typing import NDArray

from spotlight.domain.calendar import early_closes, is_trading_day
from spotlight.domain.nytime import ny_midnight_ms
from spotlight.domain.ticks import is_index
from spotlight.market.sim_config import SimulatorConfig

Path = NDArray[np.float64]

__all__ = [
    "MINUTE_MS",
    "SIGMA_MIN",
    "SUBSTEPS",
    "MarketPaths",
    "Path",
    "SymbolModel",
    "build_models",
    "day_minutes",
    "day_start_ms",
    "minute_profiles",
    "session_minutes",
    "stream",
]

MINUTE_MS: Final = 60_000
# Per-minute log sd of SPX at profile multiplier 1: 15% a year spread over 252 sessions of
# 390 regular-hours minutes (the profile averages ~1 over regular hours).
SIGMA_MIN: Final = 0.15 / math.sqrt(252 * 390)
# Substeps per minute: enough for plausible OHLC shapes and tick paths, cheap enough for days.
SUBSTEPS: Final = 4
# Mean reversion of the daily anchor: 15 calendar days keeps SPX within about +-6% (2 sd) of
# its seeded base while a week still trends. phi^_ANCHOR_TERMS < 1e-3: the truncation is far
# below a cent.
ANCHOR_HALF_LIFE_DAYS: Final = 15.0
_PHI: Final = 0.5 ** (1.0 / ANCHOR_HALF_LIFE_DAYS)
_ANCHOR_TERMS: Final = 160
# Days of paths kept per symbol: a week of history plus today, so history, live ticks and
# the option book never regenerate a day while they read it.
_DAY_CACHE: Final = 10


def day_start_ms(d: date) -> int:
    return ny_midnight_ms(d)


def day_minutes(d: date) -> int:
    """Minutes in New York day ``d``: 1440, or 1380 / 1500 on DST switch days."""
    return (ny_midnight_ms(d + timedelta(days=1)) - ny_midnight_ms(d)) // MINUTE_MS


def minute_profiles(d: date) -> tuple[tuple[float, float], ...]:
    """``(volatility multiplier, volume multiplier)`` per minute of New York day ``d``.

    A U over the regular session (09:30 to the close, 13:00 on early-close days), lower
    pre-market (04:00) and after-hours (to 20:00), lower still overnight; weekends and NYSE
    holidays are quiet but alive (for the symbols that trade then)."""
    close = None
    if is_trading_day(d):
        close = 13 * 60 if d in early_closes(d.year) else 16 * 60
    return _profiles(close, day_minutes(d))


def _wall_minute(i: int, n: int) -> int:
    """Wall-clock minute of day of the ``i``-th minute of a day ``n`` minutes long: clocks
    jump from 02:00 to 03:00 on the 23-hour day and from 02:00 back to 01:00 on the 25-hour
    day (US rules: the switch is at 02:00 local)."""
    if n == 1380 and i >= 120:
        return i + 60
    if n == 1500 and i >= 120:
        return i - 60
    return i


@lru_cache(maxsize=16)
def _profiles(close: int | None, n: int) -> tuple[tuple[float, float], ...]:
    if close is None:
        return ((0.15, 0.01),) * n
    length = close - 570
    out: list[tuple[float, float]] = []
    for i in range(n):
        mod = _wall_minute(i, n)
        if 570 <= mod < close:
            # w is 1 at the open and the close, 0 mid-session: the classic intraday U.
            w = ((mod - 570) / length * 2 - 1) ** 2
            # Vol averages 0.55 + 1.35 / 3 = 1.0 over the session (see SIGMA_MIN).
            out.append((0.55 + 1.35 * w, 0.5 + 2.5 * w))
        elif 240 <= mod < 570 or close <= mod < 1200:
            out.append((0.3, 0.06))
        else:
            out.append((0.2, 0.015))
    return tuple(out)


@lru_cache(maxsize=16)
def _variance(close: int | None, n: int) -> float:
    return SIGMA_MIN * SIGMA_MIN * math.fsum(v * v for v, _ in _profiles(close, n))


def _day_variance(d: date) -> float:
    """Variance of F over day ``d`` (log units): the profile's squared multipliers."""
    close = None
    if is_trading_day(d):
        close = 13 * 60 if d in early_closes(d.year) else 16 * 60
    return _variance(close, day_minutes(d))


@lru_cache(maxsize=64)
def session_minutes(d: date) -> tuple[bool, ...]:
    """Per minute of day ``d``: whether it is in the NYSE regular session."""
    n = day_minutes(d)
    if not is_trading_day(d):
        return (False,) * n
    close = 13 * 60 if d in early_closes(d.year) else 16 * 60
    return tuple(570 <= _wall_minute(i, n) < close for i in range(n))


def stream(key: str) -> np.random.Generator:
    """A numpy generator seeded by ``key`` (blake2b, so not Python's per-process salted hash):
    bulk draws for a whole day in one call."""
    digest = blake2b(key.encode(), digest_size=16).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest, "big")))


def _substep_sds(d: date, per_minute: float) -> Path:
    """The sd of every substep of day ``d`` at ``per_minute`` sd per unit multiplier."""
    vols = np.asarray([v for v, _ in minute_profiles(d)], dtype=np.float64)
    out: Path = np.repeat(vols * per_minute * math.sqrt(1.0 / SUBSTEPS), SUBSTEPS)
    return out


@dataclass(frozen=True, slots=True)
class SymbolModel:
    symbol: str
    index: bool
    level: float  # price when F is at its base F0 and the idiosyncratic term is 0
    beta: float  # sensitivity of the log price to the factor
    idio_sigma: float  # per-sqrt(minute) log sd of the idiosyncratic term at multiplier 1
    kappa: float  # OU mean reversion per minute (ln 2 / half-life)


def _half_life(minutes: float) -> float:
    return math.log(2) / minutes


def build_models(config: SimulatorConfig) -> tuple[float, list[SymbolModel]]:
    """The SPX base level and one model per configured symbol, in config order."""
    # Seed-perturbed levels, drawn in a fixed order from their own stream so that the set of
    # configured symbols never changes them.
    params = Random(f"spotlight-sim:{config.seed}:params")
    spx = 6000.0 * math.exp(params.uniform(-0.03, 0.03))
    spy_ratio = params.uniform(10.02, 10.06)
    qqq = 520.0 * math.exp(params.uniform(-0.03, 0.03))
    models: list[SymbolModel] = []
    for sym in config.symbols:
        if sym == "I:SPX":
            # The index *is* the factor: no idiosyncratic term.
            model = SymbolModel(sym, True, spx, 1.0, 0.0, 1.0)
        elif sym == "SPY":
            # Tracking noise of ~0.1 factor sd with a 2-minute half-life keeps SPX/SPY
            # within a fraction of a basis point of the ratio.
            model = SymbolModel(sym, False, spx / spy_ratio, 1.0, 0.1 * SIGMA_MIN, _half_life(2))
        elif sym == "QQQ":
            # corr = 1.2 / sqrt(1.2^2 + s^2) = 0.9  =>  s = 0.58 (in factor sds).
            model = SymbolModel(sym, False, qqq, 1.2, 0.58 * SIGMA_MIN, _half_life(45))
        else:
            # crc32, not hash(): Python's str hash is salted per process.
            h = zlib.crc32(f"{config.seed}:{sym}".encode())
            u_price = (h & 0xFFFF) / 0xFFFF
            u_beta = (h >> 16) / 0xFFFF
            beta = 0.8 + 0.5 * u_beta
            index = is_index(sym)
            # Log-uniform levels: 20..500 for stocks/ETFs, 1000..20000 for indices.
            level = 1000.0 * 20.0**u_price if index else 20.0 * 25.0**u_price
            # Correlation ~0.75 with the factor; indices (baskets) track it more closely.
            idio = (0.3 if index else 0.9) * beta * SIGMA_MIN
            model = SymbolModel(sym, index, level, beta, idio, _half_life(60))
        models.append(model)
    return spx, models


class _LruDays:
    """The newest ``_DAY_CACHE`` days of one path (bounded: a long-running demo moves on)."""

    __slots__ = ("_days",)

    def __init__(self) -> None:
        self._days: OrderedDict[date, Path] = OrderedDict()

    def get(self, key: date) -> Path | None:
        return self._days.get(key)

    def keep(self, key: date, value: Path) -> Path:
        self._days[key] = value
        while len(self._days) > _DAY_CACHE:
            self._days.popitem(last=False)
        return value


class MarketPaths:
    """Log prices of every symbol on a substep grid, one New York day at a time."""

    def __init__(self, seed: int, spx_base: float) -> None:
        self.seed = seed
        self.f0 = math.log(spx_base)
        self._anchors: dict[date, float] = {}
        self._factor = _LruDays()
        self._logs: dict[str, _LruDays] = {}

    # -- the factor -----------------------------------------------------------------------
    def anchor(self, d: date) -> float:
        """F at New York midnight starting ``d``."""
        got = self._anchors.get(d)
        if got is None:
            y = 0.0
            weight = 1.0
            for k in range(1, _ANCHOR_TERMS + 1):
                past = d - timedelta(days=k)
                e = Random(f"spotlight-sim:{self.seed}:anchor:{past.isoformat()}").gauss(0, 1)
                y += weight * math.sqrt(_day_variance(past)) * e
                weight *= _PHI
            if len(self._anchors) > 4 * _DAY_CACHE:
                self._anchors.clear()
            got = self._anchors[d] = self.f0 + y
        return got

    def factor(self, d: date) -> Path:
        """F at every substep boundary of day ``d`` (SUBSTEPS * minutes + 1 points)."""
        got = self._factor.get(d)
        if got is not None:
            return got
        sds = _substep_sds(d, SIGMA_MIN)
        steps = stream(f"spotlight-sim:{self.seed}:factor:{d.isoformat()}").standard_normal(
            sds.shape[0]
        )
        walk = np.concatenate(([0.0], np.cumsum(steps * sds)))
        tau = np.concatenate(([0.0], np.cumsum(sds * sds)))  # the bridge's clock: variance
        a, b = self.anchor(d), self.anchor(d + timedelta(days=1))
        path: Path = a + walk + ((b - a) - walk[-1]) * (tau / tau[-1])
        return self._factor.keep(d, path)

    # -- symbols --------------------------------------------------------------------------
    def _idio_start(self, model: SymbolModel, d: date) -> float:
        if model.idio_sigma <= 0:
            return 0.0
        sd = model.idio_sigma / math.sqrt(2 * model.kappa)  # stationary sd at multiplier 1
        return Random(f"spotlight-sim:{self.seed}:idio0:{model.symbol}:{d.isoformat()}").gauss(
            0.0, sd
        )

    def logs(self, model: SymbolModel, d: date) -> Path:
        """Log price of ``model`` at every substep boundary of day ``d``."""
        cache = self._logs.setdefault(model.symbol, _LruDays())
        got = cache.get(d)
        if got is not None:
            return got
        base = math.log(model.level) - model.beta * self.f0
        logs: Path = base + model.beta * self.factor(d)
        if model.idio_sigma > 0:
            logs = logs + self._idio(model, d)
        return cache.keep(d, logs)

    def _idio(self, model: SymbolModel, d: date) -> Path:
        """The OU term over day ``d``, bridged to the next day's seeded start."""
        kappa = model.kappa
        dt = 1.0 / SUBSTEPS
        a = math.exp(-kappa * dt)
        # Exact OU transition per substep; the profile scales the noise.
        b = model.idio_sigma * math.sqrt((1 - a * a) / (2 * kappa)) / math.sqrt(dt)
        sds = _substep_sds(d, b)
        draws = stream(f"spotlight-sim:{self.seed}:idio:{model.symbol}:{d.isoformat()}")
        noise = (draws.standard_normal(sds.shape[0]) * sds).tolist()
        x = self._idio_start(model, d)
        out = [x]
        for e in noise:  # a recursion: sequential by nature, cheap next to the draws
            x = x * a + e
            out.append(x)
        # OU bridge: the correction decays away from the end like the process itself, so
        # only the last hour or so of the day feels the pull to the next day's start.
        t = np.arange(len(out), dtype=np.float64) * dt
        big_t = t[-1]
        miss = self._idio_start(model, d + timedelta(days=1)) - out[-1]
        weight = np.exp(-kappa * (big_t - t)) * (1.0 - np.exp(-2 * kappa * t))
        weight /= 1.0 - math.exp(-2 * kappa * big_t)
        bridged: Path = np.asarray(out) + miss * weight
        return bridged
