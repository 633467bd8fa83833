"""The channels' session inputs and gamma levels: regular hours, the session's own close, one
bucket of gamma levels, and the setups fed every level they need."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from spotlight.analytics.channels import ChannelInputs, gamma_levels, regime_payload
from spotlight.analytics.gex import OptionPosition
from spotlight.analytics.gex_report import gex_report
from spotlight.analytics.session import SessionCalendar, nyse_calendar
from spotlight.domain.bars import Bar
from spotlight.domain.nytime import NY
from spotlight.domain.ticks import Trade
from spotlight.engine.analytics_engine import AnalyticsEngine
from spotlight.engine.pipeline import Pipeline
from spotlight.hub import Epoch, History, Hub

BLACK_FRIDAY = date(2026, 11, 27)  # NYSE closes at 13:00


def ms(day: date, hh: int, mm: int = 0) -> int:
    return int(datetime.combine(day, time(hh, mm), NY).timestamp() * 1000)


def gex_with(flip: float | None, net: float, iv: float, bucket: str = "0dte") -> dict[str, Any]:
    return {
        "atmIv0dte": iv,
        "gammaLevels": {
            "bucket": bucket, "callWall": None, "putWall": None, "absGammaStrike": None,
            "maxNetStrike": None, "flip": flip, "netGexBn": net,
        },
    }  # fmt: skip


def test_regime_uses_the_sessions_own_close_on_an_early_close_day() -> None:
    # 12:00 on a 13:00 close: 60 minutes left, not 240. With IV 20% the remaining 1 sigma is
    # 6000 x 0.2 x sqrt(60 / 98,280) = 29.6 points, so a flip 10 points away is outside the
    # quarter-sigma transition band: POS. Counting to 16:00 (59.3 points) said TRANSITION.
    inputs = ChannelInputs(now_ms=ms(BLACK_FRIDAY, 12), spx=6000.0, gex_spx=gex_with(5990, 2, 0.2))
    assert inputs.minutes_left() == 60.0
    regime = regime_payload(inputs)
    assert regime["gamma"] == "POS"
    assert regime["minutesLeft"] == 60.0
    assert regime["sigmaRemaining"] == pytest.approx(6000 * 0.2 * (60 / 98_280) ** 0.5)
    # At 13:30 the session is over: nothing left, not 150 minutes.
    late = ChannelInputs(now_ms=ms(BLACK_FRIDAY, 13, 30), spx=6000.0)
    assert late.minutes_left() == 0.0


def pos(strike: float, kind: str, expiry: date, oi: float, iv: float = 0.15) -> OptionPosition:
    return OptionPosition(strike, kind, expiry, False, oi, iv)


def test_levels_and_regime_never_mix_buckets() -> None:
    # 0DTE: calls only, so its profile never crosses zero (no flip); the later expiry has
    # heavy puts below, so the all-expiry profile does cross. The published flip must not be
    # the all-expiry one next to the 0DTE walls.
    mon = date(2026, 11, 23)
    now = datetime.combine(mon, time(11, 0), NY)
    book = [
        pos(6050, "call", mon, 50_000),
        pos(5950, "call", mon, 5_000),
        pos(5900, "put", mon + timedelta(7), 100_000),
    ]
    report = gex_report(book, 6000.0, now, SessionCalendar())
    buckets = report["buckets"]
    assert isinstance(buckets, dict)
    assert buckets["0dte"]["flip"]["level"] is None and buckets["all"]["flip"]["level"] is not None
    levels = gamma_levels(report)
    assert levels["call_wall"] == 6050 and "flip" not in levels
    assert levels["max_net"] == 6050
    regime = regime_payload(
        ChannelInputs(now_ms=int(now.timestamp() * 1000), spx=6000.0, gex_spx=report)
    )
    assert regime["gammaBucket"] == "0dte" and regime["flip"] is None


# -- the engine: regular-hours inputs and every level the setups need -----------------------


def minute(symbol: str, start_ms: int, close: float) -> Bar:
    return Bar(symbol, "1m", start_ms, close, close + 0.5, close - 0.5, close, 0.0, 60)


def engine_with(history: list[Bar]) -> AnalyticsEngine:
    hub = Hub(Epoch("ab", 0), History(10_000, 1e9), clock=lambda: 0.0)
    pipeline = Pipeline("t", hub, ("I:SPX", "SPY"), 10 * 1440)
    pipeline.load_history({"I:SPX": history})
    last = history[-1]
    pipeline.last_trade["I:SPX"] = Trade("I:SPX", last.start_ms + 30_000, last.close, 0.0)
    return AnalyticsEngine(hub, pipeline)


def test_session_inputs_are_regular_hours_only() -> None:
    # A 24-hour tape: Thursday's session closes at 6000, then the evening drifts to 6100 by
    # 23:59 and Friday's pre-market swings wildly. The prior close is the 16:00 close, and the
    # realized vol and the swing see only Friday's session.
    thu, fri = date(2026, 11, 19), date(2026, 11, 20)
    bars: list[Bar] = []
    t = ms(thu, 9, 30)
    while t < ms(fri, 10, 30):
        local = datetime.fromtimestamp(t / 1000, NY)
        in_session = (local.date() == thu and local.time() < time(16)) or local.time() >= time(
            9, 30
        )
        if local.date() == thu and local.time() < time(16):
            price = 5990.0 + (t - ms(thu, 9, 30)) / 60_000 * 10 / 389  # 6000 at 15:59
        elif local.date() == thu:
            price = 6000.0 + (t - ms(thu, 16)) / (ms(fri, 0) - ms(thu, 16)) * 100
        elif not in_session:
            price = 6100.0 + (40.0 if (t // 60_000) % 2 else -40.0)  # a wild overnight tape
        else:
            price = 6050.0 + ((t // 60_000) % 3)  # a calm session
        bars.append(minute("I:SPX", t, round(price, 2)))
        t += 60_000
    engine = engine_with(bars)
    engine.latest["gex:SPX"] = gex_with(None, 1.0, 0.15)
    inputs = engine._inputs(ms(fri, 10, 29))
    assert inputs.spx_prev_day is not None and inputs.spx_prev_day.close == pytest.approx(6000.0)
    assert inputs.spx_prev_day.high == pytest.approx(6000.5)
    assert inputs.spx_minutes[0].start_ms == ms(fri, 9, 30)
    assert len(inputs.spx_minutes) == 60
    engine.levels(ms(fri, 10, 29))
    levels = {lv["name"]: lv["price"] for lv in engine.latest["levels:update"]["levels"]}
    assert levels["PDC"] == 6000.0
    regime = engine.latest["regime:update"]
    assert regime["rvSession"] < 0.2  # the calm session, not the overnight swings


def test_setups_get_the_max_net_strike_and_the_opening_range_end() -> None:
    fri = date(2026, 11, 20)
    bars = [minute("I:SPX", ms(fri, 9, 30) + i * 60_000, 6008.0) for i in range(330)]
    engine = engine_with(bars)  # 15:00, spot 6008
    gex = gex_with(5900.0, 5.0, 0.15)
    gex["gammaLevels"].update(maxNetStrike=6010.0, absGammaStrike=6100.0)
    engine.latest["gex:SPX"] = gex
    engine.levels(ms(fri, 15, 0))
    setups = engine.latest["setups:update"]["setups"]
    pins = [s for s in setups if s["kind"] == "late_day_pin"]
    assert [p["levelName"] for p in pins] == ["max_net_strike"]
    assert engine.latest["levels:update"]["openingRange"]["endMs"] == ms(fri, 10, 0)


def test_the_calendar_is_nyse_by_default() -> None:
    inputs = ChannelInputs(now_ms=ms(BLACK_FRIDAY, 12), spx=None)
    assert inputs.cal is nyse_calendar(2026)


def test_setups_and_regime_share_one_remaining_session_sigma_on_an_early_close() -> None:
    # 12:00 on 2026-11-27 (13:00 close), spot 6000, 0DTE ATM IV 12%: iv0dte is per 98,280
    # session minutes, so the hour left is 6000 x 0.12 x sqrt(60 / 98,280) = 17.790 points.
    # Setups used 6000 x 0.12 / sqrt(252) x sqrt(60 / 210) = 24.244 (x1.3628), as if the
    # 210-minute session carried a full 390-minute day's variance.
    sigma = 6000 * 0.12 * math.sqrt(60 / 98_280)
    assert sigma == pytest.approx(17.790, abs=5e-4)
    assert 6000 * 0.12 / math.sqrt(252) * math.sqrt(60 / 210) == pytest.approx(24.244, abs=5e-4)
    bars = [minute("I:SPX", ms(BLACK_FRIDAY, 9, 30) + i * 60_000, 6000.0) for i in range(150)]
    engine = engine_with(bars)
    gex = gex_with(5900.0, 5.0, 0.12)
    gex["gammaLevels"].update(callWall=6005.0)
    engine.latest["gex:SPX"] = gex
    engine.levels(ms(BLACK_FRIDAY, 12, 0))
    regime = engine.latest["regime:update"]
    assert regime["gamma"] == "POS" and regime["sigmaRemaining"] == pytest.approx(sigma)
    [fade] = engine.latest["setups:update"]["setups"]
    assert (fade["kind"], fade["state"]) == ("call_wall_fade", "watching")
    # distanceSigma = (6000 - 6005) / 17.790 = -0.2811 (it was -5 / 24.244 = -0.2062).
    assert fade["distanceSigma"] == pytest.approx(-5 / sigma)
    assert fade["distanceSigma"] == pytest.approx(-0.2811, abs=5e-5)


def test_the_late_day_pin_counts_from_the_sessions_own_close() -> None:
    # 12:00 on 2026-11-27: 60 minutes before the 13:00 close, inside the pin's last 90
    # minutes (14:30 on a 16:00 close, 11:30 on this one). Spot 6000, the AGS 5 points up,
    # sigma 17.790: within 0.5 sigma (8.9) and beyond b (2), so the pin is on. A fixed 14:30
    # start could never fire on a 13:00 close.
    bars = [minute("I:SPX", ms(BLACK_FRIDAY, 9, 30) + i * 60_000, 6000.0) for i in range(150)]
    engine = engine_with(bars)
    gex = gex_with(5900.0, 5.0, 0.12)
    gex["gammaLevels"].update(absGammaStrike=6005.0)
    engine.latest["gex:SPX"] = gex
    engine.levels(ms(BLACK_FRIDAY, 12, 0))
    [pin] = engine.latest["setups:update"]["setups"]
    assert (pin["kind"], pin["direction"], pin["state"]) == ("late_day_pin", "long", "triggered")
    # 11:00 is two hours before the close: too early for the pin.
    early = [b for b in bars if b.start_ms < ms(BLACK_FRIDAY, 11)]
    engine = engine_with(early)
    engine.latest["gex:SPX"] = gex
    engine.levels(ms(BLACK_FRIDAY, 11, 0))
    assert "late_day_pin" not in [s["kind"] for s in engine.latest["setups:update"]["setups"]]


def test_no_live_setups_without_an_open_session() -> None:
    # 13:30 on 2026-11-27, half an hour after the 13:00 close: the call wall 5 points above
    # spot in positive gamma made a "watching" fade. Nothing is live after the bell.
    bars = [minute("I:SPX", ms(BLACK_FRIDAY, 9, 30) + i * 60_000, 6000.0) for i in range(210)]
    gex = gex_with(5900.0, 5.0, 0.12)
    gex["gammaLevels"].update(callWall=6005.0)
    for now in (ms(BLACK_FRIDAY, 12, 59), ms(BLACK_FRIDAY, 13, 0), ms(BLACK_FRIDAY, 13, 30)):
        engine = engine_with(bars)
        engine.latest["gex:SPX"] = gex
        engine.levels(now)
        kinds = [s["kind"] for s in engine.latest["setups:update"]["setups"]]
        assert kinds == (["call_wall_fade"] if now < ms(BLACK_FRIDAY, 13) else []), now
    # Nor on a weekend, with Friday's bars and levels still in place.
    saturday = BLACK_FRIDAY + timedelta(days=1)
    engine = engine_with(bars)
    engine.latest["gex:SPX"] = gex
    engine.levels(ms(saturday, 12, 0))
    assert engine.latest["setups:update"]["setups"] == []
