"""Pure analytics engines: inputs in, payloads out. Imports no I/O framework."""

from spotlight.analytics.basis import BasisTracker
from spotlight.analytics.clusters import Zone, adaptive_width, cluster_levels
from spotlight.analytics.gex import (
    FlipResult,
    KeyLevels,
    OptionPosition,
    StrikeGex,
    gamma_flip,
    gamma_profile,
    gex_by_strike,
    key_levels,
    spot_grid,
)
from spotlight.analytics.gex_report import convention, gex_report
from spotlight.analytics.greeks import bs_gamma, bs_price, implied_vol
from spotlight.analytics.levels import Level, all_levels, opening_range, session_vwap
from spotlight.analytics.regime import RegimeLabel, classify, gamma_sign, vol_state
from spotlight.analytics.session import SessionCalendar

__all__ = [
    "BasisTracker",
    "FlipResult",
    "KeyLevels",
    "Level",
    "OptionPosition",
    "RegimeLabel",
    "SessionCalendar",
    "StrikeGex",
    "Zone",
    "adaptive_width",
    "all_levels",
    "bs_gamma",
    "bs_price",
    "classify",
    "cluster_levels",
    "convention",
    "gamma_flip",
    "gamma_profile",
    "gamma_sign",
    "gex_by_strike",
    "gex_report",
    "implied_vol",
    "key_levels",
    "opening_range",
    "session_vwap",
    "spot_grid",
    "vol_state",
]
