"""The offline coach's small grammar: what it can be asked, and which tool answers (pure).

Two uses of one vocabulary:

- ``GRAMMAR`` (JSGF) constrains pocketsphinx to the questions the coach can answer, which is
  what makes an offline recogniser accurate enough (an open vocabulary on a few seconds of
  speech is mostly wrong; a grammar of a few dozen phrases is mostly right).
- ``parse_intent`` maps a transcript, or a typed question, to a tool and its arguments by
  keywords, so typed questions need not follow the grammar word for word.

``PRONUNCIATIONS``: grammar words missing from pocketsphinx's English dictionary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GRAMMAR", "HELP", "PRONUNCIATIONS", "Intent", "parse_intent"]

GRAMMAR = """#JSGF V1.0;
grammar coach;
public <question> = [hey coach] <ask> [please];
<ask> = <price> | <gex> | <regime> | <levels> | <setups> | <flow> | help;
<wh> = what is | what are | where is | where are | how is | show me | tell me | give me;
<symbol> = spy | s p y | s p x | q q q | the s and p;
<price> = [<wh>] [the] (price | quote) [(of | for) <symbol>]
        | (how | where) is <symbol> [trading | doing]
        | <symbol> price;
<gex> = [<wh>] [the] [<symbol>] (gamma flip | flip | call wall | put wall | walls
        | gamma [exposure] | gex) [(for | on) <symbol>];
<regime> = [<wh>] [the] [market] regime;
<levels> = [<wh>] [the] [key] levels | [<wh>] [the] vwap;
<setups> = [<wh>] [the] [trade] setups | any setups;
<flow> = [<wh>] [the] [options] flow [summary];
"""

PRONUNCIATIONS = {"gex": "JH EH K S", "vwap": "V IY W AA P"}

HELP = (
    "Ask me for the price of SPX, SPY or QQQ, the levels, the gamma flip and walls, "
    "the regime, the setups, or the options flow."
)


@dataclass(frozen=True, slots=True)
class Intent:
    tool: str  # a name in voice/tools.py, or "help"
    args: dict[str, Any] = field(default_factory=dict)


# Spelled-out tickers, as the recogniser writes them, become one word.
_SPELLED = (
    (re.compile(r"\bs (?:and|&) p\b(?: 500)?"), "spx"),
    (re.compile(r"\bs p x\b"), "spx"),
    (re.compile(r"\bs p y\b"), "spy"),
    (re.compile(r"\bq q q\b"), "qqq"),
)
_SYMBOLS = {"spx": "SPX", "spy": "SPY", "qqq": "QQQ"}
_KEYWORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("get_gex", frozenset({"gamma", "gex", "wall", "walls", "flip", "exposure"})),
    ("get_regime", frozenset({"regime"})),
    ("get_setups", frozenset({"setup", "setups", "trade", "trades", "idea", "ideas"})),
    ("get_flow", frozenset({"flow", "premium", "alerts", "sweeps", "sweep"})),
    ("get_levels", frozenset({"level", "levels", "vwap", "support", "resistance", "range"})),
    ("get_price", frozenset({"price", "quote", "trading", "doing"})),
    ("help", frozenset({"help"})),
)


def parse_intent(text: str) -> Intent | None:
    """The tool a question asks for, or None when it asks for nothing the coach knows."""
    norm = " ".join(re.findall(r"[a-z0-9&]+", text.lower().replace("s&p", "s and p")))
    for pattern, word in _SPELLED:
        norm = pattern.sub(word, norm)
    words = norm.split()
    symbol = next((_SYMBOLS[w] for w in words if w in _SYMBOLS), None)
    present = set(words)
    for tool, keys in _KEYWORDS:
        if present & keys:
            if tool == "get_price":
                return Intent(tool, {"symbol": symbol or "SPX"})
            if tool == "get_gex":
                return Intent(tool, {"underlying": "SPY" if symbol == "SPY" else "SPX"})
            return Intent(tool)
    if symbol is not None:  # "how is SPY", "SPY?"
        return Intent("get_price", {"symbol": symbol})
    return None
