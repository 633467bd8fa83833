"""One option contract as the analytics see it: a frozen snapshot (pure).

Every source produces these: Massive's chain snapshots are translated at one boundary
(``market/massive/models.py``), the simulator's option book builds them directly
(``market/simulated_options.py``), and recordings store them field by field. Nothing here
knows a vendor's field names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["OptionSnapshot", "QuoteProblem", "quote_problem", "quote_problems", "usable_mid"]

QuoteProblem = Literal["crossed", "zero-bid"]


def quote_problem(bid: float | None, ask: float | None) -> QuoteProblem | None:
    """Why a two-sided quote has no mid to price from: ``crossed`` (the ask below the bid:
    one side is stale or wrong, and bid 3.00 / ask 1.00 "implied" a vol of 8%) or
    ``zero-bid`` (nobody bids, deep out of the money: the "mid" is half the ask). A locked
    quote (bid = ask) is one price both sides agree on, and fine. None when a side is
    missing: there is nothing to judge."""
    if bid is None or ask is None:
        return None
    if ask < bid:
        return "crossed"
    if bid == 0.0:
        return "zero-bid"
    return None


def usable_mid(bid: float | None, ask: float | None, mid: float | None) -> float | None:
    """``mid``, refused (None) when the quote has a ``quote_problem``: the parsing boundary
    of every source applies it, so the analytics fall back to the vendor's IV."""
    return None if quote_problem(bid, ask) is not None else mid


def quote_problems(chain: Iterable[OptionSnapshot]) -> Counter[QuoteProblem]:
    """How many contracts of ``chain`` had their mid refused, by problem."""
    return Counter(p for s in chain if (p := quote_problem(s.bid, s.ask)) is not None)


@dataclass(frozen=True, slots=True)
class OptionSnapshot:
    """One contract at one instant.

    Absent blocks are None (or the documented zero): no greeks -> the greeks are None (deep
    ITM, no valid quote); no quote -> bid/ask/mid/quote_ts_ms None; no trade -> last_* and
    trade_ts_ms None and ``last_conditions`` (); no day activity -> ``day_volume`` 0.0; no
    open interest -> 0.0. ``mid`` is the source's midpoint, else (bid + ask) / 2 when both
    sides exist, and None when the quote is crossed or has no bid (``usable_mid``; bid and
    ask stay as published). ``underlying_value`` is the index value (or a stock underlying's price).
    ``delayed`` is True when the source says the data is delayed. Times are Unix ms.
    """

    ticker: str  # OCC-style: O:SPXW251219C06000000
    contract_type: str  # call, put or other
    expiration_date: str  # YYYY-MM-DD
    strike: float
    shares_per_contract: float
    open_interest: float
    implied_volatility: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    day_volume: float
    day_vwap: float | None
    bid: float | None
    ask: float | None
    mid: float | None
    quote_ts_ms: int | None
    last_price: float | None
    last_size: float | None
    last_exchange: int | None
    last_conditions: tuple[int, ...]
    trade_ts_ms: int | None
    underlying_value: float | None
    delayed: bool
