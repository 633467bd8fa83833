"""Massive responses parsed into frozen, validated models (pure: no I/O).

Every ``parse`` takes whatever ``orjson.loads`` produced and either returns a model or raises
``MassiveDataError`` naming the field path, the bad value and what was expected; junk never
escapes as ``KeyError``/``TypeError``. Validation rules:

- required fields must be present with the right JSON type; optional fields may be absent or
  null and become None (or the documented zero);
- numbers are finite; prices, sizes, volumes, strikes, open interest and IV are also >= 0;
  greeks keep their sign; JSON booleans are never accepted as numbers;
- timestamps must be JSON integers. Bars are in milliseconds; trades, quotes and snapshots are in
  nanoseconds and become milliseconds by integer division (a float64 cannot hold a ns stamp
  exactly, so they never pass through float).

``status: "DELAYED"`` (or a sub-object's ``timeframe: "DELAYED"``) is data, surfaced as
``delayed=True``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spotlight.domain.options import OptionSnapshot, usable_mid
from spotlight.market.massive.parsing import Reader, fail, parse_items

__all__ = [
    "AggBar",
    "Aggregates",
    "Envelope",
    "IndexValue",
    "LastQuote",
    "LastTrade",
    "MarketHoliday",
    "MarketStatus",
    "OptionContract",
    "parse_items",
    "parse_option_snapshot",
]


@dataclass(frozen=True, slots=True)
class Envelope:
    """The wrapper most endpoints share: ``{status, request_id, results, next_url, ...}``.

    ``results`` is None when the key is absent or null, which Massive sends for "no data"
    (e.g. aggregates over a holiday). ``detail`` joins ``error`` and ``message`` (the field
    name varies by endpoint and status). ``next_url`` is None on the last page.
    """

    status: str | None
    results: object
    next_url: str | None
    detail: str | None
    delayed: bool

    @classmethod
    def parse(cls, raw: object, path: str = "") -> Envelope:
        body = Reader(raw, path)
        status = body.opt_text("status")
        parts = [p for p in (body.get("error"), body.get("message")) if isinstance(p, str) and p]
        return cls(
            status=status,
            results=body.get("results"),
            next_url=body.opt_text("next_url") or None,
            detail=": ".join(dict.fromkeys(parts)) or None,
            delayed=status == "DELAYED",
        )


@dataclass(frozen=True, slots=True)
class AggBar:
    """One aggregate bar; ``t_ms`` is the window start in Unix ms. Index bars carry no volume:
    ``v`` is then 0.0 and ``vw`` and ``n`` are None."""

    t_ms: int
    o: float
    h: float
    l: float  # noqa: E741 (the API's own field name)
    c: float
    v: float
    vw: float | None
    n: int | None

    @classmethod
    def parse(cls, raw: object, path: str = "bar") -> AggBar:
        bar = Reader(raw, path)
        return cls(
            t_ms=bar.integer("t"),
            o=bar.number("o"),
            h=bar.number("h"),
            l=bar.number("l"),
            c=bar.number("c"),
            v=bar.opt_number("v") or 0.0,
            vw=bar.opt_number("vw"),
            n=bar.opt_integer("n"),
        )


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Bars for one ticker, oldest first when sorted asc. ``bars`` is empty for no data.
    ``looped``: upstream's next_url repeated a cursor (the bars are kept, de-duplicated);
    ``partial``: the walk hit the page cap, so bars are missing."""

    ticker: str
    bars: list[AggBar]
    delayed: bool
    looped: bool = False
    partial: bool = False

    @classmethod
    def parse(cls, raw: object, path: str = "") -> Aggregates:
        """One page of ``/v2/aggs``; the client concatenates pages."""
        env = Envelope.parse(raw, path)
        return cls(
            ticker=Reader(raw, path).opt_text("ticker") or "",
            bars=parse_items(env.results, AggBar.parse),
            delayed=env.delayed,
        )


@dataclass(frozen=True, slots=True)
class LastTrade:
    ticker: str
    price: float
    size: float
    ts_ms: int  # SIP time: ``t`` (ns) // 1e6

    @classmethod
    def parse(cls, raw: object, path: str = "results") -> LastTrade:
        r = Reader(raw, path)
        return cls(r.text("T"), r.number("p"), r.number("s"), r.ns_as_ms("t"))


@dataclass(frozen=True, slots=True)
class LastQuote:
    ticker: str
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    ts_ms: int  # SIP time: ``t`` (ns) // 1e6

    @classmethod
    def parse(cls, raw: object, path: str = "results") -> LastQuote:
        r = Reader(raw, path)
        return cls(
            ticker=r.text("T"),
            bid=r.number("p"),
            ask=r.number("P"),
            bid_size=r.number("s"),
            ask_size=r.number("S"),
            ts_ms=r.ns_as_ms("t"),
        )


@dataclass(frozen=True, slots=True)
class MarketStatus:
    """``/v1/marketstatus/now`` (a flat object, no envelope). ``market`` is open, closed or
    extended-hours; ``server_time`` is RFC 3339 with the ET offset; ``raw_exchanges`` is
    {exchange: status}, e.g. {"nyse": "open"}, empty when upstream omits it."""

    market: str
    server_time: str
    early_hours: bool
    after_hours: bool
    raw_exchanges: dict[str, str]

    @classmethod
    def parse(cls, raw: object, path: str = "") -> MarketStatus:
        body = Reader(raw, path)
        exchanges = body.obj("exchanges")
        return cls(
            market=body.text("market"),
            server_time=body.text("serverTime"),
            early_hours=body.flag("earlyHours"),
            after_hours=body.flag("afterHours"),
            raw_exchanges={key: exchanges.text(key) for key in exchanges.raw},
        )


@dataclass(frozen=True, slots=True)
class MarketHoliday:
    """One ``/v1/marketstatus/upcoming`` row. ``status`` is ``closed`` or ``early-close``;
    ``open``/``close`` (RFC 3339) are set only on early-close days."""

    date: str
    exchange: str
    name: str
    status: str
    open: str | None
    close: str | None

    @classmethod
    def parse(cls, raw: object, path: str = "") -> MarketHoliday:
        r = Reader(raw, path)
        return cls(
            date=r.text("date"),
            exchange=r.text("exchange"),
            name=r.text("name"),
            status=r.text("status"),
            open=r.opt_text("open"),
            close=r.opt_text("close"),
        )


@dataclass(frozen=True, slots=True)
class IndexValue:
    """One indices-snapshot item (``I:SPX``).

    A per-item failure (unknown ticker, not entitled) is kept, not raised: ``error`` holds
    upstream's code (NOT_FOUND, NOT_ENTITLED), ``message`` its text, and ``value`` is NaN
    (check ``error`` before using ``value``). Otherwise ``value`` is the finite index level
    and ``error``/``message`` are None. ``ts_ms`` is
    ``last_updated`` (ns) // 1e6; the session fields are None when upstream omits them.
    """

    ticker: str
    value: float
    ts_ms: int | None
    delayed: bool
    session_open: float | None = None
    session_high: float | None = None
    session_low: float | None = None
    session_close: float | None = None
    session_previous_close: float | None = None
    error: str | None = None
    message: str | None = None

    @classmethod
    def parse(cls, raw: object, path: str = "", *, delayed: bool = False) -> IndexValue:
        r = Reader(raw, path)
        ticker = r.text("ticker")
        error = r.opt_text("error")
        if error is not None:
            return cls(ticker, math.nan, None, delayed, error=error, message=r.opt_text("message"))
        session = r.obj("session")
        return cls(
            ticker=ticker,
            value=r.number("value"),
            ts_ms=r.opt_ns_as_ms("last_updated"),
            delayed=delayed or r.delayed(),
            session_open=session.opt_number("open"),
            session_high=session.opt_number("high"),
            session_low=session.opt_number("low"),
            session_close=session.opt_number("close"),
            session_previous_close=session.opt_number("previous_close"),
        )


@dataclass(frozen=True, slots=True)
class OptionContract:
    """A ``/v3/reference/options/contracts`` row. ``underlying`` is bare (``SPX``)."""

    ticker: str  # O:SPXW251219C06000000
    underlying: str
    contract_type: str  # call, put or other
    exercise_style: str  # american, european or bermudan
    expiration_date: str  # YYYY-MM-DD
    strike: float
    shares_per_contract: float

    @classmethod
    def parse(cls, raw: object, path: str = "") -> OptionContract:
        r = Reader(raw, path)
        return cls(
            ticker=r.text("ticker"),
            underlying=r.text("underlying_ticker"),
            contract_type=r.text("contract_type"),
            exercise_style=r.text("exercise_style"),
            expiration_date=r.text("expiration_date"),
            strike=r.number("strike_price"),
            shares_per_contract=r.number("shares_per_contract"),
        )


def parse_option_snapshot(raw: object, path: str = "", *, delayed: bool = False) -> OptionSnapshot:
    """One options-snapshot item (a chain row, or the single-contract snapshot) as the domain's
    :class:`~spotlight.domain.options.OptionSnapshot`: the one place Massive's option fields
    are read.

    ``details`` is required. Other blocks may be absent ("not in this plan" or "nothing yet"),
    with the meanings the domain type documents. ``mid`` is upstream's ``midpoint``, else
    (bid + ask) / 2; refused (None) for a crossed quote or one without a bid
    (``domain.options.usable_mid``). ``delayed`` is True when the envelope or any block's
    ``timeframe`` says DELAYED.
    """
    r = Reader(raw, path)
    if r.get("details") is None:
        raise fail(r.at("details"), "a JSON object", None)
    details, greeks, day = r.obj("details"), r.obj("greeks"), r.obj("day")
    quote, trade, under = r.obj("last_quote"), r.obj("last_trade"), r.obj("underlying_asset")
    bid, ask = quote.opt_number("bid"), quote.opt_number("ask")
    mid = quote.opt_number("midpoint")
    if mid is None and bid is not None and ask is not None:
        mid = (bid + ask) / 2
    mid = usable_mid(bid, ask, mid)  # a crossed or bid-less quote's mid is no price
    value = under.opt_number("value")
    return OptionSnapshot(
        ticker=details.text("ticker"),
        contract_type=details.text("contract_type"),
        expiration_date=details.text("expiration_date"),
        strike=details.number("strike_price"),
        shares_per_contract=details.number("shares_per_contract"),
        open_interest=r.opt_number("open_interest") or 0.0,
        implied_volatility=r.opt_number("implied_volatility"),
        delta=greeks.opt_number("delta", signed=True),
        gamma=greeks.opt_number("gamma", signed=True),
        theta=greeks.opt_number("theta", signed=True),
        vega=greeks.opt_number("vega", signed=True),
        day_volume=day.opt_number("volume") or 0.0,
        day_vwap=day.opt_number("vwap"),
        bid=bid,
        ask=ask,
        mid=mid,
        quote_ts_ms=quote.opt_ns_as_ms("last_updated"),
        last_price=trade.opt_number("price"),
        last_size=trade.opt_number("size"),
        last_exchange=trade.opt_integer("exchange"),
        last_conditions=_conditions(trade),
        trade_ts_ms=trade.opt_ns_as_ms("sip_timestamp"),
        underlying_value=value if value is not None else under.opt_number("price"),
        delayed=delayed or quote.delayed() or trade.delayed() or under.delayed(),
    )


def _conditions(trade: Reader) -> tuple[int, ...]:
    raw = trade.get("conditions")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in raw
    ):
        raise fail(trade.at("conditions"), "an array of integers", raw)
    return tuple(raw)
