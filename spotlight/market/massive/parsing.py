"""A small kit for reading Massive's JSON with exact error messages (pure: no I/O).

``Reader`` wraps one JSON object and its path (``results[3].details``); each accessor either
returns a validated value or raises ``MassiveDataError`` naming the field path, the bad value
and what was expected, so junk never escapes as ``KeyError``/``TypeError``. The rules it
applies are listed in ``models``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeVar

from spotlight.market.massive.errors import MassiveDataError

__all__ = ["NS_PER_MS", "Reader", "fail", "parse_items"]

T = TypeVar("T")
NS_PER_MS = 1_000_000


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fail(path: str, expected: str, value: object) -> MassiveDataError:
    return MassiveDataError(f"{path or 'body'}: expected {expected}, got {_show(value)}")


class Reader:
    """A JSON object being read, with its path for error messages (``results[3].details``)."""

    __slots__ = ("path", "raw")

    def __init__(self, raw: object, path: str) -> None:
        if not isinstance(raw, dict):
            raise fail(path, "a JSON object", raw)
        self.raw: dict[str, object] = raw
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> object:
        """The value, or None when absent or null."""
        return self.raw.get(key)

    def obj(self, key: str) -> Reader:
        """The sub-object; an empty one when absent or null (optional blocks)."""
        value = self.raw.get(key)
        return Reader({} if value is None else value, self.at(key))

    def opt_text(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str):
            raise fail(self.at(key), "a string", value)
        return value

    def text(self, key: str) -> str:
        value = self.opt_text(key)
        if value is None:
            raise fail(self.at(key), "a string", self.raw.get(key, "<missing>"))
        return value

    def flag(self, key: str) -> bool:
        """A boolean; absent or null is False."""
        value = self.raw.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise fail(self.at(key), "true or false", value)
        return value

    def opt_number(self, key: str, *, signed: bool = False) -> float | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(self.at(key), "a number", value)
        number = float(value)
        if not math.isfinite(number) or (not signed and number < 0):
            raise fail(self.at(key), "a finite number" + ("" if signed else " >= 0"), value)
        return number

    def number(self, key: str) -> float:
        number = self.opt_number(key)
        if number is None:
            raise fail(self.at(key), "a number", self.raw.get(key, "<missing>"))
        return number

    def opt_integer(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail(self.at(key), "an integer >= 0", value)
        return value

    def integer(self, key: str) -> int:
        value = self.opt_integer(key)
        if value is None:
            raise fail(self.at(key), "an integer", self.raw.get(key, "<missing>"))
        return value

    def opt_ns_as_ms(self, key: str) -> int | None:
        ns = self.opt_integer(key)
        return None if ns is None else ns // NS_PER_MS

    def ns_as_ms(self, key: str) -> int:
        return self.integer(key) // NS_PER_MS

    def delayed(self) -> bool:
        return self.raw.get("timeframe") == "DELAYED"


def parse_items(raw: object, parse: Callable[[object, str], T], path: str = "results") -> list[T]:
    """Parse a JSON array item by item; None (absent or null) is an empty list."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise fail(path, "a JSON array", raw)
    return [parse(item, f"{path}[{i}]") for i, item in enumerate(raw)]
