"""WebSocket commands: parsed into typed commands or refused with the WebSocket's own error
type (same codes and details as the SSE query rules), never an HTTP error."""

from __future__ import annotations

import orjson
import pytest

from spotlight.protocol.resume import EventId
from spotlight.protocol.ws_commands import (
    MAX_COMMAND_BYTES,
    CommandError,
    Ping,
    Subscribe,
    Unsubscribe,
    parse_command,
)

KNOWN = ("SPY", "QQQ", "I:SPX")


def parse(obj: object) -> object:
    return parse_command(orjson.dumps(obj), KNOWN)


def test_subscribe_with_resume_unsubscribe_and_ping() -> None:
    cmd = parse(
        {
            "type": "subscribe",
            "symbols": ["spy", "I:SPX", "SPY"],
            "channels": ["gex:SPX"],
            "timeframe": "5m",
            "sinceSeq": 42,
            "epoch": "abc123",
        }
    )
    assert cmd == Subscribe(("SPY", "I:SPX"), ("gex:SPX",), "5m", EventId("abc123", 42))
    assert parse({"type": "subscribe", "channels": ["regime:update"]}) == Subscribe(
        (), ("regime:update",), None, None
    )
    assert parse({"type": "unsubscribe", "symbols": [" qqq "]}) == Unsubscribe(("QQQ",), ())
    assert parse({"type": "ping", "id": "abc"}) == Ping("abc")
    assert parse({"type": "ping", "id": 1.5}) == Ping(1.5)
    assert parse({"type": "ping"}) == Ping(None)
    # A text frame and a binary frame of UTF-8 JSON are the same command.
    assert parse_command('{"type": "ping", "id": 1}', KNOWN) == Ping(1)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "bad_json"),
        (b"[1, 2]", "bad_command"),
        (b'{"type": "dance"}', "unknown_type"),
        (b'{"type": "subscribe"}', "missing_symbols"),
        (b'{"type": "subscribe", "symbols": ["NOPE"]}', "unknown_symbol"),
        (b'{"type": "subscribe", "symbols": "SPY"}', "bad_symbols"),
        (b'{"type": "subscribe", "channels": ["gex:MOON"]}', "unknown_channel"),
        (b'{"type": "subscribe", "symbols": ["SPY"], "timeframe": "7m"}', "bad_timeframe"),
        (
            b'{"type": "subscribe", "symbols": ["SPY"], "sinceSeq": "x", "epoch": "ab"}',
            "bad_sinceseq",
        ),
        (b'{"type": "subscribe", "symbols": ["SPY"], "sinceSeq": 5}', "missing_epoch"),
        (b'{"type": "subscribe", "symbols": ["SPY"], "epoch": "ab"}', "missing_since_seq"),
        (b'{"type": "subscribe", "symbols": ["SPY"], "sinceSeq": 5, "epoch": "zz!"}', "bad_epoch"),
        (b"x" * (MAX_COMMAND_BYTES + 1), "too_large"),
    ],
)
def test_bad_commands_get_a_code_and_a_detail(raw: bytes, code: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_command(raw, KNOWN)
    assert info.value.error == code and info.value.detail
    assert info.value.to_json() == {"error": code, "detail": info.value.detail}
    assert not hasattr(info.value, "status")  # a WebSocket error, not an HTTP one


@pytest.mark.parametrize(
    "value",
    [[1, "x"], {"a": 1}, [], "x" * 65, 2**53, -(2**53)],
)
def test_a_ping_id_that_cannot_be_echoed_safely_is_refused(value: object) -> None:
    """The id comes back in the pong: bounded here, in the client's own task, so nothing a
    client sends reaches the flusher unencoded (issue 21: a list nested 300 deep stopped it)."""
    with pytest.raises(CommandError) as err:
        parse({"type": "ping", "id": value})
    assert err.value.error == "bad_id"


def test_deep_nesting_is_bad_json_or_bad_id_never_a_crash() -> None:
    raw = '{"type":"ping","id":' + "[" * 300 + "]" * 300 + "}"
    with pytest.raises(CommandError) as err:
        parse_command(raw, KNOWN)
    assert err.value.error == "bad_id"
    deeper = '{"type":"ping","id":' + "[" * 2000 + "]" * 2000 + "}"
    with pytest.raises(CommandError) as err:
        parse_command(deeper, KNOWN)
    assert err.value.error == "bad_json"
