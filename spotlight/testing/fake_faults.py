"""Fault injection for the fake Massive: what to break, on which endpoint, how many times.

``FaultPlan.add(endpoint, kind, *, times=1, **params)`` per endpoint name or ``"*"``;
``times=None`` lasts until ``clear()``. Each request consumes every matching ``latency`` fault
(the delays add up) and then the first other matching fault, in the order they were added.
The kinds and their parameters are listed in fake_massive.py's docstring.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from spotlight.market.massive.endpoints import ENDPOINTS

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan"]

_PARAMS: dict[str, frozenset[str]] = {
    "latency": frozenset({"seconds"}),
    "status": frozenset({"code", "body"}),
    "rate_limit": frozenset({"retry_after", "body"}),
    "unauthorized": frozenset({"message"}),
    "forbidden": frozenset({"message"}),
    "not_found": frozenset({"message"}),
    "empty": frozenset(),
    "missing_results": frozenset(),
    "malformed": frozenset(),
    "delayed": frozenset(),
    "error_in_200": frozenset({"status", "message"}),
    "loop_next_url": frozenset(),
}
FAULT_KINDS: tuple[str, ...] = tuple(_PARAMS)


@dataclass
class Fault:
    id: int
    endpoint: str
    kind: str
    times: int | None
    params: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "endpoint": self.endpoint,
            "kind": self.kind,
            "times": self.times,
            "params": self.params,
        }


class FaultPlan:
    """Faults to inject, per endpoint, consumed in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, endpoint: str, kind: str, *, times: int | None = 1, **params: Any) -> Fault:
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}, *")
        allowed = _PARAMS.get(kind)
        if allowed is None:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)):
            raise ValueError(f"times must be an int >= 1 or None, got {times!r}")
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 or None, got {times!r}")
        extra = set(params) - allowed
        if extra:
            raise ValueError(f"{kind} takes {sorted(allowed) or 'no params'}, not {sorted(extra)}")
        _check_params(kind, params)
        fault = Fault(next(self._ids), endpoint, kind, times, dict(params))
        self._faults.append(fault)
        return fault

    def clear(self) -> int:
        n = len(self._faults)
        self._faults.clear()
        return n

    @property
    def active(self) -> list[Fault]:
        return list(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    def take(self, endpoint: str) -> tuple[float, Fault | None]:
        """Consume the faults for one request: ``(total latency, other fault or None)``."""
        delay = 0.0
        chosen: Fault | None = None
        for fault in list(self._faults):
            if fault.endpoint not in ("*", endpoint):
                continue
            if fault.kind == "latency":
                delay += float(fault.params.get("seconds", 1.0))
            elif chosen is None:
                chosen = fault
            else:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        return delay, chosen


def _check_params(kind: str, params: dict[str, Any]) -> None:
    def number(name: str) -> None:
        v = params.get(name)
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0
        ):
            raise ValueError(f"{kind}: {name} must be a number >= 0, got {v!r}")

    if kind == "latency":
        number("seconds")
    elif kind == "status":
        code = params.get("code", 500)
        if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"status: code must be an HTTP status (100-599), got {code!r}")
        if params.get("body", "html") not in ("html", "empty", "json"):
            raise ValueError("status: body must be 'html', 'empty' or 'json'")
    elif kind == "rate_limit":
        ra = params.get("retry_after")
        if ra is not None and (isinstance(ra, bool) or not isinstance(ra, int) or ra < 0):
            raise ValueError(f"rate_limit: retry_after must be an int >= 0 or None, got {ra!r}")
        if params.get("body", "json") not in ("json", "empty"):
            raise ValueError("rate_limit: body must be 'json' or 'empty'")
