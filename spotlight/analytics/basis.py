"""SPX vs SPY basis: convert SPY-derived levels into SPX points (spec section 5.1).

SPY is designed as roughly SPX/10, but the ratio drifts (expense ratio, dividend cash drag,
tracking), and observed ratios sit slightly above 10. So the ratio is measured, never assumed:

    ratio = median over the last ``window`` synchronized samples of SPX / SPY_mid

Each sample pairs an SPX value with the SPY NBBO mid (not the last trade) taken at the same
moment, e.g. on every 1-minute close. The median, not the mean, keeps one stale or mismatched
sample from moving the ratio: one SPY cent is about 0.1 SPX point, so quote noise matters.
The SPX equivalent of a SPY level ``L`` is ``L * ratio``.

Reset the tracker (build a new one) on SPY ex-dividend days: the ratio steps there.

Pure module: no I/O, no clock.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Mapping

__all__ = ["DEFAULT_WINDOW", "BasisTracker"]

# 30 samples of 1-minute closes is half an hour: long enough that the median shrugs off a
# few bad quotes, short enough to follow intraday drift. Spec section 5.1 suggests N = 30.
DEFAULT_WINDOW = 30


class BasisTracker:
    """Rolling median of SPX / SPY_mid over the last ``window`` accepted samples.

    ``add`` silently ignores a sample that is not usable: any non-finite or non-positive
    input, or a crossed SPY quote (bid > ask). A locked quote (bid == ask) is accepted.
    ``rejected`` counts the ignored samples so a caller can surface bad feeds.
    """

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be a positive number of samples, not {window!r}")
        self.window = window
        self.rejected = 0
        self._ratios: deque[float] = deque(maxlen=window)

    def add(self, spx: float, spy_bid: float, spy_ask: float) -> None:
        """Add one synchronized sample: the SPX value and the SPY quote at the same moment."""
        values = (spx, spy_bid, spy_ask)
        if not all(math.isfinite(v) and v > 0 for v in values) or spy_bid > spy_ask:
            self.rejected += 1
            return
        mid = (spy_bid + spy_ask) / 2
        self._ratios.append(spx / mid)

    @property
    def samples(self) -> int:
        """Accepted samples currently in the window (0 .. ``window``)."""
        return len(self._ratios)

    @property
    def ratio(self) -> float | None:
        """Median SPX / SPY_mid over the window; None before the first accepted sample."""
        if not self._ratios:
            return None
        return statistics.median(self._ratios)

    def to_spx(self, spy_level: float) -> float | None:
        """The SPX equivalent of a SPY price level, ``spy_level * ratio``; None without a ratio."""
        ratio = self.ratio
        if ratio is None or not math.isfinite(spy_level):
            return None
        return spy_level * ratio

    def payload(self, spy_levels: Mapping[str, float] | None = None) -> dict[str, object]:
        """A JSON-ready snapshot.

        Shape::

            {"ratio": float | None,          # None until the first accepted sample
             "samples": int,                 # accepted samples in the window
             "window": int,
             "spxEquivalentOf": {name: float | None}}   # each SPY level times the ratio

        ``spy_levels`` maps a caller's name (e.g. ``"spyVwap"``) to a SPY price; it defaults
        to none, giving an empty ``spxEquivalentOf``.
        """
        converted = {name: self.to_spx(level) for name, level in (spy_levels or {}).items()}
        return {
            "ratio": self.ratio,
            "samples": self.samples,
            "window": self.window,
            "spxEquivalentOf": converted,
        }
