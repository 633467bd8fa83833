"""The coach's tools: price, levels, GEX, regime, setups and flow, read from a ``Feed``.

Both agents use these: the relay answers the upstream model's function calls with
``run_tool`` (the JSON goes back as the call's output), the offline coach turns the same
result into a sentence with ``speak``. A feed is the live market or the replay the client
watches; everything comes from the pipeline's last prices and the analytics engine's latest
payloads (``Feed.latest()``), never from anything made up: a channel not computed yet is an
``{"ok": false, "error": "not_ready"}`` result, and the coach says so.

Pure (no I/O): a tool reads the feed's state at the instant it is called.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from spotlight.analytics.channels import chosen_gamma
from spotlight.engine.channel_states import is_marker
from spotlight.engine.feed import Feed

__all__ = ["TOOL_NAMES", "ToolError", "run_tool", "speak", "tool_specs"]

Result = dict[str, Any]

# How many items a spoken or returned list holds: enough to act on, short enough to hear.
MAX_ITEMS = 3


class ToolError(Exception):
    """A call the tool cannot answer as asked (an unknown symbol): its result says why."""


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _not_ready(what: str) -> Result:
    return {"ok": False, "error": "not_ready", "detail": f"no {what} computed yet"}


def _symbol(feed: Feed, raw: object) -> str:
    if raw is None or raw == "":
        return "I:SPX"
    if not isinstance(raw, str):
        raise ToolError("symbol must be a string")
    wanted = raw.strip().upper()
    for s in feed.symbols:
        if wanted in (s, s.removeprefix("I:")):
            return s
    raise ToolError(f"unknown symbol {raw!r}; this server has {', '.join(feed.symbols)}")


def price(feed: Feed, args: Mapping[str, Any]) -> Result:
    symbol = _symbol(feed, args.get("symbol"))
    snap = feed.pipeline.snapshot([symbol])["symbols"].get(symbol) or {}
    trade = snap.get("trade")
    if not trade:
        return _not_ready(f"trade for {symbol}")
    out: Result = {"ok": True, "symbol": symbol, "price": trade["p"], "asOf": trade["t"]}
    day = (snap.get("bars") or {}).get("1d")
    if day and _num(day.get("o")):
        out["dayOpen"] = day["o"]
        out["change"] = round(trade["p"] - day["o"], 2)
        out["changePct"] = round(100 * (trade["p"] / day["o"] - 1), 2)
    return out


def levels(feed: Feed, args: Mapping[str, Any]) -> Result:
    payload = _latest(feed, "levels:update")
    if not payload:
        return _not_ready("levels")
    spot = _num(payload.get("spot"))
    named = [lv for lv in payload.get("levels") or [] if _num(lv.get("price")) is not None]
    out: Result = {"ok": True, "symbol": "I:SPX", "spot": spot, "asOf": payload.get("asOf")}
    for lv in named:
        if lv.get("name") in ("PDH", "PDL", "PDC"):
            out[str(lv["name"])] = lv["price"]
    vwap = payload.get("vwap") or {}
    if _num(vwap.get("vwap")) is not None:
        out["vwap"] = vwap["vwap"]
    opening = payload.get("openingRange") or {}
    if _num(opening.get("high")) is not None:
        out["openingRange"] = {"high": opening["high"], "low": opening.get("low")}
    if spot is not None:
        above = sorted((lv for lv in named if lv["price"] > spot), key=lambda lv: lv["price"])
        below = sorted((lv for lv in named if lv["price"] <= spot), key=lambda lv: -lv["price"])
        out["above"] = [_level(lv) for lv in above[:MAX_ITEMS]]
        out["below"] = [_level(lv) for lv in below[:MAX_ITEMS]]
    return out


def _latest(feed: Feed, channel: str) -> Any:
    """The channel's newest payload, or None while it has none (a warming marker)."""
    payload = feed.latest().get(channel)
    return None if not payload or is_marker(payload) else payload


def _level(lv: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": lv.get("name"), "price": lv["price"], "family": lv.get("family")}


def gex(feed: Feed, args: Mapping[str, Any]) -> Result:
    raw = str(args.get("underlying") or "SPX").upper().removeprefix("I:")
    if raw not in ("SPX", "SPY"):
        raise ToolError("underlying is SPX or SPY")
    payload = _latest(feed, f"gex:{raw}")
    if not payload:
        return _not_ready(f"GEX for {raw}")
    # The one bucket every consumer uses (docs/analytics.md, "Buckets").
    levels = chosen_gamma(payload)
    name = levels.get("bucket") or "all"
    bucket = (payload.get("buckets") or {}).get(name) or {}
    flip = bucket.get("flip") or {}
    return {
        "ok": True,
        "underlying": raw,
        "bucket": name,
        "why": levels.get("reason"),
        "spot": payload.get("spot"),
        "callWall": levels.get("callWall"),
        "putWall": levels.get("putWall"),
        "absGammaStrike": levels.get("absGammaStrike"),
        "flip": levels.get("flip"),
        "flipSide": flip.get("side"),
        "netGexBn": levels.get("netGexBn"),
        "asOf": payload.get("asOf"),
    }


def regime(feed: Feed, args: Mapping[str, Any]) -> Result:
    payload = _latest(feed, "regime:update")
    if not payload:
        return _not_ready("regime")
    keys = ("label", "gamma", "vol", "description", "spot", "flip", "netGexBn", "asOf")
    return {"ok": True, **{k: payload.get(k) for k in keys}}


def setups(feed: Feed, args: Mapping[str, Any]) -> Result:
    payload = _latest(feed, "setups:update")
    if payload is None:
        return _not_ready("setups")
    items = sorted(
        payload.get("setups") or [],
        key=lambda s: (s.get("state") != "triggered", s.get("state") == "invalidated"),
    )
    keys = ("kind", "direction", "state", "levelName", "level", "entry", "stop", "targets")
    return {
        "ok": True,
        "count": len(items),
        "setups": [{k: s.get(k) for k in keys} for s in items[:MAX_ITEMS]],
        "asOf": payload.get("asOf"),
    }


def flow(feed: Feed, args: Mapping[str, Any]) -> Result:
    payload = _latest(feed, "flow:alert")
    if payload is None:
        return _not_ready("options flow")
    agg = payload.get("aggregates") or {}
    alerts = sorted(payload.get("alerts") or [], key=lambda a: -(_num(a.get("premium")) or 0))
    keys = ("kind", "contract", "optionType", "side", "premium", "zeroDte")

    def side(name: str) -> dict[str, Any]:
        a = agg.get(name) or {}
        return {k: a.get(k) for k in ("callPremium", "putPremium", "netDelta")}

    return {
        "ok": True,
        "zeroDte": side("zeroDte"),
        "all": side("all"),
        "alerts": len(alerts),
        "largest": [{k: a.get(k) for k in keys} for a in alerts[:MAX_ITEMS]],
        "asOf": payload.get("asOf"),
    }


_TOOLS: dict[str, tuple[Callable[[Feed, Mapping[str, Any]], Result], str]] = {
    "get_price": (price, "Last price and change since the open of a symbol (default SPX)."),
    "get_levels": (levels, "SPX intraday levels: prior day, VWAP, opening range, nearest."),
    "get_gex": (gex, "Dealer gamma exposure: call wall, put wall, gamma flip, total GEX."),
    "get_regime": (regime, "The SPX gamma and volatility regime with its description."),
    "get_setups": (setups, "Current SPX trade setups, triggered ones first."),
    "get_flow": (flow, "Options flow summary: call and put premium, largest alerts."),
}
TOOL_NAMES = tuple(_TOOLS)


def run_tool(feed: Feed, name: str, args: Mapping[str, Any]) -> Result:
    """The tool's result; an unknown tool or bad arguments are results too (ok: false), so
    a model that asks wrongly learns why instead of the session failing."""
    entry = _TOOLS.get(name)
    if entry is None:
        return {"ok": False, "error": "unknown_tool", "detail": f"tools: {', '.join(_TOOLS)}"}
    try:
        result = entry[0](feed, args)
    except ToolError as exc:
        return {"ok": False, "error": "bad_arguments", "detail": str(exc)}
    result["source"] = "live" if feed.name == "live" else f"replay {feed.name}"
    return result


def tool_specs(feed: Feed) -> list[dict[str, Any]]:
    """The tools as OpenAI Realtime function definitions (``session.update`` ``tools``)."""
    params: dict[str, dict[str, Any]] = {
        "get_price": {
            "symbol": {
                "type": "string",
                "enum": [s.removeprefix("I:") for s in feed.symbols],
                "description": "default SPX",
            }
        },
        "get_gex": {"underlying": {"type": "string", "enum": ["SPX", "SPY"]}},
    }
    return [
        {
            "type": "function",
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": params.get(name, {})},
        }
        for name, (_, description) in _TOOLS.items()
    ]


# -- the offline coach's sentences -------------------------------------------------------
def _p(value: object) -> str:
    """A price as it is read aloud: two decimals, none when they are zero (5880, 5891.49)."""
    v = _num(value)
    if v is None:
        return "unknown"
    text = f"{v:.2f}"
    return text[:-3] if text.endswith(".00") else text


def _name(symbol: str) -> str:
    return symbol.removeprefix("I:")


def speak(name: str, result: Mapping[str, Any]) -> str:
    """One or two plain sentences for a tool result (what the offline coach says)."""
    if not result.get("ok"):
        if result.get("error") == "not_ready":
            return f"I have {result.get('detail', 'nothing yet')}. Ask me again shortly."
        return f"I can't answer that: {result.get('detail', 'no data')}."
    return _SAY[name](result)


def _say_price(r: Mapping[str, Any]) -> str:
    text = f"{_name(r['symbol'])} is at {_p(r['price'])}"
    change = _num(r.get("change"))
    if change is not None:
        word = "up" if change >= 0 else "down"
        text += f", {word} {_p(abs(change))} points on the day"
    return text + "."


def _say_levels(r: Mapping[str, Any]) -> str:
    parts = [f"SPX is at {_p(r.get('spot'))}."]
    above, below = r.get("above") or [], r.get("below") or []
    if above:
        parts.append(f"Nearest above: {above[0]['name']} at {_p(above[0]['price'])}.")
    if below:
        parts.append(f"Nearest below: {below[0]['name']} at {_p(below[0]['price'])}.")
    if "vwap" in r:
        parts.append(f"VWAP is {_p(r['vwap'])}.")
    return " ".join(parts)


def _say_gex(r: Mapping[str, Any]) -> str:
    parts = [
        f"{r['underlying']} call wall {_p(r.get('callWall'))}, put wall {_p(r.get('putWall'))}."
    ]
    if _num(r.get("flip")) is not None:
        parts.append(f"The gamma flip is at {_p(r['flip'])}.")
    else:
        parts.append("There is no gamma flip nearby.")
    return " ".join(parts)


def _say_regime(r: Mapping[str, Any]) -> str:
    label = str(r.get("label") or "unknown").replace("_", " ").lower()
    text = f"The regime is {label}"
    if r.get("description"):
        text += f": {r['description']}"
    return text + "."


def _say_setups(r: Mapping[str, Any]) -> str:
    items = r.get("setups") or []
    if not items:
        return "There are no setups right now."
    first = items[0]
    kind = str(first.get("kind") or "setup").replace("_", " ")
    text = f"{r['count']} setups. First: {kind}, {first.get('state')}"
    if _num(first.get("entry")) is not None:
        text += f", entry {_p(first['entry'])}, stop {_p(first.get('stop'))}"
    return text + "."


def _say_flow(r: Mapping[str, Any]) -> str:
    z = r.get("zeroDte") or {}
    calls, puts = _num(z.get("callPremium")) or 0.0, _num(z.get("putPremium")) or 0.0
    text = f"0 DTE call premium {calls / 1e6:.1f} million, put premium {puts / 1e6:.1f} million"
    return text + f"; {r.get('alerts', 0)} flow alerts."


_SAY: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "get_price": _say_price,
    "get_levels": _say_levels,
    "get_gex": _say_gex,
    "get_regime": _say_regime,
    "get_setups": _say_setups,
    "get_flow": _say_flow,
}
