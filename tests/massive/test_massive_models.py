"""Massive parsers (pure, loop-free): validation rules, unit conversions, and a property that
junk of any shape only ever raises MassiveDataError."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import trio
from hypo import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from massive_fixtures import CHAIN_ITEM, CONTRACT, INDICES, LAST_TRADE, Upstream, always, raw

from spotlight.market.massive import (
    AggBar,
    Aggregates,
    IndexValue,
    LastQuote,
    LastTrade,
    MarketHoliday,
    MarketStatus,
    MassiveDataError,
    MassiveError,
    OptionContract,
    parse_option_snapshot,
)

PARSERS: list[Callable[[object], object]] = [
    AggBar.parse,
    Aggregates.parse,
    LastTrade.parse,
    LastQuote.parse,
    MarketStatus.parse,
    MarketHoliday.parse,
    IndexValue.parse,
    OptionContract.parse,
    parse_option_snapshot,
]


def test_ns_to_ms_is_integer_division_never_float() -> None:
    trade = LastTrade.parse(LAST_TRADE["results"])
    assert trade.ts_ms == 1766159982123
    late = {**LAST_TRADE["results"], "t": 1766159982999999999}  # type: ignore[dict-item]
    assert LastTrade.parse(late).ts_ms == 1766159982999
    assert int(float(1766159982999999999) / 1e6) == 1766159983000  # what float would do
    floaty = {**LAST_TRADE["results"], "t": 1.766159982123456789e18}  # type: ignore[dict-item]
    with pytest.raises(MassiveDataError, match=r"results\.t: expected an integer"):
        LastTrade.parse(floaty)


def test_index_bar_without_volume() -> None:
    bar = AggBar.parse({"o": 1, "h": 2, "l": 0.5, "c": 1.5, "t": 1766154600000})
    assert (bar.v, bar.vw, bar.n) == (0.0, None, None)
    assert isinstance(bar.o, float)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"o": 1, "h": 1, "l": 1, "c": float("inf"), "t": 1}, "bar.c: expected a finite number"),
        ({"o": 1, "h": 1, "l": 1, "c": -0.01, "t": 1}, "bar.c: expected a finite number >= 0"),
        ({"o": True, "h": 1, "l": 1, "c": 1, "t": 1}, "bar.o: expected a number, got True"),
        ({"o": 1, "h": 1, "l": 1, "c": 1}, "bar.t: expected an integer, got '<missing>'"),
        ({"o": 1, "h": 1, "l": 1, "c": 1, "t": -5}, "bar.t: expected an integer >= 0"),
        ({"o": 1, "h": 1, "l": 1, "c": 1, "t": 1, "n": 2.5}, "bar.n: expected an integer"),
    ],
)
def test_bad_bar_values_name_the_field(item: dict[str, Any], message: str) -> None:
    with pytest.raises(MassiveDataError) as info:
        AggBar.parse(item)
    assert message in str(info.value)


def test_aggregates_page_paths_point_at_the_bad_item() -> None:
    body = {"status": "OK", "results": [{"o": 1, "h": 1, "l": 1, "c": 1, "t": 1}, {"o": "x"}]}
    with pytest.raises(MassiveDataError, match=r"results\[1\]\.t: expected an integer"):
        Aggregates.parse(body)


def test_option_snapshot_tolerates_absent_blocks() -> None:
    minimal = {"details": CHAIN_ITEM["details"]}
    snap = parse_option_snapshot(minimal)
    assert snap.open_interest == 0.0 and snap.day_volume == 0.0
    assert snap.delta is None and snap.implied_volatility is None
    assert snap.bid is None and snap.mid is None and snap.quote_ts_ms is None
    assert snap.last_price is None and snap.last_conditions == () and snap.trade_ts_ms is None
    assert snap.underlying_value is None and not snap.delayed


def test_option_snapshot_mid_and_delayed_from_blocks() -> None:
    item = {
        **CHAIN_ITEM,
        "last_quote": {"bid": 1.0, "ask": 1.5, "last_updated": 5_000_000, "timeframe": "DELAYED"},
        "underlying_asset": {"ticker": "SPY", "price": 598.7},
    }
    snap = parse_option_snapshot(item)
    assert snap.mid == 1.25 and snap.delayed and snap.quote_ts_ms == 5
    assert snap.underlying_value == 598.7
    assert parse_option_snapshot(CHAIN_ITEM, delayed=True).delayed


def test_option_snapshot_refuses_crossed_and_zero_bid_mids() -> None:
    # Bid 3.00 over ask 1.00: a "mid" of 2.00 is no price (it implied an 8% vol). No bid
    # (deep out of the money): the mid is half the ask, not a price either. Both quotes keep
    # their sides as published; the mid is dropped here, so pricing takes the vendor's IV.
    def quoted(bid: float, ask: float) -> Any:
        quote = {**CHAIN_ITEM["last_quote"], "bid": bid, "ask": ask, "midpoint": (bid + ask) / 2}
        return parse_option_snapshot({**CHAIN_ITEM, "last_quote": quote})

    crossed = quoted(3.00, 1.00)
    assert (crossed.bid, crossed.ask, crossed.mid) == (3.00, 1.00, None)
    no_bid = quoted(0.0, 0.05)
    assert (no_bid.bid, no_bid.ask, no_bid.mid) == (0.0, 0.05, None)
    # A locked quote (bid = ask) is one price both sides agree on: kept, as is a normal one.
    assert quoted(1.00, 1.00).mid == 1.00
    assert quoted(12.20, 12.50).mid == pytest.approx(12.35)


@pytest.mark.parametrize(
    "patch",
    [
        {"details": None},
        {"greeks": {"delta": "0.5"}},
        {"last_trade": {"conditions": [1, "x"]}},
        {"last_trade": {"conditions": 5}},
        {"implied_volatility": -0.1},
        {"open_interest": float("nan")},
        {"last_quote": []},
    ],
)
def test_option_snapshot_rejects_bad_blocks(patch: dict[str, Any]) -> None:
    with pytest.raises(MassiveDataError):
        parse_option_snapshot({**CHAIN_ITEM, **patch})


def test_index_value_and_contract() -> None:
    results = INDICES["results"]
    assert isinstance(results, list)
    spx = IndexValue.parse(results[0])
    assert spx.value == 5998.70 and spx.ts_ms == 1766159999000 and spx.session_high == 6011.30
    contract = OptionContract.parse(CONTRACT)
    assert contract.underlying == "SPX" and contract.strike == 6000.0
    assert contract.exercise_style == "european"
    with pytest.raises(MassiveDataError, match="ticker"):
        IndexValue.parse({"value": 1.0})


def test_market_status_requires_strings_in_exchanges() -> None:
    with pytest.raises(MassiveDataError, match=r"exchanges\.nyse"):
        MarketStatus.parse({"market": "open", "serverTime": "t", "exchanges": {"nyse": 1}})
    status = MarketStatus.parse({"market": "closed", "serverTime": "t"})
    assert status.raw_exchanges == {} and not status.early_hours


_JSON_KEYS = [
    "o",
    "h",
    "l",
    "c",
    "t",
    "v",
    "T",
    "p",
    "P",
    "s",
    "S",
    "results",
    "status",
    "details",
    "ticker",
    "value",
    "error",
    "greeks",
    "last_quote",
    "last_trade",
    "session",
    "exchanges",
    "market",
    "serverTime",
    "strike_price",
    "x",
]


def _json_containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    # A named function, not a lambda: Hypothesis checks that ``extend`` uses its argument by
    # reading its source, which fails on a lambda spread over lines (a deprecation warning,
    # an error under this suite's filterwarnings).
    return st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(_JSON_KEYS), children, max_size=6
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    _json_containers,
    max_leaves=20,
)


@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_junk_only_ever_raises_massive_data_error(junk: object) -> None:
    for parse in PARSERS:
        with contextlib.suppress(MassiveDataError):
            parse(junk)


def _near(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies with one field replaced by junk: the hard cases for a parser."""
    return st.builds(
        lambda key, value: {**base, key: value},
        st.sampled_from(sorted(base)),
        json_values,
    )


@settings(max_examples=examples(200))
@given(_near(CHAIN_ITEM), _near(LAST_TRADE["results"]), _near(CONTRACT))  # type: ignore[arg-type]
def test_near_valid_bodies_parse_or_raise_data_error(
    chain: dict[str, Any], trade: dict[str, Any], contract: dict[str, Any]
) -> None:
    for parse, body in (
        (parse_option_snapshot, chain),
        (LastTrade.parse, trade),
        (OptionContract.parse, contract),
    ):
        with contextlib.suppress(MassiveDataError):
            parse(body)


@settings(max_examples=examples(60), deadline=None)
@given(st.binary(max_size=64) | json_values.map(orjson.dumps))
def test_client_turns_any_200_body_into_data_or_a_massive_error(body: bytes) -> None:
    async def main() -> None:
        up = Upstream(always(raw(body)))
        async with up.client(max_retries=0) as client:
            for call in (
                lambda: client.last_trade("SPY"),
                lambda: client.options_chain("SPX"),
                lambda: client.market_status(),
                lambda: client.indices_snapshot(["SPX"]),
            ):
                with contextlib.suppress(MassiveError):
                    await call()

    trio.run(main)
