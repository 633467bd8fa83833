"""A raw WebSocket client for conformance tests: it sends exactly the bytes a test asks for
(including what no real client would send) and reads the server's frames with an independent
parser (wsproto's client side).
"""

from __future__ import annotations

import base64
import os
import struct
from typing import Any

import orjson
import trio
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import generate_accept_token


def masked(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True) -> bytes:
    """One client frame; ``mask=False`` makes the unmasked frame a server must refuse."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head = bytes((first, bit | n))
    elif n < 65536:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def upgrade_request(
    host: str, path: str = "/ws/prices", extra: dict[str, str] | None = None
) -> tuple[bytes, str]:
    key = base64.b64encode(os.urandom(16)).decode()
    headers = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        **(extra or {}),
    }
    lines = [f"GET {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), key


class RawWS:
    """A connected raw client. ``messages()`` / ``next()`` read server frames."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.parser = Connection(ConnectionType.CLIENT)
        self.close: CloseConnection | None = None
        self.pings = 0
        self.binary_bytes = 0  # binary messages are counted, not kept
        self._text = ""  # a text message still arriving
        self._buf: list[dict[str, Any]] = []
        self.eof = False

    @classmethod
    async def connect(cls, url: str, path: str = "/ws/prices", **extra: str) -> RawWS:
        host, port = url.removeprefix("http://").split(":")
        stream = await trio.open_tcp_stream(host, int(port))
        ws = cls(stream)
        await ws.handshake(f"{host}:{port}", path, extra)
        return ws

    async def handshake(
        self, host: str, path: str = "/ws/prices", extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        request, key = upgrade_request(host, path, extra)
        await self.stream.send_all(request)
        status, headers, rest = await read_response_head(self.stream)
        assert status == 101, (status, headers)
        assert headers["sec-websocket-accept"] == generate_accept_token(key.encode()).decode()
        if rest:
            self.parser.receive_data(rest)
        return headers

    async def send_json(self, obj: object) -> None:
        await self.stream.send_all(masked(0x1, orjson.dumps(obj)))

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def next(self) -> dict[str, Any]:
        """The next JSON message; raises EOFError after the server's close frame or EOF."""
        while not self._buf:
            if self.close is not None or self.eof:
                raise EOFError("closed")
            data = await self.stream.receive_some(65536)
            if not data:
                self.eof = True
                continue
            self.parser.receive_data(data)
            for event in self.parser.events():
                if isinstance(event, TextMessage):
                    self._text += event.data  # wsproto hands over what has arrived
                    if event.message_finished:
                        self._buf.append(orjson.loads(self._text))
                        self._text = ""
                elif isinstance(event, BytesMessage):
                    self.binary_bytes += len(event.data)
                elif isinstance(event, Ping):
                    self.pings += 1
                elif isinstance(event, CloseConnection):
                    self.close = event
        return self._buf.pop(0)

    async def until(self, type: str, limit: int = 100_000) -> dict[str, Any]:
        for _ in range(limit):
            m = await self.next()
            if m["type"] == type:
                return m
        raise AssertionError(f"no {type} message")

    async def until_closed(self) -> CloseConnection:
        """Read until the server's close frame; returns it."""
        while True:
            try:
                await self.next()
            except EOFError:
                assert self.close is not None, "EOF without a close frame"
                return self.close


async def read_response_head(stream: trio.SocketStream) -> tuple[int, dict[str, str], bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = await stream.receive_some(65536)
        assert data, f"connection closed during the response head: {buf!r}"
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, rest
