"""The market simulator's knobs, validated at construction (pure)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final, Literal

__all__ = ["DEFAULT_SYMBOLS", "MARKET_HOURS", "MarketHours", "SimulatorConfig"]

DEFAULT_SYMBOLS: tuple[str, ...] = ("SPY", "QQQ", "I:SPX")

MarketHours = Literal["exchange", "always"]
# exchange: the index prints only in NYSE regular sessions (its options follow it), stocks
# and ETFs around the clock; always: every symbol around the clock (demos at night, tests).
MARKET_HOURS: Final[tuple[MarketHours, ...]] = ("exchange", "always")

_SYMBOL_RE = re.compile(r"(?:I:)?[A-Z0-9]+(?:\.[A-Z0-9]+)*")
_MAX_SYMBOL_LEN = 20


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Simulator knobs. Invalid values raise :class:`ValueError` at construction."""

    seed: int = 7
    # The caller always includes SPY, QQQ and I:SPX; any extra symbols are supported.
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    # Per symbol, on average, whenever the symbol trades.
    trades_per_second: float = 2.0
    # Average quotes per trade for non-index symbols (0 disables quotes).
    quotes_per_trade: float = 1.0
    # Trading sessions of past 1-minute bars that history() returns, counted back from the
    # start's New York date (simulator.history_start_ms): 1 on a Monday reaches Friday.
    history_days: int = 5
    # When indices print (docs/architecture.md, "The simulated market").
    hours: MarketHours = "exchange"

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an int, got {self.seed!r}")
        if isinstance(self.symbols, str):
            # A bare string would otherwise be read as a tuple of one-letter symbols.
            raise ValueError(
                f"symbols must be a sequence of symbols, got the string {self.symbols!r}"
            )
        symbols = tuple(self.symbols)
        if not symbols:
            raise ValueError("symbols must not be empty")
        seen: set[str] = set()
        for sym in symbols:
            if (
                not isinstance(sym, str)
                or len(sym) > _MAX_SYMBOL_LEN
                or _SYMBOL_RE.fullmatch(sym) is None
            ):
                raise ValueError(
                    f"invalid symbol {sym!r}: expected uppercase letters, digits and dots "
                    f"with an optional 'I:' prefix, at most {_MAX_SYMBOL_LEN} characters"
                )
            if sym in seen:
                raise ValueError(f"duplicate symbol {sym!r} in symbols")
            seen.add(sym)
        # Normalize lists to a tuple so the config stays hashable and immutable.
        object.__setattr__(self, "symbols", symbols)
        if not _finite_number(self.trades_per_second) or self.trades_per_second <= 0:
            raise ValueError(
                f"trades_per_second must be a finite number > 0, got {self.trades_per_second!r}"
            )
        if not _finite_number(self.quotes_per_trade) or self.quotes_per_trade < 0:
            raise ValueError(
                f"quotes_per_trade must be a finite number >= 0, got {self.quotes_per_trade!r}"
            )
        if (
            isinstance(self.history_days, bool)
            or not isinstance(self.history_days, int)
            or self.history_days < 0
        ):
            raise ValueError(f"history_days must be an int >= 0, got {self.history_days!r}")
        if self.hours not in MARKET_HOURS:
            raise ValueError(f"hours must be one of {', '.join(MARKET_HOURS)}, got {self.hours!r}")
