"""The epoch: one per server start. Sequence numbers are only comparable within an epoch."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

__all__ = ["Epoch"]


@dataclass(frozen=True, slots=True)
class Epoch:
    id: str  # short random token; never reused, so a resume id from before a restart is detectable
    start_ms: int

    @classmethod
    def new(cls, start_ms: int) -> Epoch:
        # 48 random bits: collisions across restarts are negligible, and ids stay short on the
        # wire (every SSE frame carries one).
        return cls(id=secrets.token_hex(6), start_ms=start_ms)

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "startMs": self.start_ms}
