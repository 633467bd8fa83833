"""Server WebSocket frames built once (hub events, control frames), read back by an
independent parser: wsproto acting as the client."""

from __future__ import annotations

import orjson
import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import CloseConnection, Ping, Pong, TextMessage

from spotlight.hub.event import encode_event, ws_frame
from spotlight.protocol.ws_frames import close_frame, ping_frame, pong_frame


def client_reads(data: bytes) -> list[object]:
    conn = Connection(ConnectionType.CLIENT)
    conn.receive_data(data)
    return list(conn.events())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 200_000])
def test_text_frames_of_every_length_class_parse_as_one_message(size: int) -> None:
    payload = ("é" * (size // 2) + "x" * (size % 2)).encode()
    (event,) = client_reads(ws_frame(payload))
    assert isinstance(event, TextMessage) and event.message_finished
    assert event.data.encode() == payload


def test_many_event_frames_in_one_write_are_separate_messages() -> None:
    # Sizes around the 125-byte boundary: 7-bit and 16-bit lengths in one write.
    events = [encode_event("ee", i, "tick", "t", {"pad": "x" * i * 40}, 0.0) for i in range(5)]
    parsed = client_reads(b"".join(e.ws for e in events))
    assert all(isinstance(m, TextMessage) for m in parsed)
    assert [orjson.loads(m.data)["seq"] for m in parsed if isinstance(m, TextMessage)] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_control_frames() -> None:
    (ping,) = client_reads(ping_frame(b"hb"))
    assert isinstance(ping, Ping) and ping.payload == b"hb"
    (pong,) = client_reads(pong_frame(b"42"))
    assert isinstance(pong, Pong) and pong.payload == b"42"
    (close,) = client_reads(close_frame(4008, "slow-bytes"))
    assert isinstance(close, CloseConnection) and close.code == 4008
    assert close.reason == "slow-bytes"


def test_a_close_reason_is_cut_to_fit_on_a_character_boundary() -> None:
    (close,) = client_reads(close_frame(1000, "ü" * 100))
    assert isinstance(close, CloseConnection) and close.reason == "ü" * 61
    with pytest.raises(ValueError, match="at most 125"):
        ping_frame(b"x" * 126)
