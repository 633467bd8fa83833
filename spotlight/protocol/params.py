"""The request rules every stream transport shares: symbols, channels, timeframe, resume
point (pure: the same checks and messages for an SSE query and a WebSocket command).

Every rule raises ``InvalidRequest(code, detail)``; the transports map it (HTTP 400, or a
WebSocket ``error`` message).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from spotlight.analytics.channels import CHANNELS
from spotlight.domain.bars import UnknownTimeframe, parse_timeframe
from spotlight.protocol.errors import InvalidRequest
from spotlight.protocol.resume import BadEventId, EventId, parse_event_id

__all__ = [
    "channel_list",
    "channel_names",
    "int_param",
    "resume_point",
    "symbol_list",
    "symbol_names",
    "timeframe_param",
]


def symbol_list(raw: str | None, known: Sequence[str], *, name: str = "symbols") -> list[str]:
    """``symbols=SPY,I:SPX``: known symbols (case-insensitive), in order, without repeats."""
    if raw is None or not raw.strip():
        raise InvalidRequest(
            "missing_symbols", f"pass {name}=SYM[,SYM...]; available: {','.join(known)}"
        )
    return symbol_names(raw.split(","), known, name=name)


def symbol_names(names: Sequence[str], known: Sequence[str], *, name: str = "symbols") -> list[str]:
    """The same rule over a list of names (a WebSocket command's ``symbols``)."""
    out: list[str] = []
    for part in names:
        s = part.strip().upper()
        if not s:
            continue
        if s not in known:
            raise InvalidRequest(
                "unknown_symbol",
                f"unknown symbol {part.strip()[:40]!r}; available: {','.join(known)}",
            )
        if s not in out:
            out.append(s)
    if not out:
        raise InvalidRequest("missing_symbols", f"{name} is empty; available: {','.join(known)}")
    return out


def channel_list(raw: str | None) -> tuple[str, ...]:
    """``channels=gex:SPX,regime:update``: known SPX channels, in order, without repeats."""
    if raw is None or not raw.strip():
        return ()
    return channel_names(raw.split(","))


def channel_names(names: Sequence[str]) -> tuple[str, ...]:
    """The same rule over a list of names (a WebSocket command's ``channels``)."""
    out: list[str] = []
    for part in names:
        name = part.strip()
        if not name:
            continue
        if name not in CHANNELS:
            raise InvalidRequest(
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
        raise InvalidRequest("bad_timeframe", str(exc)) from None


def int_param(
    args: Mapping[str, str], name: str, default: int | None, lo: int, hi: int
) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(
            f"bad_{name.lower()}", f"{name}={raw[:40]!r} is not an integer"
        ) from None
    if not lo <= value <= hi:
        raise InvalidRequest(f"bad_{name.lower()}", f"{name}={value} is out of range {lo}..{hi}")
    return value


def resume_point(args: Mapping[str, str], last_event_id: str | None) -> EventId | None:
    """Where a stream should resume: the Last-Event-ID header, else sinceSeq plus epoch.

    The header wins: a browser's EventSource sends it on every automatic reconnect while the
    URL still holds whatever sinceSeq the page first used. An unreadable header is not a 400,
    which would end an EventSource for good: it resumes as ``EventId.unreadable`` (the stream
    starts with ``reset`` ``malformed-id``). ``sinceSeq=0`` without an epoch is "from the start
    of what you have", a fresh stream (the seed clients' URL); any other sinceSeq needs the
    epoch it came from.
    """
    if last_event_id is not None and last_event_id.strip():
        try:
            return parse_event_id(last_event_id)
        except BadEventId:
            return EventId.unreadable(last_event_id.strip())
    seq = int_param(args, "sinceSeq", None, 0, 2**62)
    epoch = args.get("epoch")
    if seq is None:
        if epoch:
            raise InvalidRequest("missing_since_seq", "epoch was given without sinceSeq")
        return None
    if not epoch:
        if seq == 0:
            return None
        raise InvalidRequest(
            "missing_epoch",
            "sinceSeq is only meaningful with the epoch it came from: pass epoch=<id> too "
            "(an event id reads '<epoch>:<seq>'), or send the Last-Event-ID header; "
            "sinceSeq=0 alone starts a fresh stream",
        )
    try:
        return parse_event_id(f"{epoch}:{seq}")
    except BadEventId as exc:
        raise InvalidRequest("bad_epoch", str(exc)) from None
