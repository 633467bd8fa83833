"""Query-parameter parsing for the HTTP surface: bad input becomes a clear 400, never a 500."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from spotlight.analytics.channels import CHANNELS
from spotlight.domain.bars import UnknownTimeframe, parse_timeframe
from spotlight.engine.feed import Feed, FeedNotFound
from spotlight.protocol.resume import BadEventId, EventId, parse_event_id
from spotlight.web.errors import ApiError

if TYPE_CHECKING:
    from spotlight.service import SpotlightService

_REPLAY_ID = re.compile(r"^[0-9a-f]{1,64}$")

__all__ = ["channel_list", "int_param", "resume_point", "symbol_list", "timeframe_param"]


def symbol_list(raw: str | None, known: Sequence[str], *, name: str = "symbols") -> list[str]:
    if raw is None or not raw.strip():
        raise ApiError(
            400, "missing_symbols", f"pass {name}=SYM[,SYM...]; available: {','.join(known)}"
        )
    out: list[str] = []
    for part in raw.split(","):
        s = part.strip().upper()
        if not s:
            continue
        if s not in known:
            raise ApiError(
                400,
                "unknown_symbol",
                f"unknown symbol {part.strip()[:40]!r}; available: {','.join(known)}",
            )
        if s not in out:
            out.append(s)
    if not out:
        raise ApiError(400, "missing_symbols", f"{name} is empty; available: {','.join(known)}")
    return out


def channel_list(raw: str | None) -> tuple[str, ...]:
    """``channels=gex:SPX,regime:update``: known SPX channels, in order, without repeats."""
    if raw is None or not raw.strip():
        return ()
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        if name not in CHANNELS:
            raise ApiError(
                400,
                "unknown_channel",
                f"unknown channel {name[:40]!r}; available: {','.join(CHANNELS)}",
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def timeframe_param(raw: str | None, default: str = "1m") -> str:
    if raw is None or raw == "":
        return default
    try:
        return parse_timeframe(raw)
    except UnknownTimeframe as exc:
        raise ApiError(400, "bad_timeframe", str(exc)) from None


def int_param(
    args: Mapping[str, str], name: str, default: int | None, lo: int, hi: int
) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(
            400, f"bad_{name.lower()}", f"{name}={raw[:40]!r} is not an integer"
        ) from None
    if not lo <= value <= hi:
        raise ApiError(400, f"bad_{name.lower()}", f"{name}={value} is out of range {lo}..{hi}")
    return value


def resume_point(args: Mapping[str, str], last_event_id: str | None) -> EventId | None:
    """Where a stream should resume: the Last-Event-ID header, else sinceSeq plus epoch.

    The header wins: a browser's EventSource sends it on every automatic reconnect while the
    URL still holds whatever sinceSeq the page first used.
    """
    if last_event_id is not None and last_event_id.strip():
        try:
            return parse_event_id(last_event_id)
        except BadEventId as exc:
            raise ApiError(400, "bad_last_event_id", str(exc)) from None
    seq = int_param(args, "sinceSeq", None, 0, 2**62)
    epoch = args.get("epoch")
    if seq is None:
        if epoch:
            raise ApiError(400, "missing_since_seq", "epoch was given without sinceSeq")
        return None
    if not epoch:
        raise ApiError(
            400,
            "missing_epoch",
            "sinceSeq is only meaningful with the epoch it came from: pass epoch=<id> too "
            "(an event id reads '<epoch>:<seq>'), or send the Last-Event-ID header",
        )
    try:
        return parse_event_id(f"{epoch}:{seq}")
    except BadEventId as exc:
        raise ApiError(400, "bad_epoch", str(exc)) from None


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
