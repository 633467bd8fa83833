"""What the log says about Massive requests: each attempt at DEBUG, a summary at INFO.

In Massive mode the pollers make a request or more every second (prices, index values,
bars, status, chains): logged one line each at INFO that was 10,381 lines in 64 minutes
(issue 15), burying everything else. Each attempt is now one DEBUG line (endpoint, status,
outcome, latency, attempt; never the key, never the URL's query), and once every
``SUMMARY_S`` one INFO line sums up the window: requests per outcome and per endpoint, and
latency. (httpx's own per-request INFO line is silenced where logging is configured,
``spotlight/__main__.py``.)

Time is passed in (Trio's clock), so the summary cadence is testable on ``autojump_clock``.
A summary is written when an attempt arrives after the window has run out, and when the
client closes; a quiet upstream writes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # requests.py owns the record and uses this module
    from spotlight.market.massive.requests import RequestRecord

__all__ = ["SUMMARY_S", "RequestLog"]

# One summary line a minute: enough to see the request rate, failures and latency at a
# glance (60 lines an hour instead of ~10,000), short enough to notice trouble quickly.
SUMMARY_S = 60.0

log = logging.getLogger(__name__)


@dataclass
class _Window:
    start_s: float
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    endpoints: Counter[str] = field(default_factory=Counter)
    latency_sum_s: float = 0.0
    latency_max_s: float = 0.0


class RequestLog:
    def __init__(self, logger: logging.Logger = log, summary_s: float = SUMMARY_S) -> None:
        self.logger = logger
        self.summary_s = summary_s
        self._window: _Window | None = None

    def observe(self, record: RequestRecord, now_s: float) -> None:
        """One HTTP attempt: a DEBUG line, and the summary if its window has run out."""
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug(
                "Massive %s: HTTP %s, %s in %.0f ms (attempt %d)",
                record.endpoint,
                record.status if record.status is not None else "-",
                record.outcome,
                record.latency_s * 1000,
                record.attempt,
            )
        w = self._window
        if w is not None and now_s - w.start_s >= self.summary_s:
            self.summarize(now_s)
            w = None
        if w is None:
            w = self._window = _Window(now_s)
        w.requests += 1
        w.outcomes[record.outcome] += 1
        w.endpoints[record.endpoint] += 1
        w.latency_sum_s += record.latency_s
        w.latency_max_s = max(w.latency_max_s, record.latency_s)

    def summarize(self, now_s: float) -> None:
        """The INFO line for the current window (if it saw any request); starts a new one."""
        w, self._window = self._window, None
        if w is None or not w.requests:
            return
        outcomes = ", ".join(
            f"{w.outcomes[k]} {name}"
            for k, name in (
                ("ok", "ok"),
                ("empty", "empty"),
                ("retry", "retried"),
                ("error", "failed"),
            )
            if w.outcomes[k]
        )
        endpoints = ", ".join(f"{name} {n}" for name, n in w.endpoints.most_common())
        self.logger.info(
            "Massive: %d request%s in the last %.0f s (%s; %s); latency avg %.0f ms, max %.0f ms",
            w.requests,
            "" if w.requests == 1 else "s",
            max(now_s - w.start_s, 0.0),
            outcomes,
            endpoints,
            w.latency_sum_s / w.requests * 1000,
            w.latency_max_s * 1000,
        )
