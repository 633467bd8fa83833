"""What an interval's prints support: lots by kind and side, never more than were seen (pure).

Between two chain polls a contract trades ``volume`` lots in prints nobody shows us; a chain
snapshot shows only the newest print (a trade feed would show more). A label needs evidence
in lots: the prints seen speak for their own size, the rest of the interval is unseen, of
no known kind or side. So a 1-lot ISO print is one lot of sweep evidence, not a sweep of the
300 lots traded, and a 1-lot single-leg print after 999 unseen spread lots makes one lot
single-leg, not the interval.

``judge`` sums the seen prints by kind and side, each total capped at the interval's volume
(a source whose print sizes and volumes disagree never labels more lots than traded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spotlight.analytics.trade_conditions import PrintKind

__all__ = ["Evidence", "Print", "Side", "judge"]

Side = Literal["buy", "sell", "mid", "unknown"]


@dataclass(frozen=True, slots=True)
class Print:
    """One print seen in the interval: its size in contracts, what its conditions say
    (``single``, ``iso`` or ``complex``; a canceled print is no print) and its side."""

    size: float
    kind: PrintKind
    side: Side


@dataclass(frozen=True, slots=True)
class Evidence:
    """Lots the seen prints account for, each at most the interval's volume.

    ``single``: in single-leg prints (ISO included), whatever their side; ``complex``: in
    complex-order legs; ``signed``: single-leg lots bought minus sold (aggressive prints
    only), ``sided`` whether any such lot was seen; ``sweep``: ISO lots on ``sweep_side``,
    the aggressive side with more of them (None when no aggressive ISO print was seen)."""

    single: float
    complex: float
    signed: float
    sided: bool
    sweep: float
    sweep_side: Side | None


def judge(volume: float, prints: Sequence[Print]) -> Evidence:
    """The evidence ``prints`` give for an interval of ``volume`` lots."""
    cap = max(volume, 0.0)

    def lots(kinds: tuple[PrintKind, ...], sides: tuple[Side, ...] | None = None) -> float:
        total = sum(
            p.size for p in prints if p.kind in kinds and (sides is None or p.side in sides)
        )
        return min(total, cap)

    single: tuple[PrintKind, ...] = ("single", "iso")
    bought, sold = lots(single, ("buy",)), lots(single, ("sell",))
    iso_buy, iso_sell = lots(("iso",), ("buy",)), lots(("iso",), ("sell",))
    sweep_side: Side | None = None
    if iso_buy or iso_sell:
        sweep_side = "buy" if iso_buy >= iso_sell else "sell"
    return Evidence(
        single=lots(single),
        complex=lots(("complex",)),
        signed=max(-cap, min(cap, bought - sold)),
        sided=bool(bought or sold),
        sweep=max(iso_buy, iso_sell),
        sweep_side=sweep_side,
    )
