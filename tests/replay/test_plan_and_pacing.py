"""Replay requests are validated with clear errors; replay time follows speed and pause."""

from __future__ import annotations

import datetime as dt

import pytest

from spotlight.domain.nytime import NY
from spotlight.replay.pacing import MAX_LEAD_S, Pacer, StaleSteps
from spotlight.replay.plan import (
    PlanError,
    parse_plan,
    parse_speed,
    session_bounds,
    session_open_ms,
)

SYMBOLS = ("SPY", "QQQ", "I:SPX")
NOW = int(dt.datetime(2026, 11, 21, 12, 0, tzinfo=NY).timestamp() * 1000)


def plan(**body: object):  # type: ignore[no-untyped-def]
    return parse_plan(body, known_symbols=SYMBOLS, now_ms=NOW, max_range_s=72 * 3600)


def test_a_date_is_the_exchange_day() -> None:
    p = plan(date="2026-11-20", symbols=["spy", "I:SPX"], speed=10, start="midnight")
    start, end = session_bounds(dt.date(2026, 11, 20))
    assert (p.from_ms, p.to_ms, p.symbols, p.speed) == (start, end, ("SPY", "I:SPX"), 10.0)
    assert p.start == "midnight"
    assert dt.datetime.fromtimestamp(start / 1000, NY).hour == 0
    assert (end - start) == 86_400_000
    today = plan(date="2026-11-21")
    assert today.to_ms == NOW  # today's replay stops at "now"
    assert plan(date="2026-11-20").symbols == SYMBOLS and plan(date="2026-11-20").speed == 1.0


def test_from_the_open_is_offered_and_the_default_with_an_index() -> None:
    """Issue 15: a same-day replay from midnight opened at 94 %. A date's replay can start
    at the open (09:30 New York); with an index among its symbols that is the default."""
    open_ms = session_open_ms(dt.date(2026, 11, 20))
    opened = dt.datetime.fromtimestamp(open_ms / 1000, NY)
    assert (opened.hour, opened.minute) == (9, 30)
    default = plan(date="2026-11-20")  # all symbols, I:SPX among them
    assert (default.from_ms, default.start) == (open_ms, "open")
    assert plan(date="2026-11-20", symbols=["I:SPX"]).start == "open"
    # Stocks alone trade before the open: the whole day unless asked.
    stocks = plan(date="2026-11-20", symbols=["SPY"])
    assert (stocks.from_ms, stocks.start) == (session_bounds(dt.date(2026, 11, 20))[0], "midnight")
    assert plan(date="2026-11-20", symbols=["SPY"], start="open").from_ms == open_ms
    # Today before 09:30: the default falls back to midnight; asking for the open is refused.
    early = int(dt.datetime(2026, 11, 21, 8, 0, tzinfo=NY).timestamp() * 1000)
    before_open = parse_plan(
        {"date": "2026-11-21"}, known_symbols=SYMBOLS, now_ms=early, max_range_s=72 * 3600
    )
    assert before_open.start == "midnight" and before_open.to_ms == early
    with pytest.raises(PlanError) as err:
        parse_plan(
            {"date": "2026-11-21", "start": "open"},
            known_symbols=SYMBOLS,
            now_ms=early,
            max_range_s=72 * 3600,
        )
    assert err.value.code == "bad_start" and "midnight" in err.value.detail


def test_origin_is_optional() -> None:
    assert plan(date="2026-11-20").origin is None
    assert plan(date="2026-11-20", origin="simulated").origin == "simulated"


def test_from_to_and_max_speed() -> None:
    p = plan(**{"from": "2026-11-20T14:30:00Z", "to": "2026-11-20T15:00:00Z", "speed": "max"})
    assert p.to_ms - p.from_ms == 30 * 60_000 and p.speed is None and p.date is None


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"date": "2026-13-01"}, "bad_date", "2026-11-20"),
        ({"date": "yesterday"}, "bad_date", "look like"),
        ({"date": 20261120}, "bad_date", "string"),
        ({"date": "2026-11-22"}, "bad_date", "not started"),
        ({"date": "2026-11-20", "from": "2026-11-20T14:30:00Z"}, "bad_range", "either"),
        ({"from": "2026-11-20T14:30:00Z"}, "bad_range", "date"),
        ({"from": "2026-11-20T15:00:00Z", "to": "2026-11-20T14:00:00Z"}, "bad_range", "after"),
        ({"from": "2026-11-20T14:30:00", "to": "2026-11-20T15:00:00Z"}, "bad_range", "offset"),
        ({"from": "2026-11-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"}, "bad_range", "at most"),
        ({"date": "2026-11-20", "speed": 0}, "bad_speed", "1 to 1000"),
        ({"date": "2026-11-20", "speed": 5000}, "bad_speed", "1 to 1000"),
        ({"date": "2026-11-20", "speed": "fast"}, "bad_speed", "max"),
        ({"date": "2026-11-20", "speed": True}, "bad_speed", "number"),
        ({"date": "2026-11-20", "symbols": ["TSLA"]}, "unknown_symbol", "TSLA"),
        ({"date": "2026-11-20", "symbols": []}, "bad_symbols", "empty"),
        ({"date": "2026-11-20", "symbols": [1]}, "bad_symbols", "strings"),
        ({"date": "2026-11-20", "colour": "red"}, "bad_request", "colour"),
        ({"date": "2026-11-20", "origin": "tape"}, "bad_origin", "recorded, massive, simulated"),
        ({"date": "2026-11-20", "start": "noon"}, "bad_start", "open, midnight"),
        ({"from": 1, "to": 2, "start": "open"}, "bad_start", "date"),
    ],
)
def test_bad_requests_say_what_is_wrong(body: dict[str, object], code: str, words: str) -> None:
    with pytest.raises(PlanError) as err:
        plan(**body)
    assert err.value.code == code and words in err.value.detail


def test_speed_values() -> None:
    assert parse_speed(1) == 1.0 and parse_speed(1000) == 1000.0 and parse_speed("max") is None
    with pytest.raises(PlanError):
        parse_speed(float("nan"))


def test_pacer_follows_speed_pause_and_changes_without_jumps() -> None:
    p = Pacer(start_ms=1_000_000, speed=10.0, now_s=0.0)
    assert p.delay(1_010_000, now_s=0.0) == pytest.approx(1.0)  # 10 s of replay at 10x
    assert p.clock(0.5) == pytest.approx(1_005_000)
    p.pause(0.5)
    assert p.delay(1_010_000, now_s=5.0) is None and p.clock(5.0) == pytest.approx(1_005_000)
    p.resume(5.0)
    assert p.clock(5.5) == pytest.approx(1_010_000)
    p.set_speed(1.0, 5.5)  # no jump at the change
    assert p.clock(5.5) == pytest.approx(1_010_000)
    assert p.delay(1_012_000, now_s=5.5) == pytest.approx(2.0)
    p.set_speed(None, 6.0)  # as fast as possible: nothing waits
    assert p.delay(9_999_999_999, now_s=6.0) == 0.0
    p.played(1_020_000, 6.5)
    assert p.clock(7.0) == 1_020_000 and p.position() == 1_020_000
    p.set_speed(2.0, 7.0)
    assert p.clock(8.0) == pytest.approx(1_022_000)


def test_pacer_skips_forward_without_moving_back() -> None:
    p = Pacer(start_ms=0, speed=2.0, now_s=0.0)
    p.skip_to(3_600_000, now_s=1.0)
    assert p.position() == 3_600_000 and p.delay(3_602_000, now_s=1.0) == pytest.approx(1.0)
    p.skip_to(10, now_s=2.0)  # never backwards
    assert p.clock(2.0) == pytest.approx(3_602_000) and p.position() == 3_600_000


def test_position_is_the_last_item_played_not_the_schedule() -> None:
    """Issue 15: at 100x the position ran 11.7 minutes ahead of the chart. It is the newest
    item played, however far the schedule has got."""
    p = Pacer(start_ms=0, speed=100.0, now_s=0.0)
    p.played(60_000, 0.6)  # on time
    assert p.position() == 60_000
    # A slow step holds the replay for 0.5 s: the schedule is 50 s of replay time further on,
    # the position stays at what was played.
    assert p.clock(1.1) == pytest.approx(110_000) and p.position() == 60_000
    assert p.late_ms(61_000, 1.1) == pytest.approx(49_000)


def test_a_long_stall_slips_the_schedule_instead_of_bursting() -> None:
    p = Pacer(start_ms=0, speed=100.0, now_s=0.0)
    p.delay(1_000, 0.0)
    p.played(1_000, 0.01)
    p.delay(2_000, 0.02)  # due at once, then held up ~5 s: far more than MAX_LEAD_S
    p.played(2_000, 5.0)
    lead_cap = MAX_LEAD_S * 1000 * 100
    assert p.clock(5.0) - p.position() == pytest.approx(lead_cap)
    # ...and the speed reached says so: ~5 s of real time for ~1.2 s of schedule at 100x.
    reached = p.reached(5.0)
    assert reached is not None and reached < 30


def test_speed_reached_while_keeping_up_and_after_changes() -> None:
    p = Pacer(start_ms=0, speed=100.0, now_s=0.0)
    assert p.reached(0.5) is None  # not measured yet
    t = 0.0
    while t < 4.0:  # an item every 10 ms of real time, each played when due
        t = round(t + 0.01, 2)
        assert p.delay(int(t * 100_000), t) == pytest.approx(0.0)
        p.played(int(t * 100_000), t)
    assert p.reached(4.0) == pytest.approx(100.0, rel=0.01)
    p.set_speed(10.0, 4.0)
    assert p.reached(4.5) is None  # a new window for the new speed
    # Waiting for an item far ahead (sparse data): the replay moves with the schedule.
    assert p.delay(10_000_000, 4.5) is not None
    assert p.reached(6.0) == pytest.approx(10.0, rel=0.01)
    p.pause(6.0)
    assert p.reached(7.0) is None
    assert Pacer(0, None, 0.0).reached(5.0) is None  # "max" has no schedule


def test_stale_analytics_steps_are_the_ones_whose_successor_is_due() -> None:
    steps = StaleSteps()
    assert not steps.stale("gex", 15_000, late_ms=90_000)  # the first of its kind: no gap known
    assert not steps.stale("gex", 30_000, late_ms=14_999)  # behind, but the next is not due
    assert steps.stale("gex", 45_000, late_ms=15_000)  # the next one (60 s) is due: skip
    assert not steps.stale("levels", 5_000, late_ms=0)
    assert steps.stale("levels", 10_000, late_ms=6_000)
    assert not steps.stale("basis", 11_000, late_ms=1e9)  # cheap and counted: never skipped
    assert not steps.stale("basis", 12_000, late_ms=1e9)
    assert not steps.stale(None, 13_000, late_ms=1e9)
    assert steps.skipped == {"gex": 1, "levels": 1}


def test_the_schedule_starts_when_the_data_is_loaded() -> None:
    """Seconds spent loading (Massive aggregates at 100x: minutes of replay time) are not
    lateness: nothing is due early and no step is taken for stale."""
    p = Pacer(start_ms=1_000_000, speed=100.0, now_s=0.0)
    assert p.late_ms(1_000_000, now_s=2.0) == pytest.approx(200_000)  # the load, as lateness
    p.start_now(2.0)
    assert p.late_ms(1_000_000, now_s=2.0) == 0.0
    assert p.delay(1_010_000, now_s=2.0) == pytest.approx(0.1)
    paused = Pacer(start_ms=0, speed=10.0, now_s=0.0)
    paused.pause(0.5)
    paused.start_now(3.0)  # a pause asked for while loading holds
    assert paused.delay(1000, now_s=9.0) is None and paused.clock(9.0) == pytest.approx(5000)
