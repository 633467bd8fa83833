"""The data side of the shipped fake Massive: market status, holidays, option JSON, filters
and aggregation (pure: no I/O, no wall clock).

Prices and bars come from the simulated tape (``market/simulated_tape.py``) and option
numbers from the simulator's option book (``market/simulated_options.py``), so the fake's
endpoints agree with each other and with the simulator of the same seed. This module only
renders them the way Massive's REST API does.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from spotlight.domain.calendar import (
    early_closes,
    holidays,
    is_trading_day,
    session_close_ms,
    session_open_ms,
)
from spotlight.domain.nytime import NY, ny_date, ny_midnight_ms, ny_ms
from spotlight.market.simulated_options import Contract, OptionBook, PricingContext
from spotlight.market.simulated_tape import Row

__all__ = [
    "INDEX_NAMES",
    "STOCKS",
    "aggregate",
    "bucket_fn",
    "chain_json",
    "contract_reference",
    "cut_page",
    "filter_contracts",
    "index_market_status",
    "market_status",
    "snapshot_json",
    "upcoming_holidays",
]

STOCKS: tuple[str, ...] = ("SPY", "QQQ")
INDEX_NAMES: dict[str, str] = {"I:SPX": "S&P 500", "I:VIX": "CBOE Volatility Index"}
_NS = 1_000_000


def _phase(now_ms: int) -> str:
    """``open``, ``pre``, ``post`` or ``closed`` for the US equity market at ``now_ms``."""
    d = ny_date(now_ms)
    if not is_trading_day(d):
        return "closed"
    close = session_close_ms(d)
    if session_open_ms(d) <= now_ms < close:
        return "open"
    if ny_ms(d, 4, 0) <= now_ms < session_open_ms(d):
        return "pre"
    post_end = ny_ms(d, 17, 0) if d in early_closes(d.year) else ny_ms(d, 20, 0)
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
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


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
                item["open"] = _utc_z(session_open_ms(d))
                item["close"] = _utc_z(session_close_ms(d))
                item["status"] = "early-close"
            else:
                item["status"] = "closed"
            out.append(item)
    return out


# ---------------------------------------------------------------------------------------
# Options


def contract_details(c: Contract) -> dict[str, Any]:
    """The ``details`` block of a chain-snapshot item."""
    return {
        "contract_type": c.contract_type,
        "exercise_style": c.exercise_style,
        "expiration_date": c.expiration,
        "shares_per_contract": 100,
        "strike_price": c.strike_json,
        "ticker": c.ticker,
    }


def contract_reference(c: Contract) -> dict[str, Any]:
    """A ``/v3/reference/options/contracts`` row."""
    u = c.underlying
    cfi = ("OC" if c.call else "OP") + ("EICS" if u.index else "ASPS")
    return {
        "cfi": cfi,
        "contract_type": c.contract_type,
        "exercise_style": c.exercise_style,
        "expiration_date": c.expiration,
        "primary_exchange": u.primary_exchange,
        "shares_per_contract": 100,
        "strike_price": c.strike_json,
        "ticker": c.ticker,
        "underlying_ticker": u.bare,
    }


def snapshot_json(book: OptionBook, c: Contract, ctx: PricingContext) -> dict[str, Any]:
    """One chain-snapshot item for ``c`` at ``ctx``, as Massive's JSON."""
    q = book.quote(c, ctx)
    u = c.underlying
    s, k, mid = q.spot, c.strike, q.mid
    tf = ctx.timeframe
    trade_ns = q.trade_ms * _NS
    change = round(q.day_close - q.prev_close, 2)
    break_even = round(k + mid if c.call else k - mid, 4)
    item: dict[str, Any] = {
        "break_even_price": break_even,
        "day": {
            "change": change,
            "change_percent": round(change / q.prev_close * 100, 2),
            "close": q.day_close,
            "high": q.day_high,
            "last_updated": trade_ns,
            "low": q.day_low,
            "open": q.day_open,
            "previous_close": q.prev_close,
            "volume": q.volume,
            "vwap": q.vwap,
        },
        "details": contract_details(c),
    }
    if q.greeks:  # like Massive, no greeks for deep in-the-money contracts
        item["greeks"] = {"delta": q.delta, "gamma": q.gamma, "theta": q.theta, "vega": q.vega}
    if q.has_iv:
        item["implied_volatility"] = q.iv
    item["last_quote"] = {
        "ask": q.ask,
        "ask_exchange": q.exchange,
        "ask_size": q.ask_size,
        "bid": q.bid,
        "bid_exchange": q.exchange,
        "bid_size": q.bid_size,
        "last_updated": q.quote_ms * _NS,
        "midpoint": mid,
        "timeframe": tf,
    }
    item["last_trade"] = {
        "conditions": [q.condition],
        "exchange": q.exchange,
        "price": q.trade_price,
        "sip_timestamp": trade_ns,
        "size": int(q.trade_size),
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


def chain_json(book: OptionBook, chain_ticker: str, now_ms: int) -> list[dict[str, Any]]:
    """The whole chain snapshot (every live contract) as Massive's JSON items."""
    book.market.sync(now_ms)
    ctx = book.context(chain_ticker, now_ms)
    return [snapshot_json(book, c, ctx) for c in book.listing(chain_ticker, now_ms)]


# ---------------------------------------------------------------------------------------
# Filters and aggregation


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
