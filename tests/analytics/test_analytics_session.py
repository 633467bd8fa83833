"""Trading-time to expiry: worked examples from spx-analytics.md section 1."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from spotlight.analytics.session import MINUTES_PER_YEAR, OVERNIGHT_MINUTES, SessionCalendar
from spotlight.domain.nytime import NY

FRI = date(2026, 11, 20)
MON = date(2026, 11, 23)
THANKSGIVING = date(2026, 11, 26)
BLACK_FRIDAY = date(2026, 11, 27)
CAL = SessionCalendar(early_closes={BLACK_FRIDAY: time(13, 0)}, holidays={THANKSGIVING})


def et(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), NY)


def test_settlement_pm_am_and_early_close() -> None:
    assert CAL.settlement(MON, am_settled=False) == et(MON, 16)
    assert CAL.settlement(MON, am_settled=True) == et(MON, 9, 30)
    assert CAL.settlement(BLACK_FRIDAY, am_settled=False) == et(BLACK_FRIDAY, 13)


def test_same_day_minutes() -> None:
    assert CAL.minutes_to_expiry(et(MON, 11), MON, False) == 300.0


def test_utc_input_is_converted() -> None:
    now = et(MON, 11).astimezone(UTC)
    assert CAL.minutes_to_expiry(now, MON, False) == 300.0


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.minutes_to_expiry(datetime(2026, 11, 23, 11), MON, False)


def test_weekend_counts_nothing() -> None:
    assert CAL.minutes_to_expiry(et(FRI, 15), MON, False) == 60 + 390


def test_before_open_counts_from_the_open() -> None:
    assert CAL.minutes_to_expiry(et(MON, 8), MON, False) == 390.0
    assert CAL.minutes_to_expiry(et(FRI, 20), MON, False) == 390.0


def test_early_close() -> None:
    assert CAL.minutes_to_expiry(et(BLACK_FRIDAY, 11), BLACK_FRIDAY, False) == 120.0
    assert CAL.minutes_to_expiry(et(BLACK_FRIDAY, 14), BLACK_FRIDAY, False) == 0.0
    assert CAL.is_expired(et(BLACK_FRIDAY, 13), BLACK_FRIDAY, False)


def test_holiday_is_skipped() -> None:
    # Wed 15:00 -> Fri 13:00 early close: 60 (Wed) + 0 (Thanksgiving) + 210 (Fri).
    wed = date(2026, 11, 25)
    assert CAL.minutes_to_expiry(et(wed, 15), BLACK_FRIDAY, False) == 60 + 210


def test_am_settled_expires_at_the_open() -> None:
    assert CAL.minutes_to_expiry(et(FRI, 15), MON, True) == 60.0
    assert not CAL.is_expired(et(MON, 9), MON, True)
    assert CAL.is_expired(et(MON, 9, 30), MON, True)
    assert CAL.minutes_to_expiry(et(MON, 10), MON, True) == 0.0


def test_year_fraction_and_floor() -> None:
    assert CAL.year_fraction(et(MON, 13), MON, False) == pytest.approx(180 / (252 * 390))
    assert CAL.year_fraction(et(MON, 15, 55), MON, False) == 15.0 / MINUTES_PER_YEAR
    assert CAL.year_fraction(et(MON, 15, 55), MON, False, floor_minutes=10) == 10 / (252 * 390)
    assert CAL.year_fraction(et(MON, 17), MON, False) == 15.0 / MINUTES_PER_YEAR


def test_default_calendar_has_no_closures() -> None:
    cal = SessionCalendar()
    assert cal.minutes_to_expiry(et(THANKSGIVING, 15), BLACK_FRIDAY, False) == 60 + 390


def test_the_workers_calendar_knows_nyse_early_closes_and_holidays() -> None:
    import datetime as dt

    from spotlight.engine.analytics_worker import nyse_calendar

    cal = nyse_calendar(2025)
    ny = dt.timezone(dt.timedelta(hours=-5))
    # Friday after Thanksgiving 2025 closes at 13:00: 11:00 leaves 120 trading minutes.
    assert (
        cal.minutes_to_expiry(
            dt.datetime(2025, 11, 28, 11, 0, tzinfo=ny), dt.date(2025, 11, 28), am_settled=False
        )
        == 120
    )
    assert not cal.is_trading_day(dt.date(2025, 12, 25))
    assert not cal.is_trading_day(dt.date(2026, 1, 1))  # the next year is covered too


THU = date(2026, 11, 19)


def test_am_settled_runs_to_the_next_mornings_open() -> None:
    # Thursday 15:00, the monthly settles on Friday's opening print: the hour left plus the
    # overnight gap to the open (not 60 minutes, which made its gamma explode the day before).
    assert CAL.variance_minutes(et(THU, 15), FRI, True) == 60 + OVERNIGHT_MINUTES
    assert CAL.year_fraction(et(THU, 15), FRI, True) == (60 + OVERNIGHT_MINUTES) / (252 * 390)
    # A PM contract crossing the same night carries the same gap plus Friday's session.
    assert CAL.variance_minutes(et(THU, 15), FRI, False) == 60 + OVERNIGHT_MINUTES + 390


def test_am_settled_is_not_live_after_the_last_close_before_settlement() -> None:
    assert CAL.is_live(et(THU, 15), FRI, True)
    assert not CAL.is_live(et(THU, 16, 30), FRI, True)  # no session left to hedge in
    assert not CAL.is_live(et(FRI, 9), FRI, True)  # before the open on expiry day
    assert CAL.is_live(et(FRI, 9), FRI, False)  # the PM weekly trades all day


def test_the_gap_under_way_counts_pro_rata() -> None:
    # Monday 08:00: 90 of the weekend gap's 3,930 minutes are left before the open.
    gap = (et(MON, 9, 30) - et(FRI, 16)).total_seconds() / 60
    assert CAL.variance_minutes(et(MON, 8), MON, False) == pytest.approx(
        390 + OVERNIGHT_MINUTES * 90 / gap
    )
    assert CAL.variance_minutes(et(MON, 17), MON, False) == 0.0


def test_session_minutes_left_and_length_know_early_closes() -> None:
    assert CAL.session_minutes_left(et(BLACK_FRIDAY, 12)) == 60.0
    assert CAL.session_length(BLACK_FRIDAY) == 210.0
    assert CAL.session_length(THANKSGIVING) == 0.0
    assert CAL.session_minutes_left(et(MON, 12)) == 240.0
