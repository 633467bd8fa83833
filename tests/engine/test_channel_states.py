"""Warming markers: no channel is a bare null while it waits for its first value."""

from __future__ import annotations

from spotlight.engine.channel_states import WARMING_LIMIT_MS, channel_states, channel_view

CHANNELS = ("gex:SPX", "levels:update")


def test_warming_then_ready_or_waiting() -> None:
    latest = {"levels:update": {"spot": 6000.0}}
    assert channel_states(CHANNELS, latest, 1_000, 2_000) == {
        "gex:SPX": "warming",
        "levels:update": "ready",
    }
    late = 1_000 + WARMING_LIMIT_MS
    assert channel_states(CHANNELS, latest, 1_000, late)["gex:SPX"] == "waiting"
    assert channel_states(CHANNELS, {}, None, late)["gex:SPX"] == "warming"  # not started yet


def test_view_keeps_payloads_and_marks_the_rest() -> None:
    latest = {"levels:update": {"spot": 6000.0}}
    view = channel_view(CHANNELS, latest, 1_000, 2_000)
    assert view["levels:update"] == {"spot": 6000.0}
    marker = view["gex:SPX"]
    assert marker["state"] == "warming" and marker["sinceMs"] == 1_000
    assert "option chain" in marker["reason"]
    assert latest == {"levels:update": {"spot": 6000.0}}  # the engine's own state is untouched
