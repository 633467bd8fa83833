"""Recorded rows round-trip every input exactly (floats included)."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spotlight.domain.bars import Bar
from spotlight.domain.options import OptionSnapshot
from spotlight.domain.ticks import BarRevision, Quote, SourceStatus, Trade
from spotlight.recording.codec import (
    bar_from_row,
    bar_row,
    job_from_json,
    job_json,
    option_from_row,
    option_row,
    tick_from_row,
    tick_row,
)

prices = st.floats(min_value=0.0001, max_value=1e7, allow_nan=False, allow_infinity=False)
times = st.integers(min_value=0, max_value=2**45)
symbols = st.sampled_from(["SPY", "QQQ", "I:SPX"])
ticks = st.one_of(
    st.builds(Trade, symbols, times, prices, prices),
    st.builds(Quote, symbols, times, prices, prices, prices, prices),
    st.builds(
        SourceStatus,
        st.sampled_from(["simulated", "massive"]),
        st.sampled_from(["live", "delayed", "degraded"]),
        st.one_of(st.none(), st.text(max_size=20)),
        st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=3).map(tuple),
        times,
    ),
    st.builds(
        BarRevision, symbols, times, prices, prices, prices, prices, prices, st.integers(0, 10**6)
    ),
)


@given(ticks)
def test_tick_rows_round_trip_through_json(t: object) -> None:
    row = orjson.loads(orjson.dumps(tick_row(t)))  # type: ignore[arg-type]
    assert tick_from_row(row) == t


@given(times, prices, prices, prices, prices, prices, st.integers(0, 10**6))
def test_bar_rows_round_trip(
    t: int, o: float, h: float, lo: float, c: float, v: float, n: int
) -> None:
    bar = Bar("SPY", "1m", t, o, h, lo, c, v, n)
    assert bar_from_row("SPY", orjson.loads(orjson.dumps(bar_row(bar)))) == bar


def test_chain_jobs_round_trip() -> None:
    sim = ("sim", 7, 1_700_000_000_000, 2.0, "exchange")
    assert job_from_json(orjson.loads(orjson.dumps(job_json(sim)))) == sim
    old_sim = ("sim", 7, 1_700_000_000_000, 2.0)  # recorded before market hours existed
    assert job_from_json(orjson.loads(orjson.dumps(job_json(old_sim)))) == old_sim
    opt = OptionSnapshot(
        "O:SPXW261120C06000000", "call", "2026-11-20", 6000.0, 100.0, 1234.0, 0.15, 0.5, 0.001,
        -2.5, 0.8, 321.0, 12.5, 12.4, 12.6, 12.5, 1_700_000_000_000, 12.55, 3.0, 65, (209, 219),
        1_700_000_000_500, 6001.25, False,
    )  # fmt: skip
    note = {"pages": 3, "looped": True, "partial": False, "duplicates": 250}
    chains = ("chains", {"I:SPX": [opt]}, {"I:SPX": note})
    back = job_from_json(orjson.loads(orjson.dumps(job_json(chains))))
    assert back == chains
    # A job recorded before walks were noted has no third element: it reads back with none.
    old = ["chains", {"I:SPX": [option_row(opt)]}]
    assert job_from_json(orjson.loads(orjson.dumps(old))) == ("chains", {"I:SPX": [opt]}, {})
    assert option_from_row(orjson.loads(orjson.dumps(option_row(opt)))) == opt


def test_bad_rows_are_refused() -> None:
    for row in (["X", 1], ["T", "SPY"], [], ["R", "SPY", 1]):
        with pytest.raises(ValueError):
            tick_from_row(row)
    with pytest.raises(ValueError):
        job_from_json(["nope"])
