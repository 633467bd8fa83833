"""What a client sends on a WebSocket, as events: frames made by an independent client
(wsproto's client side, which masks) and by hand (for what a real client never sends)."""

from __future__ import annotations

import gc
import os
import struct
import weakref

from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from spotlight.clients.ws_inbound import (
    Message,
    Oversized,
    PeerClosed,
    PeerGone,
    PingReceived,
    Violation,
    WSInbound,
)


def client() -> Connection:
    return Connection(ConnectionType.CLIENT)


def inbound(limit: int = 1000) -> WSInbound:
    t = [0.0]
    return WSInbound(limit, lambda: t[0])


def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes((first, 0x80 | n))
    elif n < 65536:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    return head + key + body


def test_text_binary_and_fragmented_messages_arrive_whole() -> None:
    c, w = client(), inbound()
    data = c.send(TextMessage("héllo")) + c.send(BytesMessage(b"\x00\x01"))
    data += c.send(TextMessage("par", message_finished=False))
    data += c.send(TextMessage("ts", message_finished=True))
    # Byte by byte: the parser keeps its place across reads.
    events = [e for b in data for e in w.feed(bytes([b]))]
    assert events == [Message("héllo"), Message(b"\x00\x01"), Message("parts")]
    assert w.messages == 3


def test_pings_are_reported_for_an_answer_and_the_peer_close_is_seen() -> None:
    c, w = client(), inbound()
    assert w.feed(c.send(Ping(b"x"))) == [PingReceived(b"x")]
    assert w.feed(c.send(CloseConnection(1000, "bye"))) == [PeerClosed(1000, "bye")]
    assert w.finished and w.feed(b"anything") == []


def test_eof_without_a_close_frame_is_a_peer_gone() -> None:
    w = inbound()
    assert w.feed(None) == [PeerGone()]


def test_an_unmasked_client_frame_is_a_protocol_error() -> None:
    w = inbound()
    (event,) = w.feed(bytes((0x81, 2)) + b"hi")
    assert isinstance(event, Violation) and event.reason == "protocol-error"
    assert "unmasked" in event.detail


def test_reserved_bits_are_refused_since_no_extension_was_agreed() -> None:
    w = inbound()
    frame = bytearray(masked(0x1, b"hi"))
    frame[0] |= 0x40  # RSV1: what permessage-deflate would set
    (event,) = w.feed(bytes(frame))
    assert isinstance(event, Violation) and event.reason == "protocol-error"


def test_bad_utf8_in_a_text_message_is_invalid_data() -> None:
    w = inbound()
    (event,) = w.feed(masked(0x1, b"\xff\xfe"))
    assert isinstance(event, Violation) and event.reason == "invalid-data"


def test_an_oversized_message_is_refused_before_it_is_buffered() -> None:
    w = inbound(limit=1000)
    head = struct.pack("!BBQ", 0x82, 0x80 | 127, 10**9) + os.urandom(4)  # claims 1 GB
    assert w.feed(head) == []
    (event,) = w.feed(os.urandom(2000))
    assert isinstance(event, Violation) and event.reason == "message-too-big"
    # Fragments count together: three fragments of 400 bytes are one 1200-byte message.
    w = inbound(limit=1000)
    parts = masked(0x2, b"a" * 400, fin=False) + masked(0x0, b"b" * 400, fin=False)
    assert w.feed(parts) == []
    (event,) = w.feed(masked(0x0, b"c" * 400))
    assert isinstance(event, Violation) and event.reason == "message-too-big"


def test_a_control_frame_over_125_bytes_is_a_protocol_error() -> None:
    w = inbound()
    (event,) = w.feed(masked(0x9, b"p" * 126))
    assert isinstance(event, Violation) and event.reason == "protocol-error"


def test_last_received_moves_with_every_frame() -> None:
    t = [5.0]
    w = WSInbound(100, lambda: t[0])
    assert w.last_received == 5.0
    t[0] = 9.0
    w.feed(client().send(Ping(b"")))
    assert w.last_received == 9.0


def test_skip_oversized_discards_the_message_and_the_connection_goes_on() -> None:
    w = WSInbound(1000, lambda: 0.0, skip_oversized=True)
    # A fragmented 1200-byte message: refused as it arrives, reported once at its end.
    parts = masked(0x2, b"a" * 600, fin=False) + masked(0x0, b"b" * 600, fin=False)
    assert w.feed(parts) == []
    assert w._parts == []  # nothing of it is kept
    assert w.feed(masked(0x0, b"c" * 10)) == [Oversized(1210, 1000)]
    # The next message arrives whole, as does one exactly at the limit.
    assert w.feed(masked(0x1, b"ok")) == [Message("ok")]
    assert w.feed(masked(0x2, b"x" * 1000)) == [Message(b"x" * 1000)]
    assert not w.finished


def test_the_parser_is_released_at_rest_and_messages_split_anywhere_still_arrive() -> None:
    """wsproto's parser (~1.7 KB per connection) lives only while a frame or a fragmented
    message is half-read; fed byte by byte, nothing is lost or changed."""
    c = client()
    frames = [
        (c.send(TextMessage('{"type":"subscribe"}')), True),
        (c.send(Ping(b"hi")), True),
        (c.send(TextMessage("frag", message_finished=False)), False),  # a message still open
        (c.send(TextMessage("mented", message_finished=True)), True),
        (c.send(BytesMessage(b"\x00\x01")), True),
    ]
    w = inbound()
    assert w._conn is None
    got = []
    for frame, ends_at_rest in frames:
        for i in range(len(frame)):
            got += w.feed(frame[i : i + 1])
            last = i == len(frame) - 1
            assert (w._conn is None) == (last and ends_at_rest)
    assert got == [
        Message('{"type":"subscribe"}'),
        PingReceived(b"hi"),
        Message("fragmented"),
        Message(b"\x00\x01"),
    ]


def test_the_answer_to_a_heartbeat_ping_only_moves_the_last_heard_time() -> None:
    t = [0.0]
    w = WSInbound(1000, lambda: t[0])
    c = client()
    pong = c.send(Pong(b""))
    assert len(pong) == 6  # masked, no payload: the heartbeat's answer, taken without wsproto
    t[0] = 5.0
    assert w.feed(pong) == [] and w.last_received == 5.0 and w._conn is None
    # The same pong split across reads, one with a payload, or one followed by a message in
    # the same read: all through wsproto, with the same outcome.
    t[0] = 6.0
    assert w.feed(pong[:3]) == [] and w.feed(pong[3:]) == [] and w.last_received == 6.0
    assert w.feed(c.send(Pong(b"abc"))) == []
    assert w.feed(pong + c.send(TextMessage("after"))) == [Message("after")]
    # A frame that looks like one but is unmasked is still refused.
    (event,) = w.feed(bytes((0x8A, 0x00)) + b"\0\0\0\0")
    assert isinstance(event, Violation) and event.reason == "protocol-error"


def test_a_released_parser_is_freed_at_once_not_left_to_the_cyclic_gc() -> None:
    # wsproto's parser is a reference cycle; released at rest, it must not wait (as ~1.7 KB of
    # garbage per connection) for a collection that the server's GC policy makes rare.
    w, c = inbound(), client()
    data = c.send(TextMessage("subscribe"))
    gc.collect()
    gc.disable()
    try:
        assert w.feed(data[:3]) == []  # half a frame: the parser is kept
        assert w._conn is not None
        parser = weakref.ref(w._conn._proto)
        assert w.feed(data[3:]) == [Message("subscribe")]
        assert w._conn is None and parser() is None  # freed by refcount, no collection ran
    finally:
        gc.enable()
