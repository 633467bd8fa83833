"""The simulator's option book: listings per (underlying, New York date) and their snapshots
(pure and deterministic: everything is a function of the seed, the date and the ``now_ms`` a
caller passes in).

Chains are listed once per (underlying, New York date) by ``simulated_listings.py``: expiries
(dailies, the SPX AM-settled monthlies), a strike ladder around the last close before New York
midnight and open interest. Prices,
greeks, quotes, trades and day volume are computed per request from the tape's live spot
(Black-Scholes with a skewed smile, plain ``math``), so only the contracts asked for cost
anything. :meth:`OptionBook.quote` computes one contract's numbers once; the simulated
source turns them into the domain's ``OptionSnapshot`` (:meth:`OptionBook.snapshot`), and
the shipped fake Massive renders the same numbers as Massive's JSON, so simulated chains and
the fake's answers agree field by field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from spotlight.domain.calendar import (
    is_trading_day,
    previous_trading_day,
    session_close_ms,
    session_open_ms,
)
from spotlight.domain.nytime import ny_date, ny_midnight_ms
from spotlight.domain.options import OptionSnapshot, usable_mid
from spotlight.market.simulated_listings import (
    BY_BARE,
    OPTION_UNDERLYINGS,
    UNDERLYINGS,
    Contract,
    Underlying,
    day_listing,
    occ_ticker,
)
from spotlight.market.simulated_tape import MarketData

__all__ = [
    "BY_BARE",
    "OPTION_UNDERLYINGS",
    "UNDERLYINGS",
    "Contract",
    "ContractQuote",
    "OptionBook",
    "PricingContext",
    "Underlying",
    "occ_ticker",
]

MINUTE_MS = 60_000
DAY_MS = 86_400_000
_YEAR_MS = 365.0 * DAY_MS
_NS = 1_000_000


_RATE = 0.043
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)
_MIN_T = MINUTE_MS / _YEAR_MS


def _session_fraction(now_ms: int) -> float:
    """Share of a session's option volume traded by ``now_ms`` (U-shaped intraday)."""
    d = ny_date(now_ms)
    if not is_trading_day(d):
        return 1.0
    open_, close = session_open_ms(d), session_close_ms(d)
    if now_ms <= open_:
        return 0.0
    x = min(1.0, (now_ms - open_) / (close - open_))
    # Density 0.5 + 2.5 (2x - 1)^2, integrated and normalized to 1 at the close.
    return (0.5 * x + 2.5 * ((2 * x - 1) ** 3 + 1) / 6) / (0.5 + 2.5 * 2 / 6)


def _last_activity_ms(now_ms: int) -> int:
    """``now_ms`` during a session, else the close of the last session."""
    d = ny_date(now_ms)
    if is_trading_day(d) and now_ms >= session_open_ms(d):
        return min(now_ms, session_close_ms(d))
    return session_close_ms(previous_trading_day(d))


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


@dataclass(frozen=True, slots=True)
class ContractQuote:
    """One contract's numbers at one instant, rounded as a vendor would publish them.

    ``greeks`` is False for deep in-the-money contracts (like Massive, no greeks then);
    ``has_iv`` says whether the implied volatility is published (always with greeks, for
    about half of the rest). Times are Unix ms.
    """

    spot: float
    iv: float
    delta: float
    gamma: float
    theta: float
    vega: float
    greeks: bool
    has_iv: bool
    bid: float
    ask: float
    mid: float
    bid_size: float
    ask_size: float
    quote_ms: int
    exchange: int
    volume: float
    trade_price: float
    trade_size: float
    trade_ms: int
    condition: int
    prev_close: float
    day_open: float
    day_high: float
    day_low: float
    day_close: float
    vwap: float


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
        contracts = day_listing(u, today, ref, self.market.seed)
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
        """What every contract of ``chain_ticker`` is priced from at ``now_ms``.

        Options keep market hours: outside a session (under the tape's ``exchange`` hours)
        the chain is priced as of the last session's close, spot included, so a snapshot at
        night shows the closing chain, not quotes that decay or drift while nothing trades.
        """
        market = self.market
        u = UNDERLYINGS[chain_ticker]
        activity = _last_activity_ms(now_ms)
        if market.hours == "always" or activity >= now_ms:
            priced_at, spot = now_ms, market.price(chain_ticker)
            vix = market.price("I:VIX")
        else:
            priced_at, spot = activity, market.price_before(chain_ticker, activity)
            vix = market.vix_of(market.price_before("I:SPX", activity))
        return PricingContext(
            now_ms=priced_at,
            today=ny_date(now_ms),
            spot=spot,
            spot_ns=market.last_trade(chain_ticker).ts_ms * _NS,
            atm=vix / 100 * u.vol_mult,
            frac=_session_fraction(now_ms),
            activity_ms=activity,
            timeframe="DELAYED" if delayed else "REAL-TIME",
        )

    def quote(self, c: Contract, ctx: PricingContext) -> ContractQuote:
        """The numbers of ``c`` at ``ctx``: model value, greeks, quote, day activity."""
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
            trade_ms = session_close_ms(previous_trading_day(ctx.today)) - int(uu[6] * 3_600_000)
        prev_close = max(tick, _tick_round(mid * math.exp((uu[7] - 0.5) * 0.5), tick))
        if volume > 0:
            close = trade_px
            open_ = max(tick, _tick_round(prev_close * math.exp((uu[8] - 0.5) * 0.4), tick))
            high = _tick_ceil(max(open_, close) * (1 + 0.3 * uu[9]), tick)
            low = max(tick, _tick_floor(min(open_, close) * (1 - 0.3 * uu[10]), tick))
            vwap = round(low + (high - low) * (0.3 + 0.4 * uu[11]), 4)
        else:
            close = open_ = high = low = vwap = prev_close
        exchange = 302 if u.index else 300 + int(uu[13] * 24)
        greeks = abs(delta) < 0.995
        trade_size = float(1 + int(uu[9] ** 3 * 50))
        condition = _condition(uu[5])
        block = c.block
        block_ms = _session_ms(ctx.today, block.at) if block is not None else None
        if block is not None and block_ms is not None and ctx.activity_ms >= block_ms:
            # The day's block has printed: in the volume, and the last print until a routine
            # one comes after it (the quote updated right after it, so its side is known).
            volume += block.size
            if block_ms >= trade_ms:
                trade_ms, trade_size, condition = block_ms, float(block.size), block.condition
                # A seller cannot hit a zero bid: such a block is bought at the ask.
                trade_px = ask if block.buy or bid <= 0 else bid
                quote_ms = block_ms + 200
        return ContractQuote(
            spot=s,
            iv=round(iv, 5),
            delta=round(delta, 4),
            gamma=round(gamma, 6),
            theta=round(theta, 4),
            vega=round(vega, 4),
            greeks=greeks,
            has_iv=greeks or uu[12] < 0.5,
            bid=bid,
            ask=ask,
            mid=mid,
            bid_size=float(1 + int(uu[15] * 150)),
            ask_size=float(1 + int(uu[14] * 150)),
            quote_ms=quote_ms,
            exchange=exchange,
            volume=volume,
            trade_price=trade_px,
            trade_size=trade_size,
            trade_ms=trade_ms,
            condition=condition,
            prev_close=prev_close,
            day_open=open_,
            day_high=high,
            day_low=low,
            day_close=close,
            vwap=vwap,
        )

    def snapshot(self, c: Contract, ctx: PricingContext) -> OptionSnapshot:
        """``c`` at ``ctx`` as the domain's snapshot (what analytics read)."""
        q = self.quote(c, ctx)
        return OptionSnapshot(
            ticker=c.ticker,
            contract_type=c.contract_type,
            expiration_date=c.expiration,
            strike=c.strike,
            shares_per_contract=100.0,
            open_interest=float(c.oi),
            implied_volatility=q.iv if q.has_iv else None,
            delta=q.delta if q.greeks else None,
            gamma=q.gamma if q.greeks else None,
            theta=q.theta if q.greeks else None,
            vega=q.vega if q.greeks else None,
            day_volume=q.volume,
            day_vwap=q.vwap,
            bid=q.bid,
            ask=q.ask,
            mid=usable_mid(q.bid, q.ask, q.mid),  # as Massive's parser: no bid, no mid
            quote_ts_ms=q.quote_ms,
            last_price=q.trade_price,
            last_size=q.trade_size,
            last_exchange=q.exchange,
            last_conditions=(q.condition,),
            trade_ts_ms=q.trade_ms,
            underlying_value=q.spot,
            delayed=ctx.timeframe == "DELAYED",
        )

    def chain(self, chain_ticker: str, now_ms: int) -> list[OptionSnapshot]:
        """The whole chain (every live contract) at ``now_ms``."""
        self.market.sync(now_ms)
        ctx = self.context(chain_ticker, now_ms)
        return [self.snapshot(c, ctx) for c in self.listing(chain_ticker, now_ms)]


def _session_ms(day: date, share: float) -> int | None:
    """The instant ``share`` of the way through ``day``'s regular session (None if closed)."""
    if not is_trading_day(day):
        return None
    open_, close = session_open_ms(day), session_close_ms(day)
    return open_ + int(share * (close - open_))


def _condition(u: float) -> int:
    """The latest print's OPRA condition, as Massive numbers them: mostly automatic
    executions (209), some multi-leg legs (232), ISO sweeps (219) and auctions (227), so flow
    analytics see every kind of print they must tell apart (analytics/trade_conditions.py)."""
    if u < 0.6:
        return 209
    if u < 0.75:
        return 232
    if u < 0.85:
        return 219
    return 227
