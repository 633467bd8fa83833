"""Query-parameter parsing for the HTTP surface: bad input becomes a clear 4xx, never a 500.

The rules streams share with the WebSocket commands live in ``protocol/params.py`` (they raise
``InvalidRequest``, which every HTTP path answers as 400); this adds what needs the service.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from spotlight.engine.feed import Feed, FeedNotFound
from spotlight.protocol.params import (
    channel_list,
    int_param,
    resume_point,
    symbol_list,
    timeframe_param,
)
from spotlight.web.errors import ApiError

if TYPE_CHECKING:
    from spotlight.service import SpotlightService

_REPLAY_ID = re.compile(r"^[0-9a-f]{1,64}$")

__all__ = [
    "channel_list",
    "feed_param",
    "int_param",
    "resume_point",
    "symbol_list",
    "timeframe_param",
]


def feed_param(service: SpotlightService, raw: str | None) -> Feed:
    """``replay=<id>``: that replay's feed (404 when it does not exist or ended); else live."""
    if raw is None:
        return service.live
    if not _REPLAY_ID.match(raw):
        raise ApiError(400, "bad_replay", "replay must be a replay id from POST /api/replay/start")
    try:
        return service.feed(raw)
    except FeedNotFound:
        raise ApiError(
            404, "replay_not_found", f"no replay {raw!r}: it ended, was stopped or never existed"
        ) from None
