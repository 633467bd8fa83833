"""Option trade conditions (OPRA, as Massive numbers them): what one print can tell (pure).

Massive's ``/v3/reference/conditions?asset_class=options`` lists the codes; the ones that
change what a print means for flow:

* 201, 203, 205, 207: canceled prints (canceled; last and canceled; opening trade and
  canceled; only trade and canceled). They did not happen.
* 219 (intermarket sweep order), 228 (single-leg auction, ISO), 230 (single-leg cross, ISO):
  the order was marked ISO, the evidence a sweep needs.
* 232-236, 238, 239, 246: legs of multi-leg (complex) orders (spreads, straddles, boxes):
  the leg's price and side say nothing about direction on their own.
* 237, 240-245: stock-option trades (tied to a stock leg, e.g. buy-writes): likewise.
* 247: multilateral compression of proprietary products: position netting, not flow.

Everything else (209 automatic execution, 227/229 single-leg auction or cross, 231 floor,
late or out-of-sequence reports) is an ordinary single-leg print.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

__all__ = ["PrintKind", "classify_print"]

PrintKind = Literal["single", "iso", "complex", "canceled"]

CANCELED: Final = frozenset({201, 203, 205, 207})
ISO: Final = frozenset({219, 228, 230})
MULTI_LEG: Final = frozenset({232, 233, 234, 235, 236, 238, 239, 246})
STOCK_TIED: Final = frozenset({237, 240, 241, 242, 243, 244, 245})
COMPRESSION: Final = frozenset({247})
COMPLEX: Final = MULTI_LEG | STOCK_TIED | COMPRESSION


def classify_print(conditions: Iterable[int]) -> PrintKind:
    """The print's kind; canceled wins over everything, then complex, then ISO."""
    codes = set(conditions)
    if codes & CANCELED:
        return "canceled"
    if codes & COMPLEX:
        return "complex"
    if codes & ISO:
        return "iso"
    return "single"
