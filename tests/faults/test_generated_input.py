"""Generated input (issue 21, part 4): 10,000 HTTP requests across every route and 10,000
WebSocket messages on each socket, against one real server.

The inputs come from a grammar (tests/fuzz_inputs.py: every route and parameter, hostile
headers, JSON of every shape and depth, raw bytes); Hypothesis draws the seeds
(derandomized in CI: the same inputs on every run) and each seed makes a batch, sent over
several connections at once. A failure names the seed and the input.

What must hold for every input: no 5xx; every error reply is the documented JSON
``{"error", "detail"}`` (HTTP) or an ``error`` message with that payload (WebSocket); no
close for a server failure (1011, 4011); nothing logged at ERROR; the server still serves.
"""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from fuzz_inputs import SESSION, http_request, prices_message, voice_message
from hypo import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from live_server import LiveServer, live_server_thread
from ws_raw import masked
from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

pytestmark = pytest.mark.real_time


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """One real server for every example of this module (tests/live_server.py)."""
    with live_server_thread() as live:
        yield live


def _exchange(live: LiveServer, request: bytes) -> bytes:
    """Send ``request``, read the response (just its head for a stream), close."""
    with socket.create_connection((live.host, live.port), timeout=10) as s:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            s.sendall(request)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                data += chunk
                head, sep, _ = data.partition(b"\r\n\r\n")
                if sep and (b"text/event-stream" in head or head.startswith(b"HTTP/1.1 101")):
                    break  # a stream: its head is the answer
    return data


def _check_response(request: bytes, data: bytes, seed: int) -> None:
    where = f"seed {seed}: {request[:300]!r}"
    assert data.startswith(b"HTTP/1.1 "), (where, data[:200])
    status = int(data[9:12])
    assert status < 500, (where, data[:300])
    head, _, body = data.partition(b"\r\n\r\n")
    if status >= 400 and body and not request.startswith(b"HEAD "):
        assert b"application/json" in head.lower(), (where, head)
        payload = orjson.loads(body)
        assert set(payload) == {"error", "detail"}, (where, payload)


HTTP_BATCH = 100  # requests per seed, sent over 4 connections at a time


@settings(max_examples=examples(10_000 // HTTP_BATCH), deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_http_requests_never_get_a_5xx(live_server: LiveServer, seed: int) -> None:
    rng = random.Random(seed)
    requests = [
        http_request(rng).replace(SESSION, live_server.cookie.encode(), 1)
        for _ in range(HTTP_BATCH)
    ]
    with ThreadPoolExecutor(4) as pool:
        for request, response in zip(
            requests, pool.map(lambda r: _exchange(live_server, r), requests), strict=True
        ):
            _check_response(request, response, seed)
    assert live_server.errors == [], live_server.error_lines()


# -- WebSocket messages --------------------------------------------------------------------------
class _WS:
    """A blocking client WebSocket on the raw socket, with an independent parser."""

    def __init__(self, live: LiveServer, path: str) -> None:
        self.sock = socket.create_connection((live.host, live.port), timeout=60)
        self.parser = WSConnection(ConnectionType.CLIENT)
        request = Request(host="x", target=path, extra_headers=[(b"cookie", live.cookie.encode())])
        self.sock.sendall(self.parser.send(request))
        self.text = ""
        self.messages: list[dict[str, Any]] = []
        self.closed: CloseConnection | None = None
        self.accepted = False
        while not self.accepted:
            self._pump()

    def _pump(self) -> None:
        data = self.sock.recv(65536)
        self.parser.receive_data(data or None)
        for event in self.parser.events():
            if isinstance(event, AcceptConnection):
                self.accepted = True
            elif isinstance(event, RejectConnection):
                raise AssertionError("upgrade refused")
            elif isinstance(event, TextMessage):
                self.text += event.data
                if event.message_finished:
                    self.messages.append(orjson.loads(self.text))
                    self.text = ""
            elif isinstance(event, Ping):
                self.sock.sendall(self.parser.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.closed = event
            elif isinstance(event, BytesMessage):
                pass
        if not data and self.closed is None:
            raise AssertionError("the server closed without a close frame")

    def send(self, payload: bytes, binary: bool = False) -> None:
        self.sock.sendall(masked(0x2 if binary else 0x1, payload))

    def until(self, predicate: Any) -> dict[str, Any]:
        while True:
            while self.messages:
                msg = self.messages.pop(0)
                _check_ws_message(msg)
                if predicate(msg):
                    return msg
            assert self.closed is None, f"closed: {self.closed}"
            self._pump()

    def close(self) -> None:
        self.sock.close()


def _check_ws_message(msg: dict[str, Any]) -> None:
    if msg.get("type") == "error":
        assert set(msg["payload"]) >= {"error", "detail"}, msg


def _ws_batch_test(live: LiveServer, path: str, batch: list[tuple[bytes, bool]], marker: bytes,
                   is_marker: Any) -> None:  # fmt: skip
    ws = _WS(live, path)
    try:
        for payload, binary in batch:
            if not binary:  # invalid UTF-8 in a text frame closes with 1007 (a test of its own)
                payload = payload.decode("utf-8", "replace").encode()
            ws.send(payload, binary)
        ws.send(marker)
        ws.until(is_marker)  # everything before it was handled, in order
        assert ws.closed is None or ws.closed.code not in (1011, 4011), ws.closed
    finally:
        ws.close()
    assert live.errors == [], live.error_lines()


PRICES_BATCH = 40  # under /ws/prices' 50 messages a second: every one is parsed
VOICE_BATCH = 80  # under /voice/ws's 100 messages a second
CONNECTIONS = 4  # batches per seed, each on its own connection, at once


def _ws_seed(live: LiveServer, seed: int, path: str, batch: int, draw: Any, marker: bytes,
             is_marker: Any) -> None:  # fmt: skip
    rngs = [random.Random(seed * CONNECTIONS + i) for i in range(CONNECTIONS)]
    batches = [[draw(rng) for _ in range(batch)] for rng in rngs]
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        for done in [
            pool.submit(_ws_batch_test, live, path, b, marker, is_marker) for b in batches
        ]:
            done.result()


@settings(max_examples=examples(-(-10_000 // (PRICES_BATCH * CONNECTIONS))), deadline=None)
@given(seed=st.integers(0, 2**30))
def test_generated_prices_messages(live_server: LiveServer, seed: int) -> None:
    _ws_seed(
        live_server,
        seed,
        "/ws/prices",
        PRICES_BATCH,
        prices_message,
        b'{"type": "ping", "id": "end-of-batch"}',
        lambda m: m.get("type") == "pong" and m["payload"] == {"id": "end-of-batch"},
    )


@settings(max_examples=examples(-(-10_000 // (VOICE_BATCH * CONNECTIONS))), deadline=None)
@given(seed=st.integers(0, 2**30))
def test_generated_voice_messages(live_server: LiveServer, seed: int) -> None:
    _ws_seed(
        live_server,
        seed,
        "/voice/ws",
        VOICE_BATCH,
        voice_message,
        b'{"type": "end-of-batch"}',
        lambda m: m.get("type") == "error" and "end-of-batch" in m["payload"].get("detail", ""),
    )
