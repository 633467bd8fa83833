"""Coach notes: each trigger, cooldown, silence when nothing changes."""

from __future__ import annotations

import dataclasses

from spotlight.analytics.coach import Coach, CoachState
from spotlight.analytics.flow import FlowAlert
from spotlight.analytics.setups import Setup

T0 = 1_763_650_000_000
MIN = 60_000


def state(**kw: object) -> CoachState:
    base: dict[str, object] = {"now_ms": T0, "spot": 5950.0, "regime": "RANGE", "flip": 5900.0}
    base.update(kw)
    return CoachState(**base)  # type: ignore[arg-type]


def setup(state_: str) -> Setup:
    return Setup(
        id="call_wall_fade@6000",
        kind="call_wall_fade",
        direction="short",
        state=state_,  # type: ignore[arg-type]
        level_name="call_wall",
        level=6000.0,
        entry=5995.0,
        stop=6004.0,
        targets=(5980.0, 5960.0),
        invalidation="a trade above 6004.00",
        regime="RANGE",
        distance_points=-5.0,
        distance_sigma=-0.125,
        level_score=9.0,
        rationale="r",
    )


def alert(kind: str) -> FlowAlert:
    return FlowAlert(
        id=f"{kind}:X:{T0}",
        kind=kind,  # type: ignore[arg-type]
        contract="O:SPXW261120C06000000",
        strike=6000.0,
        expiry="2026-11-20",
        option_type="call",
        side="buy",
        delta_volume=600.0,
        premium=750_000.0,
        vol_oi=2.5,
        delta_notional=1_800_000_000.0,
        zero_dte=True,
        confidence="medium",
        ts_ms=T0,
        extrinsic_premium=700_000.0,
        directional_delta_notional=1_800_000_000.0,
    )


def test_no_message_when_nothing_changes() -> None:
    coach = Coach()
    assert coach.observe(state()) == []
    assert coach.observe(state(now_ms=T0 + MIN)) == []
    assert coach.observe(state(now_ms=T0 + 20 * MIN, spot=5951.0)) == []


def test_regime_flip_then_cooldown() -> None:
    coach = Coach(cooldown_s=300)
    coach.observe(state())
    (msg,) = coach.observe(state(now_ms=T0 + MIN, regime="TREND"))
    assert (msg.kind, msg.severity) == ("regime", "watch")
    assert msg.text == "Regime changed from RANGE to TREND with spot at 5950.00."
    assert msg.to_json()["id"] == f"regime:regime:{T0 + MIN}"
    assert coach.observe(state(now_ms=T0 + 2 * MIN, regime="RANGE")) == []  # cooling down
    later = coach.observe(state(now_ms=T0 + 7 * MIN, regime="TREND"))
    assert [m.kind for m in later] == ["regime"]


def test_flip_cross() -> None:
    coach = Coach()
    coach.observe(state(spot=5910.0))
    (msg,) = coach.observe(state(now_ms=T0 + MIN, spot=5890.0))
    assert (msg.kind, msg.severity) == ("flip_cross", "alert")
    assert "5890.00" in msg.text and "below the gamma flip 5900.00" in msg.text
    # Back above inside the cooldown: suppressed.
    assert coach.observe(state(now_ms=T0 + 2 * MIN, spot=5910.0)) == []


def test_level_test_first_time_only() -> None:
    coach = Coach()
    coach.observe(state(call_wall=6000.0, spot=5990.0, buffer=4.0))
    (msg,) = coach.observe(state(now_ms=T0 + MIN, call_wall=6000.0, spot=5997.0, buffer=4.0))
    assert (msg.kind, msg.severity) == ("level_test", "info")
    assert msg.text == "Spot 5997.00 is testing the call wall at 6000.00 (-3.00 pt)."
    # Still near: nothing; leaves and returns within the cooldown: nothing.
    assert (
        coach.observe(state(now_ms=T0 + 2 * MIN, call_wall=6000.0, spot=5998.0, buffer=4.0)) == []
    )
    assert (
        coach.observe(state(now_ms=T0 + 3 * MIN, call_wall=6000.0, spot=5990.0, buffer=4.0)) == []
    )
    assert (
        coach.observe(state(now_ms=T0 + 4 * MIN, call_wall=6000.0, spot=5999.0, buffer=4.0)) == []
    )
    coach.observe(state(now_ms=T0 + 5 * MIN, call_wall=6000.0, spot=5990.0, buffer=4.0))
    again = coach.observe(state(now_ms=T0 + 10 * MIN, call_wall=6000.0, spot=6001.0, buffer=4.0))
    assert [m.text for m in again] == [
        "Spot 6001.00 is testing the call wall at 6000.00 (+1.00 pt)."
    ]


def test_vwap_and_put_wall_tests() -> None:
    coach = Coach()
    msgs = coach.observe(state(spot=5950.0, vwap=5951.0, put_wall=5948.5))
    assert sorted(m.text for m in msgs) == [
        "Spot 5950.00 is testing the VWAP at 5951.00 (-1.00 pt).",
        "Spot 5950.00 is testing the put wall at 5948.50 (+1.50 pt).",
    ]


def test_setup_triggered_then_invalidated() -> None:
    coach = Coach()
    assert coach.observe(state(setups=[setup("watching")])) == []
    (msg,) = coach.observe(state(now_ms=T0 + MIN, setups=[setup("triggered")]))
    assert (msg.kind, msg.severity) == ("setup_triggered", "alert")
    assert msg.text == (
        "call wall fade triggered short at 5995.00 (call_wall 6000.00); stop 6004.00, "
        "targets 5980.00, 5960.00. Invalidation: a trade above 6004.00."
    )
    assert coach.observe(state(now_ms=T0 + 2 * MIN, setups=[setup("triggered")])) == []
    (msg,) = coach.observe(state(now_ms=T0 + 3 * MIN, spot=6005.0, setups=[setup("invalidated")]))
    assert (msg.kind, msg.severity) == ("setup_invalidated", "watch")
    assert "6000.00" in msg.text and "6005.00" in msg.text


def test_large_flow_alerts_only() -> None:
    coach = Coach()
    assert coach.observe(state(flow_alerts=[alert("unusual_vol_oi")])) == []
    (msg,) = coach.observe(state(now_ms=T0 + MIN, flow_alerts=[alert("large_premium")]))
    assert (msg.kind, msg.severity) == ("flow", "alert")
    assert msg.text == (
        "Large buy flow: 600 contracts of the 6000 call (2026-11-20), $750,000 premium "
        "($700,000 time value), directional delta $1,800,000,000."
    )
    assert coach.observe(state(now_ms=T0 + 2 * MIN, flow_alerts=[alert("large_premium")])) == []


def test_deterministic_text() -> None:
    def run() -> list[str]:
        coach = Coach()
        coach.observe(state(spot=5910.0))
        s = state(now_ms=T0 + MIN, spot=5890.0, regime="TREND", setups=[setup("triggered")])
        return [m.text for m in coach.observe(dataclasses.replace(s))]

    assert run() == run()
    assert len(run()) == 3


def test_flow_messages_are_the_largest_few() -> None:
    alerts = [
        dataclasses.replace(
            alert("large_premium"), contract=f"O:SPX261218C0{5000 + i}000", premium=300_000.0 + i
        )
        for i in range(40)
    ]
    coach = Coach()
    said = coach.observe(state(flow_alerts=alerts))
    assert [m.kind for m in said] == ["flow"] * 3
    assert all(f"${p:,}" in m.text for m, p in zip(said, (300_039, 300_038, 300_037), strict=True))


def test_two_setups_at_nearby_levels_are_both_announced() -> None:
    from datetime import datetime

    from spotlight.analytics.regime import classify
    from spotlight.analytics.setups import SetupInputs, detect_setups
    from spotlight.domain.nytime import NY

    at_15 = int(datetime(2026, 11, 20, 15, 0, tzinfo=NY).timestamp() * 1000)
    pins = detect_setups(
        SetupInputs(
            spot=6000.0,
            bars_1m=[],
            bars_5m=[],
            regime=classify("POS", "IV_rich", 0),
            sigma_remaining=20.0,  # b = 2 points
            now_ms=at_15,
            ags=6003.4,  # two strikes that round to the same whole point
            max_net_strike=6002.6,
            session_close_ms=at_15 + 3_600_000,
        )
    )
    assert [s.state for s in pins] == ["triggered", "triggered"]
    said = Coach().observe(state(now_ms=at_15, spot=6000.0, setups=pins))
    assert len([m for m in said if m.kind == "setup_triggered"]) == 2
