"""``GET /api/history``: bars at any timeframe, rolled up from the 1-minute buffer."""

from __future__ import annotations

from typing import Any

import trio
from quart import Quart, request

from spotlight.service import SpotlightService
from spotlight.web.params import feed_param, int_param, symbol_list, timeframe_param

__all__ = ["MAX_LIMIT", "install_history_routes"]

MAX_LIMIT = 5_000
DEFAULT_LIMIT = 500
# A replay that is still loading (reading its recording, fetching Massive aggregates) has no
# bars yet: its history waits for it, at most this long, rather than answer an empty chart
# that the page would keep (issue 15). Loading takes tens of ms from a recording and up to a
# few seconds from Massive; past the bound the answer is what there is, and the page reloads
# on the replay's first status.
READY_WAIT_S = 10.0


def install_history_routes(app: Quart, service: SpotlightService) -> None:
    @app.get("/api/history")
    async def history() -> dict[str, Any]:
        feed = feed_param(service, request.args.get("replay"))
        (symbol,) = symbol_list(request.args.get("symbol"), feed.symbols, name="symbol")[:1]
        timeframe = timeframe_param(request.args.get("timeframe"))
        limit = int_param(request.args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        before = int_param(request.args, "before", None, 0, 2**53)
        assert limit is not None
        if feed.ready is not None:
            with trio.move_on_after(READY_WAIT_S):
                await feed.ready()
        bars = feed.pipeline.bars[symbol].history(timeframe, limit, before)
        return {
            "symbol": symbol,
            "timeframe": timeframe,
            "bars": [b.to_json() for b in bars],
            # Page further back with before=nextBefore; null when the buffer is exhausted.
            "nextBefore": bars[0].start_ms if len(bars) == limit else None,
        }
