"""The simulator's option listings: underlyings, contracts, expiries, strikes and open
interest per (underlying, New York date) (pure: a function of the seed, the day and the last
close; ``simulated_options.py`` prices them).

Expiries: dailies for eleven trading days and the next two monthlies (third Fridays, moved
back over a holiday); SPX lists PM-settled SPXW for all of them plus AM-settled SPX monthlies
that settle on the opening print.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from hashlib import blake2b

from spotlight.domain.calendar import (
    is_trading_day,
    nth_weekday,
    session_close_ms,
    session_open_ms,
    trading_days_from,
)

__all__ = [
    "BY_BARE",
    "OPTION_UNDERLYINGS",
    "UNDERLYINGS",
    "Block",
    "Contract",
    "Underlying",
    "day_listing",
    "occ_ticker",
]


@dataclass(frozen=True, slots=True)
class Underlying:
    chain_ticker: str  # what the snapshot path takes: I:SPX, SPY
    bare: str  # what the reference endpoint takes: SPX, SPY
    index: bool
    inner_step: float
    inner_pct: float
    outer_step: float
    outer_pct: float
    tick_small: float
    tick_large: float
    oi_scale: float
    div_yield: float
    vol_mult: float
    primary_exchange: str


UNDERLYINGS: dict[str, Underlying] = {
    "I:SPX": Underlying(
        "I:SPX", "SPX", True, 5, 0.05, 25, 0.20, 0.05, 0.10, 2500, 0.013, 1.0, "XCBO"
    ),
    "SPY": Underlying("SPY", "SPY", False, 1, 0.10, 5, 0.20, 0.01, 0.01, 6000, 0.012, 1.0, "BATO"),
    "QQQ": Underlying("QQQ", "QQQ", False, 1, 0.10, 5, 0.20, 0.01, 0.01, 4000, 0.006, 1.25, "XNAS"),
}
BY_BARE: dict[str, Underlying] = {u.bare: u for u in UNDERLYINGS.values()}
# Underlyings whose option chains the simulator provides (the SPX analytics' inputs).
OPTION_UNDERLYINGS = ("I:SPX", "SPY")


class Contract:
    """One listed contract: static for its listing day."""

    __slots__ = (
        "block",
        "call",
        "exp_date",
        "exp_ms",
        "expiration",
        "monthly",
        "oi",
        "root",
        "strike",
        "strike_json",
        "ticker",
        "u",
        "underlying",
    )

    def __init__(
        self,
        underlying: Underlying,
        root: str,
        exp_date: date,
        exp_ms: int,
        call: bool,
        strike: float,
        monthly: bool,
        u: tuple[float, ...],
        oi: int,
        block: Block | None = None,
    ) -> None:
        self.underlying = underlying
        self.root = root
        self.exp_date = exp_date
        self.expiration = exp_date.isoformat()
        self.exp_ms = exp_ms
        self.call = call
        self.strike = strike
        self.strike_json: float | int = int(strike) if strike.is_integer() else strike
        self.monthly = monthly
        self.ticker = occ_ticker(root, exp_date, call, strike)
        self.u = u
        self.oi = oi
        self.block = block

    @property
    def contract_type(self) -> str:
        return "call" if self.call else "put"

    @property
    def exercise_style(self) -> str:
        return "european" if self.underlying.index else "american"


def occ_ticker(root: str, exp: date, call: bool, strike: float) -> str:
    return f"O:{root}{exp:%y%m%d}{'C' if call else 'P'}{round(strike * 1000):08d}"


def _uniforms(key: str) -> tuple[float, ...]:
    digest = blake2b(key.encode(), digest_size=32).digest()
    return tuple(int.from_bytes(digest[i : i + 2], "big") / 65536.0 for i in range(0, 32, 2))


def _strikes(u: Underlying, ref: float) -> list[float]:
    out: set[float] = set()
    for step, pct in ((u.inner_step, u.inner_pct), (u.outer_step, u.outer_pct)):
        lo = math.ceil(ref * (1 - pct) / step)
        hi = math.floor(ref * (1 + pct) / step)
        out.update(float(k * step) for k in range(lo, hi + 1))
    return sorted(out)


def _third_friday(year: int, month: int) -> date:
    d = nth_weekday(year, month, 4, 3)
    while not is_trading_day(d):  # Good Friday and the like: the day before
        d -= timedelta(days=1)
    return d


def _expiries(u: Underlying, today: date) -> list[tuple[str, date, int, bool]]:
    """``(root, date, expiry instant ms, monthly)`` for the contracts listed on ``today``."""
    monthlies: list[date] = []
    y, m = today.year, today.month
    for _ in range(3):
        d = _third_friday(y, m)
        if d >= today:
            monthlies.append(d)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    monthlies = monthlies[:2]
    daily = sorted(set(trading_days_from(today, 11)) | set(monthlies))
    weekly_root = "SPXW" if u.bare == "SPX" else u.bare
    out = [(weekly_root, d, session_close_ms(d), d in monthlies and u.bare != "SPX") for d in daily]
    if u.bare == "SPX":
        # AM-settled standard monthlies: they settle at the open on expiry day.
        out += [("SPX", d, session_open_ms(d), True) for d in monthlies]
    return out


@dataclass(frozen=True, slots=True)
class Block:
    """One large print a contract gets during its listing day: at ``at`` (a share of the
    session), ``size`` contracts, flagged ``condition`` (219: an ISO sweep, 227: a single-leg
    auction, the usual way blocks cross), bought at the ask or sold at the bid."""

    at: float
    size: int
    condition: int
    buy: bool


# About one contract in seventy prints one block a day: a few dozen across an SPX chain,
# a handful per hour, so flow has genuine sweeps and blocks to find among the routine prints.
_BLOCK_ODDS = 0.015


def _block(seed: int, today: date, ticker: str) -> Block | None:
    u = _uniforms(f"{seed}:{today}:{ticker}:block")
    if u[0] >= _BLOCK_ODDS:
        return None
    return Block(0.03 + 0.94 * u[1], 250 + int(u[2] * 1750), 219 if u[3] < 0.4 else 227, u[4] < 0.6)


@lru_cache(maxsize=8)
def day_listing(u: Underlying, today: date, ref: float, seed: int) -> list[Contract]:
    """Every contract of ``u`` listed on ``today`` around ``ref`` (the last close), sorted by
    ticker: expiries, a strike ladder, and open interest peaked at the money, heavier on
    round strikes, out-of-the-money puts and monthlies, seeded per contract and day.

    Shared, not copied: the result is cached (a pure function of its arguments, ~0.4 s for
    an SPX day) because every option book of one process builds the same days: the
    simulated source's, the analytics worker's, the fake Massive's, and each test server's.
    Callers must not modify the list or its contracts."""
    contracts: list[Contract] = []
    for root, exp_d, exp_ms, monthly in _expiries(u, today):
        days = max((exp_d - today).days, 0)
        width = 0.012 + 0.12 * math.sqrt(days / 365)
        exp_factor = (2.5 if monthly else 1.0) * (0.7 if days == 0 else math.exp(-days / 90))
        for strike in _strikes(u, ref):
            dist = math.log(strike / ref)
            for call in (True, False):
                ticker = occ_ticker(root, exp_d, call, strike)
                uu = _uniforms(f"{seed}:{today}:{ticker}")
                roundness = _roundness(u, strike)
                otm = (strike > ref) if call else (strike < ref)
                side = (1.2 if call else 1.6) if otm else 0.45
                peak = 0.08 + math.exp(-0.5 * (dist / width) ** 2)
                noise = math.exp((uu[0] - 0.5) * 1.2)
                oi = int(u.oi_scale * peak * roundness * side * exp_factor * noise)
                block = _block(seed, today, ticker) if oi > 0 else None
                contracts.append(
                    Contract(u, root, exp_d, exp_ms, call, strike, monthly, uu, oi, block)
                )
    contracts.sort(key=lambda c: c.ticker)
    return contracts


def _roundness(u: Underlying, strike: float) -> float:
    big = 100.0 if u.index else 10.0
    mid = 50.0 if u.index else 5.0
    if strike % big == 0:
        return 3.0
    if strike % mid == 0:
        return 2.0
    if u.index and strike % 25 == 0:
        return 1.4
    return 1.0
