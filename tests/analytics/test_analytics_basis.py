"""BasisTracker: SPX / SPY_mid median ratio and SPY -> SPX conversion (spec section 5.1)."""

from __future__ import annotations

import math

import pytest

from spotlight.analytics.basis import BasisTracker


def test_spec_example_ratio_is_measured_and_above_ten() -> None:
    tracker = BasisTracker()
    tracker.add(5250.0, 523.89, 523.91)  # mid 523.90
    ratio = tracker.ratio
    assert ratio is not None
    assert ratio == pytest.approx(5250.0 / 523.9)
    assert ratio > 10  # SPY trades a bit below SPX/10: never hard-code 10
    assert tracker.to_spx(523.9) == pytest.approx(5250.0)
    assert tracker.to_spx(520.0) == pytest.approx(520.0 * 5250.0 / 523.9)


def test_median_ignores_a_single_outlier() -> None:
    tracker = BasisTracker(window=5)
    for spx in (5250.0, 5251.0, 5249.0, 5250.5):
        tracker.add(spx, spx / 10.021 - 0.01, spx / 10.021 + 0.01)
    tracker.add(5250.0, 400.0, 400.02)  # a stale SPY quote: ratio ~13.1
    assert tracker.samples == 5
    assert tracker.ratio == pytest.approx(10.021, abs=1e-3)


def test_window_bounds_the_samples_and_the_median() -> None:
    tracker = BasisTracker(window=3)
    for ratio in (9.0, 9.5, 10.0, 10.1, 10.2):
        tracker.add(ratio * 500, 500.0, 500.0)
    assert tracker.samples == 3
    assert tracker.ratio == pytest.approx(10.1)  # median of the last three only


@pytest.mark.parametrize(
    ("spx", "bid", "ask"),
    [
        (math.nan, 523.0, 523.1),
        (5250.0, math.inf, 523.1),
        (5250.0, 0.0, 523.1),
        (-5250.0, 523.0, 523.1),
        (5250.0, 523.2, 523.1),  # crossed
    ],
)
def test_bad_samples_are_ignored_and_counted(spx: float, bid: float, ask: float) -> None:
    tracker = BasisTracker()
    tracker.add(spx, bid, ask)
    assert tracker.samples == 0
    assert tracker.rejected == 1
    assert tracker.ratio is None
    assert tracker.to_spx(500.0) is None


def test_payload_shape() -> None:
    tracker = BasisTracker(window=10)
    assert tracker.payload() == {"ratio": None, "samples": 0, "window": 10, "spxEquivalentOf": {}}
    tracker.add(5250.0, 523.89, 523.91)
    payload = tracker.payload({"spyVwap": 524.0})
    assert payload["samples"] == 1
    assert payload["spxEquivalentOf"] == {"spyVwap": pytest.approx(524.0 * 5250.0 / 523.9)}


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window"):
        BasisTracker(window=0)
