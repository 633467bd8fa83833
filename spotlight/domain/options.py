"""One option contract as the analytics see it: a frozen snapshot (pure).

Every source produces these: Massive's chain snapshots are translated at one boundary
(``market/massive/models.py``), the simulator's option book builds them directly
(``market/simulated_options.py``), and recordings store them field by field. Nothing here
knows a vendor's field names.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OptionSnapshot"]


@dataclass(frozen=True, slots=True)
class OptionSnapshot:
    """One contract at one instant.

    Absent blocks are None (or the documented zero): no greeks -> the greeks are None (deep
    ITM, no valid quote); no quote -> bid/ask/mid/quote_ts_ms None; no trade -> last_* and
    trade_ts_ms None and ``last_conditions`` (); no day activity -> ``day_volume`` 0.0; no
    open interest -> 0.0. ``mid`` is the source's midpoint, else (bid + ask) / 2 when both
    sides exist. ``underlying_value`` is the index value (or a stock underlying's price).
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
