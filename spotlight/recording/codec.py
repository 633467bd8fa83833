"""Compact JSON rows for everything a recording holds: ticks, bars, option snapshots.

Rows are plain lists (no repeated keys) so a recorded day stays small, and every value
round-trips exactly: floats are written with their shortest exact representation (orjson),
so a replayed tick is bit-for-bit the tick the live pipeline saw.

Tick rows start with a one-letter tag: ``T`` trade, ``Q`` quote, ``S`` source status,
``R`` bar revision. Decoding rejects anything else with ``ValueError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from spotlight.domain.bars import Bar
from spotlight.domain.options import OptionSnapshot
from spotlight.domain.ticks import BarRevision, Quote, SourceStatus, Tick, Trade

__all__ = [
    "bar_from_row",
    "bar_row",
    "job_from_json",
    "job_json",
    "option_from_row",
    "option_row",
    "tick_from_row",
    "tick_row",
]

Row = list[Any]


def tick_row(t: Tick) -> Row:
    if isinstance(t, Trade):
        return ["T", t.symbol, t.ts_ms, t.price, t.size]
    if isinstance(t, Quote):
        return ["Q", t.symbol, t.ts_ms, t.bid, t.ask, t.bid_size, t.ask_size]
    if isinstance(t, SourceStatus):
        return ["S", t.source, t.state, t.reason, [list(f) for f in t.feeds], t.ts_ms]
    return ["R", t.symbol, t.start_ms, t.open, t.high, t.low, t.close, t.volume, t.trades]


def tick_from_row(row: Sequence[Any]) -> Tick:
    tag = row[0] if row else None
    if tag == "T" and len(row) == 5:
        return Trade(row[1], row[2], row[3], row[4])
    if tag == "Q" and len(row) == 7:
        return Quote(row[1], row[2], row[3], row[4], row[5], row[6])
    if tag == "S" and len(row) == 6:
        return SourceStatus(row[1], row[2], row[3], tuple((f[0], f[1]) for f in row[4]), row[5])
    if tag == "R" and len(row) == 9:
        return BarRevision(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8])
    raise ValueError(f"not a tick row: {list(row)[:3]!r}")


def bar_row(b: Bar) -> Row:
    return [b.start_ms, b.open, b.high, b.low, b.close, b.volume, b.trades]


def bar_from_row(symbol: str, row: Sequence[Any]) -> Bar:
    if len(row) != 7:
        raise ValueError(f"not a bar row: {list(row)[:3]!r}")
    return Bar(symbol, "1m", row[0], row[1], row[2], row[3], row[4], row[5], row[6])


_OPTION_FIELDS = tuple(f.name for f in dataclasses.fields(OptionSnapshot))


def option_row(o: OptionSnapshot) -> Row:
    return [getattr(o, name) for name in _OPTION_FIELDS]


def option_from_row(row: Sequence[Any]) -> OptionSnapshot:
    if len(row) != len(_OPTION_FIELDS):
        raise ValueError(f"option row has {len(row)} fields, expected {len(_OPTION_FIELDS)}")
    values = dict(zip(_OPTION_FIELDS, row, strict=True))
    values["last_conditions"] = tuple(values["last_conditions"])
    return OptionSnapshot(**values)


def job_json(job: Sequence[Any]) -> Row:
    """The analytics worker's chain job (``market.source.ChainJob``) as JSON.

    A simulated chain is a reference (seed, start, rate, market hours: the worker rebuilds it
    exactly); a
    Massive chain is the snapshot itself, one row per contract.
    """
    if job[0] == "sim":
        return list(job)
    chains: Mapping[str, Iterable[OptionSnapshot]] = job[1]
    notes = job[2] if len(job) > 2 else {}
    return ["chains", {u: [option_row(o) for o in c] for u, c in chains.items()}, notes]


def job_from_json(data: Sequence[Any]) -> tuple[Any, ...]:
    if data and data[0] == "sim" and len(data) == 4:  # recorded before market hours existed
        return ("sim", int(data[1]), int(data[2]), float(data[3]))
    if data and data[0] == "sim" and len(data) == 5 and data[4] in ("exchange", "always"):
        return ("sim", int(data[1]), int(data[2]), float(data[3]), str(data[4]))
    if data and data[0] == "chains" and len(data) in (2, 3) and isinstance(data[1], dict):
        chains = {u: [option_from_row(r) for r in rows] for u, rows in data[1].items()}
        notes = data[2] if len(data) == 3 and isinstance(data[2], dict) else {}
        return ("chains", chains, notes)
    raise ValueError("not a chain job")
