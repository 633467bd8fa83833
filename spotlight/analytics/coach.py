"""Plain-language coaching notes when something meaningful changes.

:class:`Coach` compares each :class:`CoachState` with the previous one and speaks only on:

* regime label flips (watch);
* spot crossing the gamma flip (alert);
* a level test: spot comes within ``buffer`` points of the call wall, put wall, flip or
  VWAP after being outside it (info);
* a setup turning triggered (alert) or invalidated (watch);
* a large flow alert: kinds ``large_premium`` and ``block`` (alert).

No (kind, subject) pair repeats within the cooldown; time comes only from ``state.now_ms``,
so tests drive it directly. Texts are fixed templates with numbers to 2 decimals, so the same
inputs always give the same words.

Pure module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from spotlight.analytics.flow import FlowAlert
from spotlight.analytics.setups import Setup

__all__ = ["LARGE_FLOW_KINDS", "Coach", "CoachMessage", "CoachState"]

Severity = Literal["info", "watch", "alert"]
MAX_FLOW_NOTES = 3  # flow messages per update at most (the largest premiums)
LARGE_FLOW_KINDS = frozenset({"large_premium", "block"})
# say(kind, subject, severity, text): queue a message unless (kind, subject) is cooling down
_Say = Callable[[str, str, Severity, str], None]


@dataclass(frozen=True, slots=True)
class CoachState:
    """One observation. None means "not known now" (no message depends on it). ``buffer`` is
    the level-test distance in points (the setups' b)."""

    now_ms: int
    spot: float
    regime: str | None = None
    flip: float | None = None
    call_wall: float | None = None
    put_wall: float | None = None
    vwap: float | None = None
    buffer: float = 2.0
    setups: Sequence[Setup] = ()
    flow_alerts: Sequence[FlowAlert] = ()


@dataclass(frozen=True, slots=True)
class CoachMessage:
    id: str
    kind: str
    severity: Severity
    text: str
    ts_ms: int

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "text": self.text,
            "ts_ms": self.ts_ms,
        }


def _side(spot: float, level: float) -> int:
    return 1 if spot > level else -1 if spot < level else 0


class Coach:
    """Stateful note generator; one owner, call :meth:`observe` on every state change.

    Memory: the cooldown table drops entries older than the cooldown on every call, and the
    setup table holds only the setups of the latest state.
    """

    def __init__(self, cooldown_s: float = 300) -> None:
        self._cooldown_ms = cooldown_s * 1000
        self._last_said: dict[tuple[str, str], int] = {}  # {(kind, subject): ts_ms}
        self._regime: str | None = None
        self._flip_side = 0  # -1 below, +1 above, 0 unknown or exactly at the flip
        self._near: set[str] = set()  # level names spot was within the buffer of
        self._setup_states: dict[str, str] = {}  # {setup id: state}

    def observe(self, state: CoachState) -> list[CoachMessage]:
        now = state.now_ms
        self._last_said = {k: t for k, t in self._last_said.items() if now - t < self._cooldown_ms}
        out: list[CoachMessage] = []

        def say(kind: str, subject: str, severity: Severity, text: str) -> None:
            if (kind, subject) in self._last_said:
                return
            self._last_said[(kind, subject)] = now
            out.append(CoachMessage(f"{kind}:{subject}:{now}", kind, severity, text, now))

        self._regime_notes(state, say)
        self._flip_notes(state, say)
        self._level_notes(state, say)
        self._setup_notes(state, say)
        large = [a for a in state.flow_alerts if a.kind in LARGE_FLOW_KINDS]
        # The largest few only: a coach that speaks hundreds of times a minute is not heard.
        large.sort(key=lambda a: -a.premium)
        for alert in large[:MAX_FLOW_NOTES]:
            delta = alert.directional_delta_notional
            delta_text = (
                f"directional delta ${delta:,.0f}" if delta is not None
                else "no side inferred"
            )  # fmt: skip
            say(
                "flow",
                f"{alert.kind}:{alert.contract}",
                "alert",
                f"Large {alert.side} flow: {alert.delta_volume:g} contracts of the "
                f"{alert.strike:g} {alert.option_type} ({alert.expiry}), "
                f"${alert.premium:,.0f} premium (${alert.extrinsic_premium:,.0f} time value), "
                f"{delta_text}.",
            )
        return out

    def _regime_notes(self, state: CoachState, say: _Say) -> None:
        if state.regime is None:
            return
        before, self._regime = self._regime, state.regime
        if before is not None and before != state.regime:
            say(
                "regime",
                "regime",
                "watch",
                f"Regime changed from {before} to {state.regime} with spot at {state.spot:.2f}.",
            )

    def _flip_notes(self, state: CoachState, say: _Say) -> None:
        if state.flip is None:
            self._flip_side = 0
            return
        side = _side(state.spot, state.flip)
        before = self._flip_side
        if side != 0:
            self._flip_side = side
        if before != 0 and side != 0 and side != before:
            where = "above" if side > 0 else "below"
            gamma = "positive gamma: moves tend to dampen" if side > 0 else (
                "negative gamma: moves tend to extend"
            )  # fmt: skip
            say(
                "flip_cross",
                "flip",
                "alert",
                f"Spot {state.spot:.2f} crossed {where} the gamma flip {state.flip:.2f} ({gamma}).",
            )

    def _level_notes(self, state: CoachState, say: _Say) -> None:
        levels = {
            "call wall": state.call_wall,
            "put wall": state.put_wall,
            "gamma flip": state.flip,
            "VWAP": state.vwap,
        }
        near: set[str] = set()
        for name, level in levels.items():
            if level is None or abs(state.spot - level) > state.buffer:
                continue
            near.add(name)
            if name not in self._near:
                say(
                    "level_test",
                    name,
                    "info",
                    f"Spot {state.spot:.2f} is testing the {name} at {level:.2f} "
                    f"({state.spot - level:+.2f} pt).",
                )
        self._near = near

    def _setup_notes(self, state: CoachState, say: _Say) -> None:
        before = self._setup_states
        self._setup_states = {s.id: s.state for s in state.setups}
        for s in state.setups:
            if before.get(s.id) == s.state:
                continue
            name = s.kind.replace("_", " ")
            if s.state == "triggered":
                targets = ", ".join(f"{t:.2f}" for t in s.targets)
                say(
                    "setup_triggered",
                    s.id,
                    "alert",
                    f"{name} triggered {s.direction} at {s.entry:.2f} ({s.level_name} "
                    f"{s.level:.2f}); stop {s.stop:.2f}, targets {targets}. "
                    f"Invalidation: {s.invalidation}.",
                )
            elif s.state == "invalidated" and s.id in before:
                say(
                    "setup_invalidated",
                    s.id,
                    "watch",
                    f"{name} at {s.level_name} {s.level:.2f} is invalidated with spot at "
                    f"{state.spot:.2f}.",
                )
