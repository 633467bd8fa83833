"""The data behind the fake Massive server: prices, bars, calendar and option chains.

Pure and deterministic (no I/O, no wall clock): everything is a function of the seed, the
start time and the ``now_ms`` a caller passes in.

* Prices and 1-minute bars come from :class:`~spotlight.market.simulator.MarketSimulator`
  (history before ``start_ms``, live ticks folded into bars up to ``now``), so the fake's
  aggregates, last trades, index values and option underlyings all agree.
* ``I:VIX`` is a pure function of ``I:SPX`` (a seeded base level, rising as SPX falls).
* The NYSE calendar (holidays, early closes) comes from market/calendar.py (exchange rules).
* Option chains are listed once per (underlying, New York date): expiries, a strike ladder
  around the price at New York midnight and open interest. Prices, greeks, quotes, trades
  and day volume are computed per request from the live spot (Black-Scholes with a skewed
  smile, plain ``math``), so only the contracts a page returns cost anything.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from hashlib import blake2b
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

# The NYSE calendar lives in market/calendar.py (the server uses it too); re-exported here.
from spotlight.market.calendar import early_closes, holidays, is_trading_day, nth_weekday
from spotlight.market.simulator import MarketSimulator, SimulatorConfig
from spotlight.market.ticks import Quote, Trade

__all__ = [
    "INDEX_NAMES",
    "NY",
    "STOCKS",
    "UNDERLYINGS",
    "Contract",
    "MarketData",
    "OptionBook",
    "PricingContext",
    "Row",
    "Underlying",
    "aggregate",
    "bucket_fn",
    "cut_page",
    "filter_contracts",
    "holidays",
    "index_market_status",
    "is_trading_day",
    "market_status",
    "ny_date",
    "ny_midnight_ms",
    "occ_ticker",
    "upcoming_holidays",
]

NY = ZoneInfo("America/New_York")
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
_YEAR_MS = 365.0 * DAY_MS
_NS = 1_000_000

STOCKS: tuple[str, ...] = ("SPY", "QQQ")
INDEX_NAMES: dict[str, str] = {"I:SPX": "S&P 500", "I:VIX": "CBOE Volatility Index"}
_SIM_SYMBOLS = ("SPY", "QQQ", "I:SPX")


# ---------------------------------------------------------------------------------------
# New York time and the NYSE calendar


def ny_date(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=NY).date()


@lru_cache(maxsize=4096)
def ny_midnight_ms(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=NY).timestamp() * 1000)


def _ny_ms(d: date, hour: int, minute: int) -> int:
    return int(datetime(d.year, d.month, d.day, hour, minute, tzinfo=NY).timestamp() * 1000)


def _open_ms(d: date) -> int:
    return _ny_ms(d, 9, 30)


def _close_ms(d: date) -> int:
    return _ny_ms(d, 13, 0) if d in early_closes(d.year) else _ny_ms(d, 16, 0)


def _trading_days_from(d: date, n: int) -> list[date]:
    out: list[date] = []
    while len(out) < n:
        if is_trading_day(d):
            out.append(d)
        d += timedelta(days=1)
    return out


def _previous_trading_day(d: date) -> date:
    d -= timedelta(days=1)
    while not is_trading_day(d):
        d -= timedelta(days=1)
    return d


def _phase(now_ms: int) -> str:
    """``open``, ``pre``, ``post`` or ``closed`` for the US equity market at ``now_ms``."""
    d = ny_date(now_ms)
    if not is_trading_day(d):
        return "closed"
    close = _close_ms(d)
    if _open_ms(d) <= now_ms < close:
        return "open"
    if _ny_ms(d, 4, 0) <= now_ms < _open_ms(d):
        return "pre"
    post_end = _ny_ms(d, 17, 0) if d in early_closes(d.year) else _ny_ms(d, 20, 0)
    if close <= now_ms < post_end:
        return "post"
    return "closed"


def market_status(now_ms: int) -> dict[str, Any]:
    """The flat ``/v1/marketstatus/now`` object."""
    phase = _phase(now_ms)
    market = {"open": "open", "closed": "closed"}.get(phase, "extended-hours")
    local = datetime.fromtimestamp(now_ms / 1000, tz=NY)
    # FX trades from Sunday 17:00 to Friday 17:00 New York time.
    wd, hm = local.weekday(), local.hour * 60 + local.minute
    fx_closed = wd == 5 or (wd == 4 and hm >= 1020) or (wd == 6 and hm < 1020)
    group = "open" if phase == "open" else "closed"
    return {
        "market": market,
        "serverTime": local.isoformat(timespec="seconds"),
        "earlyHours": phase == "pre",
        "afterHours": phase == "post",
        "exchanges": {"nasdaq": market, "nyse": market, "otc": market},
        "currencies": {"fx": "closed" if fx_closed else "open", "crypto": "open"},
        "indicesGroups": {
            name: group
            for name in (
                "s_and_p",
                "cgi",
                "dow_jones",
                "ftse_russell",
                "msci",
                "mstar",
                "mstarc",
                "nasdaq",
                "societe_generale",
                "cccy",
            )
        },
    }


def index_market_status(now_ms: int) -> str:
    return {
        "open": "regular_trading",
        "pre": "early_trading",
        "post": "late_trading",
    }.get(_phase(now_ms), "closed")


def _utc_z(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def upcoming_holidays(now_ms: int) -> list[dict[str, Any]]:
    """The bare ``/v1/marketstatus/upcoming`` array: closures and early closes in the next
    year (so at least one early close is always listed), one entry per exchange."""
    today = ny_date(now_ms)
    horizon = today + timedelta(days=366)
    days: list[tuple[date, str, bool]] = []
    for year in (today.year, today.year + 1):
        days += [(d, name, False) for d, name in holidays(year).items()]
        days += [(d, name, True) for d, name in early_closes(year).items()]
    out: list[dict[str, Any]] = []
    for d, name, early in sorted(days):
        if not today <= d <= horizon:
            continue
        for exchange in ("NYSE", "NASDAQ"):
            item: dict[str, Any] = {"date": d.isoformat(), "exchange": exchange, "name": name}
            if early:
                item["open"] = _utc_z(_open_ms(d))
                item["close"] = _utc_z(_close_ms(d))
                item["status"] = "early-close"
            else:
                item["status"] = "closed"
            out.append(item)
    return out


# ---------------------------------------------------------------------------------------
# Prices and 1-minute bars

# (t, o, h, l, c, v, vw, n)
Row = tuple[int, float, float, float, float, float, float, int]


@dataclass(frozen=True, slots=True)
class LastTrade:
    ts_ms: int
    price: float
    size: float
    seq: int


class MarketData:
    """Simulator-backed prices: 1-minute rows for SPY, QQQ, I:SPX (and derived I:VIX)."""

    def __init__(
        self, seed: int, start_ms: int, *, history_days: int = 10, trades_per_second: float = 2.0
    ) -> None:
        self.seed = seed
        self.start_ms = start_ms
        self.sim = MarketSimulator(
            SimulatorConfig(
                seed=seed,
                symbols=_SIM_SYMBOLS,
                trades_per_second=trades_per_second,
                history_days=history_days,
            ),
            start_ms,
        )
        self._rows: dict[str, list[Row]] = {}
        self._starts: dict[str, list[int]] = {}
        self._live: dict[str, list[Any] | None] = {}
        self._trade: dict[str, LastTrade] = {}
        self._quote: dict[str, Quote] = {}
        self._seq = 0
        for sym, bars in self.sim.history().items():
            rows: list[Row] = [
                (
                    b.start_ms,
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    round((b.high + b.low + b.close) / 3, 4),
                    b.trades,
                )
                for b in bars
            ]
            self._rows[sym] = rows
            self._starts[sym] = [r[0] for r in rows]
            self._live[sym] = None
            last_ts = rows[-1][0] + 59_500 if rows else start_ms - 1
            self._trade[sym] = LastTrade(last_ts, self.sim.last_price(sym), 100.0, 0)
        self.spx0 = self.sim.last_price("I:SPX")
        self.vix0 = Random(f"fake-massive:{seed}:vix").uniform(14.0, 18.0)
        self._now = start_ms - 1

    # -- live ---------------------------------------------------------------------------

    def sync(self, now_ms: int) -> None:
        """Fold every simulated tick up to ``now_ms`` into the live bars."""
        if now_ms <= self._now:
            return
        self._now = now_ms
        for tick in self.sim.advance(now_ms):
            if isinstance(tick, Trade):
                self._fold(tick)
            else:
                self._quote[tick.symbol] = tick

    def _fold(self, t: Trade) -> None:
        sym, p, s = t.symbol, t.price, t.size
        self._seq += 1
        self._trade[sym] = LastTrade(t.ts_ms, p, s, self._seq)
        minute = t.ts_ms - t.ts_ms % MINUTE_MS
        cur = self._live[sym]
        if cur is None or minute > cur[0]:
            if cur is not None:
                self._close(sym, cur)
            self._live[sym] = [minute, p, p, p, p, s, p * s, 1]
            return
        if p > cur[2]:
            cur[2] = p
        if p < cur[3]:
            cur[3] = p
        cur[4] = p
        cur[5] += s
        cur[6] += p * s
        cur[7] += 1

    def _close(self, sym: str, cur: list[Any]) -> None:
        row = _materialize(cur)
        self._rows[sym].append(row)
        self._starts[sym].append(row[0])

    def now(self) -> int:
        return self._now

    # -- reads --------------------------------------------------------------------------

    def price(self, symbol: str) -> float:
        if symbol == "I:VIX":
            return self.vix_of(self.sim.last_price("I:SPX"))
        return self.sim.last_price(symbol)

    def vix_of(self, spx: float) -> float:
        # About -4x SPX's log return: a 1% drop lifts VIX by ~4%.
        return round(self.vix0 * math.pow(spx / self.spx0, -4.0), 2)

    def last_trade(self, symbol: str) -> LastTrade:
        key = "I:SPX" if symbol == "I:VIX" else symbol
        return self._trade[key]

    def last_quote(self, symbol: str) -> Quote:
        q = self._quote.get(symbol)
        if q is not None:
            return q
        t = self._trade[symbol]
        return Quote(symbol, t.ts_ms, round(t.price - 0.01, 2), t.price, 500.0, 500.0)

    def minute_rows(self, symbol: str, lo_ms: int, hi_ms: int) -> list[Row]:
        """1-minute rows with ``lo_ms <= t <= hi_ms`` (the in-progress minute included)."""
        if symbol == "I:VIX":
            f = self.vix_of
            return [
                (r[0], f(r[1]), f(r[3]), f(r[2]), f(r[4]), 0.0, 0.0, r[7])
                for r in self.minute_rows("I:SPX", lo_ms, hi_ms)
            ]
        starts = self._starts.get(symbol)
        if starts is None:
            return []
        rows = self._rows[symbol]
        out = rows[bisect_left(starts, lo_ms) : bisect_right(starts, hi_ms)]
        cur = self._live[symbol]
        if cur is not None and lo_ms <= cur[0] <= hi_ms:
            out.append(_materialize(cur))
        return out

    def price_before(self, symbol: str, ms: int) -> float:
        """Close of the last minute that started before ``ms`` (else the first open)."""
        if symbol == "I:VIX":
            return self.vix_of(self.price_before("I:SPX", ms))
        cur = self._live[symbol]
        if cur is not None and cur[0] < ms:  # the live minute is newer than every row
            return float(cur[4])
        rows = self._rows[symbol]
        i = bisect_left(self._starts[symbol], ms)
        if i > 0:
            return rows[i - 1][4]
        if rows:
            return rows[0][1]
        return float(cur[1]) if cur is not None else self.sim.last_price(symbol)


def _materialize(cur: list[Any]) -> Row:
    t, o, h, low, c, v, pv, n = cur
    vw = round(pv / v, 4) if v > 0 else c
    return (t, o, h, low, c, v, vw, n)


# ---------------------------------------------------------------------------------------
# Options


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
_RATE = 0.043
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_MIN_T = MINUTE_MS / _YEAR_MS


class Contract:
    """One listed contract: static for its listing day."""

    __slots__ = (
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

    @property
    def contract_type(self) -> str:
        return "call" if self.call else "put"

    @property
    def exercise_style(self) -> str:
        return "european" if self.underlying.index else "american"

    def details(self) -> dict[str, Any]:
        return {
            "contract_type": self.contract_type,
            "exercise_style": self.exercise_style,
            "expiration_date": self.expiration,
            "shares_per_contract": 100,
            "strike_price": self.strike_json,
            "ticker": self.ticker,
        }

    def reference(self) -> dict[str, Any]:
        u = self.underlying
        cfi = ("OC" if self.call else "OP") + ("EICS" if u.index else "ASPS")
        return {
            "cfi": cfi,
            "contract_type": self.contract_type,
            "exercise_style": self.exercise_style,
            "expiration_date": self.expiration,
            "primary_exchange": u.primary_exchange,
            "shares_per_contract": 100,
            "strike_price": self.strike_json,
            "ticker": self.ticker,
            "underlying_ticker": u.bare,
        }


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
    daily = sorted(set(_trading_days_from(today, 11)) | set(monthlies))
    weekly_root = "SPXW" if u.bare == "SPX" else u.bare
    out = [(weekly_root, d, _close_ms(d), d in monthlies and u.bare != "SPX") for d in daily]
    if u.bare == "SPX":
        # AM-settled standard monthlies: they settle at the open on expiry day.
        out += [("SPX", d, _open_ms(d), True) for d in monthlies]
    return out


def _session_fraction(now_ms: int) -> float:
    """Share of a session's option volume traded by ``now_ms`` (U-shaped intraday)."""
    d = ny_date(now_ms)
    if not is_trading_day(d):
        return 1.0
    open_, close = _open_ms(d), _close_ms(d)
    if now_ms <= open_:
        return 0.0
    x = min(1.0, (now_ms - open_) / (close - open_))
    # Density 0.5 + 2.5 (2x - 1)^2, integrated and normalized to 1 at the close.
    return (0.5 * x + 2.5 * ((2 * x - 1) ** 3 + 1) / 6) / (0.5 + 2.5 * 2 / 6)


def _last_activity_ms(now_ms: int) -> int:
    """``now_ms`` during a session, else the close of the last session."""
    d = ny_date(now_ms)
    if is_trading_day(d) and now_ms >= _open_ms(d):
        return min(now_ms, _close_ms(d))
    return _close_ms(_previous_trading_day(d))


@dataclass(frozen=True, slots=True)
class PricingContext:
    now_ms: int
    today: date
    spot: float
    spot_ns: int
    atm: float  # at-the-money vol for 30+ days
    frac: float
    activity_ms: int
    timeframe: str = "REAL-TIME"


def _tick_round(x: float, tick: float) -> float:
    return round(round(x / tick) * tick, 2)


def _tick_floor(x: float, tick: float) -> float:
    return round(math.floor(x / tick + 1e-9) * tick, 2)


def _tick_ceil(x: float, tick: float) -> float:
    return round(math.ceil(x / tick - 1e-9) * tick, 2)


class OptionBook:
    """Option listings per (underlying, New York date) and their per-request snapshots."""

    def __init__(self, market: MarketData) -> None:
        self.market = market
        self._listings: dict[tuple[str, date], list[Contract]] = {}
        self._by_ticker: dict[tuple[str, date], dict[str, Contract]] = {}

    # -- listings -----------------------------------------------------------------------

    def listing(self, chain_ticker: str, now_ms: int) -> list[Contract]:
        """Contracts of ``chain_ticker`` alive at ``now_ms``, sorted by ticker."""
        u = UNDERLYINGS.get(chain_ticker)
        if u is None:
            return []
        contracts = self._day_listing(u, ny_date(now_ms))
        return [c for c in contracts if c.exp_ms > now_ms]

    def contract(self, chain_ticker: str, ticker: str, now_ms: int) -> Contract | None:
        u = UNDERLYINGS.get(chain_ticker)
        if u is None:
            return None
        today = ny_date(now_ms)
        self._day_listing(u, today)
        c = self._by_ticker[(u.chain_ticker, today)].get(ticker)
        return c if c is not None and c.exp_ms > now_ms else None

    def _day_listing(self, u: Underlying, today: date) -> list[Contract]:
        key = (u.chain_ticker, today)
        got = self._listings.get(key)
        if got is not None:
            return got
        if len(self._listings) > 16:  # a long-running demo: forget old days
            self._listings.clear()
            self._by_ticker.clear()
        ref = self.market.price_before(u.chain_ticker, ny_midnight_ms(today))
        seed = self.market.seed
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
                    contracts.append(
                        Contract(u, root, exp_d, exp_ms, call, strike, monthly, uu, oi)
                    )
        contracts.sort(key=lambda c: c.ticker)
        self._listings[key] = contracts
        self._by_ticker[key] = {c.ticker: c for c in contracts}
        return contracts

    def reference_listing(self, bare: str | None, now_ms: int) -> list[Contract]:
        """Reference contracts for a bare underlying (``SPX``), or all when ``None``."""
        if bare is None:
            out: list[Contract] = []
            for u in UNDERLYINGS.values():
                out += self.listing(u.chain_ticker, now_ms)
            out.sort(key=lambda c: c.ticker)
            return out
        found = BY_BARE.get(bare)
        return [] if found is None else self.listing(found.chain_ticker, now_ms)

    # -- snapshots ----------------------------------------------------------------------

    def context(self, chain_ticker: str, now_ms: int, *, delayed: bool = False) -> PricingContext:
        market = self.market
        spot = market.price(chain_ticker)
        u = UNDERLYINGS[chain_ticker]
        vix = market.price("I:VIX")
        return PricingContext(
            now_ms=now_ms,
            today=ny_date(now_ms),
            spot=spot,
            spot_ns=market.last_trade(chain_ticker).ts_ms * _NS,
            atm=vix / 100 * u.vol_mult,
            frac=_session_fraction(now_ms),
            activity_ms=_last_activity_ms(now_ms),
            timeframe="DELAYED" if delayed else "REAL-TIME",
        )

    def snapshot(self, c: Contract, ctx: PricingContext) -> dict[str, Any]:
        """One chain-snapshot item for ``c`` at ``ctx``."""
        u = c.underlying
        uu = c.u
        s, k = ctx.spot, c.strike
        t = max((c.exp_ms - ctx.now_ms) / _YEAR_MS, _MIN_T)
        sqt = math.sqrt(t)
        days = t * 365
        q = u.div_yield
        atm = ctx.atm * (0.88 + 0.12 * min(1.0, days / 30))
        fwd = s * math.exp((_RATE - q) * t)
        x = math.log(k / fwd) / (atm * sqt)
        x = -6.0 if x < -6.0 else (4.0 if x > 4.0 else x)
        iv = atm * (1 - 0.10 * x + 0.025 * x * x) * (1 + (uu[1] - 0.5) * 0.02)
        vs = iv * sqt
        d1 = (math.log(s / k) + (_RATE - q + 0.5 * iv * iv) * t) / vs
        d2 = d1 - vs
        dq, dr = math.exp(-q * t), math.exp(-_RATE * t)
        n1 = 0.5 * math.erfc(-d1 / _SQRT2)
        n2 = 0.5 * math.erfc(-d2 / _SQRT2)
        pdf = math.exp(-0.5 * d1 * d1) / _SQRT2PI
        decay = -s * dq * pdf * iv / (2 * sqt)
        if c.call:
            value = s * dq * n1 - k * dr * n2
            delta = dq * n1
            theta = (decay - _RATE * k * dr * n2 + q * s * dq * n1) / 365
        else:
            value = k * dr * (1 - n2) - s * dq * (1 - n1)
            delta = dq * (n1 - 1)
            theta = (decay + _RATE * k * dr * (1 - n2) - q * s * dq * (1 - n1)) / 365
        gamma = dq * pdf / (s * vs)
        vega = s * dq * pdf * sqt / 100
        value = max(value, 0.0)

        # Quote around the model value.
        tick = u.tick_small if value < 3.0 else u.tick_large
        spread_raw = min(value * (0.01 + 0.03 * uu[2]), 0.0006 * s * (1 + uu[2]))
        spread = max(tick, _tick_ceil(spread_raw, tick))
        bid = _tick_floor(value - spread / 2, tick)
        if bid <= 0:
            bid = 0.0
            ask = max(tick, _tick_ceil(value + spread / 2, tick))
        else:
            ask = round(bid + spread, 2)
        mid = round((bid + ask) / 2, 4)
        quote_ms = ctx.activity_ms - int(uu[3] * 2000)

        # Day activity: volume accrues through the session.
        total = c.oi * (0.15 + 1.3 * uu[4]) * (3.0 if c.exp_date == ctx.today else 1.0)
        volume = float(int(total * ctx.frac))
        trade_px = min(max(_tick_round(mid * (1 + (uu[5] - 0.5) * 0.03), tick), bid), ask)
        trade_px = max(trade_px, tick)
        gap_s = 1 + uu[6] * 900 / (1 + volume / 50)
        trade_ms = int(ctx.activity_ms - gap_s * 1000)
        if volume == 0:
            trade_ms = _close_ms(_previous_trading_day(ctx.today)) - int(uu[6] * 3_600_000)
        trade_ns = trade_ms * _NS
        prev_close = max(tick, _tick_round(mid * math.exp((uu[7] - 0.5) * 0.5), tick))
        if volume > 0:
            close = trade_px
            open_ = max(tick, _tick_round(prev_close * math.exp((uu[8] - 0.5) * 0.4), tick))
            high = _tick_ceil(max(open_, close) * (1 + 0.3 * uu[9]), tick)
            low = max(tick, _tick_floor(min(open_, close) * (1 - 0.3 * uu[10]), tick))
            vwap = round(low + (high - low) * (0.3 + 0.4 * uu[11]), 4)
        else:
            close = open_ = high = low = vwap = prev_close
        change = round(close - prev_close, 2)
        break_even = round(k + mid if c.call else k - mid, 4)
        tf = ctx.timeframe
        item: dict[str, Any] = {
            "break_even_price": break_even,
            "day": {
                "change": change,
                "change_percent": round(change / prev_close * 100, 2),
                "close": close,
                "high": high,
                "last_updated": trade_ns,
                "low": low,
                "open": open_,
                "previous_close": prev_close,
                "volume": volume,
                "vwap": vwap,
            },
            "details": c.details(),
        }
        if abs(delta) < 0.995:  # like Massive, no greeks for deep in-the-money contracts
            item["greeks"] = {
                "delta": round(delta, 4),
                "gamma": round(gamma, 6),
                "theta": round(theta, 4),
                "vega": round(vega, 4),
            }
            item["implied_volatility"] = round(iv, 5)
        elif uu[12] < 0.5:
            item["implied_volatility"] = round(iv, 5)
        exchange = 302 if u.index else 300 + int(uu[13] * 24)
        item["last_quote"] = {
            "ask": ask,
            "ask_exchange": exchange,
            "ask_size": float(1 + int(uu[14] * 150)),
            "bid": bid,
            "bid_exchange": exchange,
            "bid_size": float(1 + int(uu[15] * 150)),
            "last_updated": quote_ms * _NS,
            "midpoint": mid,
            "timeframe": tf,
        }
        item["last_trade"] = {
            "conditions": [209 if uu[5] < 0.8 else 227],
            "exchange": exchange,
            "price": trade_px,
            "sip_timestamp": trade_ns,
            "size": 1 + int(uu[9] ** 3 * 50),
            "timeframe": tf,
        }
        item["open_interest"] = c.oi
        spot_key = "value" if u.index else "price"
        item["underlying_asset"] = {
            "change_to_break_even": round(break_even - s, 4),
            "last_updated": ctx.spot_ns,
            spot_key: s,
            "ticker": u.chain_ticker,
            "timeframe": tf,
        }
        return item

    def chain(self, chain_ticker: str, now_ms: int) -> list[dict[str, Any]]:
        """The whole chain snapshot (every live contract), for benchmarks and tests."""
        self.market.sync(now_ms)
        ctx = self.context(chain_ticker, now_ms)
        return [self.snapshot(c, ctx) for c in self.listing(chain_ticker, now_ms)]


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


def filter_contracts(
    contracts: Iterable[Contract],
    *,
    contract_type: str | None = None,
    expiration: dict[str, str] | None = None,
    strike: dict[str, float] | None = None,
) -> list[Contract]:
    """Apply Massive's ``field`` / ``field.gt|gte|lt|lte`` filters (ops keyed "", "gt", ...)."""
    out: list[Contract] = []
    exp = expiration or {}
    stk = strike or {}
    for c in contracts:
        if contract_type is not None and c.contract_type != contract_type:
            continue
        if exp and not _matches(c.expiration, exp):
            continue
        if stk and not _matches(c.strike, stk):
            continue
        out.append(c)
    return out


def _matches(value: Any, ops: dict[str, Any]) -> bool:
    for op, bound in ops.items():
        if op == "" and value != bound:
            return False
        if op == "gt" and not value > bound:
            return False
        if op == "gte" and not value >= bound:
            return False
        if op == "lt" and not value < bound:
            return False
        if op == "lte" and not value <= bound:
            return False
    return True


# ---------------------------------------------------------------------------------------
# Aggregation of 1-minute rows into larger bars


class _DayStarts:
    """New York midnights covering a range, for cheap bucketing of many rows."""

    def __init__(self, lo_ms: int, hi_ms: int) -> None:
        d = ny_date(lo_ms)
        self.starts: list[int] = []
        while True:
            m = ny_midnight_ms(d)
            if m > hi_ms:
                break
            self.starts.append(m)
            d += timedelta(days=1)
        self.first = d - timedelta(days=len(self.starts))

    def index(self, t: int) -> int:
        return bisect_right(self.starts, t) - 1


def bucket_fn(timespan: str, mult: int, rows: Sequence[Row]) -> Callable[[int], int]:
    """Bucket start of a base-bar time for ``mult`` x ``timespan`` (New York aligned)."""
    if not rows:
        return lambda t: t
    days = _DayStarts(rows[0][0], rows[-1][0])
    starts = days.starts
    if timespan == "day":
        epoch_day = (days.first - date(1970, 1, 1)).days

        def by_day(t: int) -> int:
            i = days.index(t)
            return starts[max(0, i - (epoch_day + i) % mult)] if mult > 1 else starts[i]

        return by_day
    width = mult * (60_000 if timespan == "minute" else 3_600_000)

    def by_width(t: int) -> int:
        ds = starts[days.index(t)]
        return ds + (t - ds) // width * width

    return by_width


def aggregate(rows: Sequence[Row], timespan: str, mult: int) -> list[Row]:
    """Aggregate sorted rows into ``mult`` x ``timespan`` bars."""
    if timespan == "minute" and mult == 1:
        return list(rows)
    bucket = bucket_fn(timespan, mult, rows)
    out: list[Row] = []
    acc: list[Any] | None = None
    for t, o, h, lo, c, v, vw, n in rows:
        b = bucket(t)
        if acc is not None and acc[0] == b:
            acc[2] = max(acc[2], h)
            acc[3] = min(acc[3], lo)
            acc[4] = c
            acc[5] += v
            acc[6] += vw * v
            acc[7] += n
            continue
        if acc is not None:
            out.append(_acc_row(acc))
        acc = [b, o, h, lo, c, v, vw * v, n]
    if acc is not None:
        out.append(_acc_row(acc))
    return out


def _acc_row(acc: list[Any]) -> Row:
    b, o, h, lo, c, v, pv, n = acc
    return (b, o, h, lo, c, v, round(pv / v, 4) if v > 0 else c, n)


def cut_page(
    base: list[Row], limit: int, desc: bool, bucket: Callable[[int], int]
) -> tuple[list[Row], int | None]:
    """The base bars of one page (never splitting an output bar unless one bar alone
    exceeds ``limit``), and the ms timestamp the next page's ``from`` (or ``to`` when
    descending) is rewritten to, or None on the last page."""
    n = len(base)
    if n <= limit:
        return base, None
    if not desc:
        cut = limit
        boundary = bucket(base[cut][0])
        while cut > 0 and bucket(base[cut - 1][0]) == boundary:
            cut -= 1
        if cut == 0:
            cut = limit
        return base[:cut], base[cut][0]
    start = n - limit
    boundary = bucket(base[start - 1][0])
    while start < n and bucket(base[start][0]) == boundary:
        start += 1
    if start == n:
        start = n - limit
    return base[start:], base[start][0] - 1
