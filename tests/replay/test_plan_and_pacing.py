"""Replay requests are validated with clear errors; replay time follows speed and pause."""

from __future__ import annotations

import datetime as dt

import pytest

from spotlight.domain.nytime import NY
from spotlight.replay.pacing import Pacer
from spotlight.replay.plan import PlanError, parse_plan, parse_speed, session_bounds

SYMBOLS = ("SPY", "QQQ", "I:SPX")
NOW = int(dt.datetime(2026, 11, 21, 12, 0, tzinfo=NY).timestamp() * 1000)


def plan(**body: object):  # type: ignore[no-untyped-def]
    return parse_plan(body, known_symbols=SYMBOLS, now_ms=NOW, max_range_s=72 * 3600)


def test_a_date_is_the_exchange_day() -> None:
    p = plan(date="2026-11-20", symbols=["spy", "I:SPX"], speed=10)
    start, end = session_bounds(dt.date(2026, 11, 20))
    assert (p.from_ms, p.to_ms, p.symbols, p.speed) == (start, end, ("SPY", "I:SPX"), 10.0)
    assert dt.datetime.fromtimestamp(start / 1000, NY).hour == 0
    assert (end - start) == 86_400_000
    today = plan(date="2026-11-21")
    assert today.to_ms == NOW  # today's replay stops at "now"
    assert plan(date="2026-11-20").symbols == SYMBOLS and plan(date="2026-11-20").speed == 1.0


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
    assert p.position(0.5) == pytest.approx(1_005_000)
    p.pause(0.5)
    assert p.delay(1_010_000, now_s=5.0) is None and p.position(5.0) == pytest.approx(1_005_000)
    p.resume(5.0)
    assert p.position(5.5) == pytest.approx(1_010_000)
    p.set_speed(1.0, 5.5)  # no jump at the change
    assert p.position(5.5) == pytest.approx(1_010_000)
    assert p.delay(1_012_000, now_s=5.5) == pytest.approx(2.0)
    p.set_speed(None, 6.0)  # as fast as possible: nothing waits
    assert p.delay(9_999_999_999, now_s=6.0) == 0.0
    p.played(1_020_000)
    assert p.position(7.0) == 1_020_000
    p.set_speed(2.0, 7.0)
    assert p.position(8.0) == pytest.approx(1_022_000)


def test_pacer_skips_forward_without_moving_back() -> None:
    p = Pacer(start_ms=0, speed=2.0, now_s=0.0)
    p.skip_to(3_600_000, now_s=1.0)
    assert p.position(1.0) == 3_600_000 and p.delay(3_602_000, now_s=1.0) == pytest.approx(1.0)
    p.skip_to(10, now_s=2.0)  # never backwards
    assert p.position(2.0) == pytest.approx(3_602_000)
