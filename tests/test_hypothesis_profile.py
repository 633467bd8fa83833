"""CI draws the same Hypothesis examples on every run (tests/conftest.py)."""

from __future__ import annotations

import os

from hypothesis import settings


def test_property_tests_are_derandomized_unless_exploring() -> None:
    current = settings()
    if os.environ.get("HYPOTHESIS_PROFILE") == "explore":
        assert not current.derandomize and current.database is not None
    else:
        assert current.derandomize and current.database is None
