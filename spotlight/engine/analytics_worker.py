"""The heavy analytics, run in a worker process so the event loop never waits for them.

Pricing a few thousand options over a 481-point spot grid (GEX profiles), generating the
simulator's chains and diffing chains for flow take a few hundred ms of pure Python. In a
thread they would hold the GIL, and the server's event loop, which releases the GIL on every
socket send, would wait up to the 5 ms switch interval to get it back: measured, p99
publish-to-receive at 1,000 clients went from ~21 ms to ~290 ms (docs/benchmarks.md). In a
process they run on the other core; only small payloads come back.

The worker keeps state between calls (the simulated option book, the flow tracker), so the
pool has exactly one worker. Everything here is a plain top-level function (picklable).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

from spotlight.analytics.channels import gex_payload
from spotlight.analytics.flow import FlowTracker
from spotlight.analytics.session import nyse_calendar
from spotlight.domain.nytime import NY
from spotlight.domain.options import OptionSnapshot, quote_problems
from spotlight.market.sim_config import MarketHours
from spotlight.market.simulated_options import OPTION_UNDERLYINGS, OptionBook
from spotlight.market.simulated_tape import MarketData
from spotlight.market.source import ChainJob
from spotlight.runtime.orphan import die_with_parent

__all__ = ["analyze", "forget", "lower_priority", "nyse_calendar", "worker_init"]


# Per engine context (the live analytics, each replay): the simulated market's option book
# (it only moves forward in time, so a replay cannot share the live one) and the flow baseline.
_books: dict[str, tuple[tuple[int, int, float, str], Any]] = {}
_flows: dict[str, FlowTracker] = {}


def _sim_chains(context: str, job: ChainJob, now_ms: int) -> dict[str, list[OptionSnapshot]]:
    # ("sim", seed, start_ms, trades per second[, hours]): recordings made before the
    # simulator kept market hours have no hours, and ran around the clock.
    seed, start_ms, tps = job[1], job[2], job[3]
    hours: MarketHours = "exchange" if len(job) > 4 and job[4] == "exchange" else "always"
    key = (seed, start_ms, tps, hours)
    held = _books.get(context)
    if held is None or held[0] != key:
        market = MarketData(seed, start_ms, history_days=1, trades_per_second=tps, hours=hours)
        held = _books[context] = (key, OptionBook(market))
    book = held[1]
    return {u: book.chain(u, now_ms) for u in OPTION_UNDERLYINGS}


def forget(context: str) -> None:
    """Drop an engine's state (a replay that ended)."""
    _books.pop(context, None)
    _flows.pop(context, None)


def worker_init(parent_pid: int) -> None:
    """Pool initializer: background priority, and never outlive the server (kill -9)."""
    lower_priority()
    die_with_parent(parent_pid)


def lower_priority() -> None:
    """Pool initializer: analytics is background work; the fan-out path gets the CPU first.

    Measured on the 2-core benchmark box: with the worker at normal priority every GEX pass
    (every 15 s) competed with the server and its clients for the second core.
    """
    with contextlib.suppress(OSError):  # not permitted here: run at normal priority
        os.nice(10)


def _chain_note(job: ChainJob, underlying: str, contracts: int) -> dict[str, Any]:
    """How the chain behind a payload was fetched: a Massive walk that looped (contracts
    kept, de-duplicated) or stopped at the page cap (partial), or the simulator's book."""
    notes = job[2] if job[0] == "chains" and len(job) > 2 else {}
    note = dict(notes.get(underlying) or {})
    return {
        "source": "simulated" if job[0] == "sim" else "massive",
        "contracts": contracts,
        "pages": note.get("pages"),
        "looped": bool(note.get("looped", False)),
        "partial": bool(note.get("partial", False)),
    }


def analyze(
    context: str, job: ChainJob, spots: Mapping[str, float | None], now_ms: int
) -> dict[str, Any]:
    """GEX payloads per underlying and the flow update for SPX, from one chain job, and per
    underlying the quotes whose mid was refused when parsed (``quotesRefused``)."""
    chains = _sim_chains(context, job, now_ms) if job[0] == "sim" else dict(job[1])
    flow = _flows.setdefault(context, FlowTracker())
    now = dt.datetime.fromtimestamp(now_ms / 1000, NY)
    out: dict[str, Any] = {"gex": {}, "flow": None, "quotesRefused": {}}
    for underlying, chain in chains.items():
        if not chain:
            continue
        refused = quote_problems(chain)
        if refused:
            out["quotesRefused"][underlying] = dict(refused)
        spot = spots.get(underlying) or chain[0].underlying_value
        if not spot:
            continue
        payload, priced = gex_payload(chain, spot, now, nyse_calendar(now.year))
        payload["underlying"] = underlying
        payload["chain"] = _chain_note(job, underlying, len(chain))
        out["gex"][underlying] = payload
        if underlying == "I:SPX":
            deltas = priced.delta_by_ticker()
            alerts = flow.update(chain, spot, now_ms, now.date(), model_deltas=deltas)
            out["flow"] = {
                "alerts": alerts,
                "aggregates": flow.aggregates(),
            }
    return out
