"""``GET /api/history``: bars at any timeframe, rolled up from the 1-minute buffer."""

from __future__ import annotations

from typing import Any

from quart import Quart, request

from spotlight.service import SpotlightService
from spotlight.web.params import feed_param, int_param, symbol_list, timeframe_param

__all__ = ["MAX_LIMIT", "install_history_routes"]

MAX_LIMIT = 5_000
DEFAULT_LIMIT = 500


def install_history_routes(app: Quart, service: SpotlightService) -> None:
    @app.get("/api/history")
    async def history() -> dict[str, Any]:
        feed = feed_param(service, request.args.get("replay"))
        (symbol,) = symbol_list(request.args.get("symbol"), feed.symbols, name="symbol")[:1]
        timeframe = timeframe_param(request.args.get("timeframe"))
        limit = int_param(request.args, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        before = int_param(request.args, "before", None, 0, 2**53)
        assert limit is not None
        bars = feed.pipeline.bars[symbol].history(timeframe, limit, before)
        return {
            "symbol": symbol,
            "timeframe": timeframe,
            "bars": [b.to_json() for b in bars],
            # Page further back with before=nextBefore; null when the buffer is exhausted.
            "nextBefore": bars[0].start_ms if len(bars) == limit else None,
        }
