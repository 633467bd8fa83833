"""Example budgets for property tests: ``@settings(max_examples=examples(200))``.

Under the ``explore`` profile (``bash .ci/explore``) every budget is multiplied by
``SPOTLIGHT_EXPLORE_FACTOR`` (default 25), because a test's own ``max_examples`` would
otherwise override the profile's. Under ``ci`` (the default) the budget is as written.
"""

from __future__ import annotations

import os

_EXPLORING = os.environ.get("HYPOTHESIS_PROFILE") == "explore"
# 25x turns the suite's 50-300 examples per property into 1,250-7,500: minutes, not hours,
# on the 2-core box, and enough to find the rare collisions a derandomized run never draws.
_FACTOR = int(os.environ.get("SPOTLIGHT_EXPLORE_FACTOR", "25")) if _EXPLORING else 1


def examples(n: int) -> int:
    """``n`` examples, or ``n`` x the explore factor under ``bash .ci/explore``."""
    return n * _FACTOR
