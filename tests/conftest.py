"""Suite-wide test configuration: the Hypothesis profiles.

Two profiles, chosen by ``HYPOTHESIS_PROFILE`` (default ``ci``):

- ``ci``: derandomized (each property test draws the same examples on every run, seeded from
  the test itself) and without the example database, so a fresh clone's ``bash .ci/run`` is
  reproducible at any time and on any machine: a red CI is a real regression, never a lucky
  draw. This is what ``bash .ci/run`` uses.
- ``explore``: random seeds, the example database in ``.hypothesis/`` and every property
  test's example budget multiplied (``tests/hypo.py``), for ``bash .ci/explore``. A failure it
  finds is printed with a reproduction blob; fix it and pin the failing input with an
  explicit ``@example`` on the test, so ``ci`` checks it from then on.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
# Tests without their own budget get 25x the default 100, like the rest (tests/hypo.py).
settings.register_profile("explore", derandomize=False, print_blob=True, max_examples=2_500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
