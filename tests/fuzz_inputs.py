"""Fast generators of hostile input for the generated-input tests (tests/faults/).

A request or a message is drawn from a grammar (every route and parameter, hostile header
values, JSON of every shape and depth, raw bytes) by a seeded ``random.Random``: ~50 us per
input, where a Hypothesis strategy of the same grammar took ~10 ms, so 10,000 inputs fit in
the suite's budget. Hypothesis draws the seeds (derandomized in CI: the same inputs every
run), and a failure names the seed and the input, so it can be replayed exactly.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from urllib.parse import quote

import orjson

__all__ = ["PIN", "SESSION", "http_request", "prices_message", "voice_message"]

PIN = "2468"
# Filled in with a real session cookie when sent: half the requests are logged in.
SESSION = b"<session>"

ROUTES = [
    ("GET", "/health"),
    ("GET", "/api/diag"),
    ("GET", "/api/metrics"),
    ("GET", "/api/history"),
    ("GET", "/api/auth/me"),
    ("GET", "/api/auth/token"),
    ("POST", "/api/auth/pin"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/replay"),
    ("GET", "/api/replay/abc"),
    ("POST", "/api/replay/start"),
    ("POST", "/api/replay/stop"),
    ("POST", "/api/replay/pause"),
    ("POST", "/api/replay/resume"),
    ("POST", "/api/replay/speed"),
    ("GET", "/"),
    ("GET", "/static/index.html"),
    ("GET", "/static/js/dashboard.js"),
    ("GET", "/static/vendor/lightweight-charts.mjs"),
    ("GET", "/realtime/sse"),
    ("GET", "/ws/prices"),
    ("GET", "/voice/ws"),
]
PARAMS = [
    "symbols", "symbol", "timeframe", "limit", "before", "channels", "replay", "sinceSeq",
    "epoch", "token", "speed", "date", "from", "to",
]  # fmt: skip
GOOD_VALUES = [
    "SPY", "QQQ", "I:SPX", "SPY,QQQ", "1m", "5m", "1d", "10", "0", "-1", "gex:SPX",
    "levels:update", "max", "2026-11-27", "1765152000000", "abc123", "",
]  # fmt: skip
HEADERS = [
    b"range", b"content-type", b"cookie", b"last-event-id", b"origin", b"authorization",
    b"accept-encoding", b"if-modified-since", b"if-none-match", b"x-forwarded-for", b"accept",
]  # fmt: skip
HOSTILE = [
    b"bytes=-1", b"bytes=0-0", b"bytes=5-1", b"bytes=0-", b"chunked", b"-1", b"99999999999",
    b"application/json", b"multipart/form-data; boundary=x", b"Bearer x", b"http://evil",
    b"null", b"\xff\xfe", b"a" * 300, b"epoch:12", b"spotlight_session=forged",
]  # fmt: skip


def _text(rng: random.Random, n: int = 12) -> str:
    alphabet = rng.choice([string.ascii_letters, string.printable, "é€😀\u202e\x00\x7f"])
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, n)))


def json_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**53), 2**63, rng.randint(-1000, 10**6)])
    if kind == 3:
        return rng.choice([0.5, -1e300, 1e-300, float("nan"), rng.random()])
    if kind == 4:
        return _text(rng)
    if kind in (5, 6):
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng, 6): json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(6)
    if kind == 0:
        return b""
    if kind == 1:
        return orjson.dumps(json_value(rng))
    if kind == 2:
        return rng.randbytes(rng.randint(1, 200))
    if kind == 3:
        n = rng.randint(1, 3000)
        return b"[" * n + b"]" * n
    if kind == 4:
        return b'{"pin": "' + PIN.encode() + b'"}'
    obj = {
        rng.choice(["date", "speed", "id", "symbols", "from", "to", "pin"]): json_value(rng)
        for _ in range(rng.randint(1, 3))
    }
    return orjson.dumps(obj)


def http_request(rng: random.Random) -> bytes:
    """One HTTP/1.1 request (with ``Connection: close``) against some route."""
    method, path = rng.choice(ROUTES)
    method = rng.choice([method, method, method, "GET", "POST", "HEAD", "PUT", "OPTIONS"])
    path += rng.choice(["", "", "", "/", "/x", "%00", "/..%2f..", "%2e%2e/"])
    query = {
        rng.choice(PARAMS): rng.choice(GOOD_VALUES) if rng.random() < 0.6 else _text(rng)
        for _ in range(rng.randint(0, 4))
    }
    if query:
        path += "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())
    headers = {
        b"host": rng.choice([b"x", b"x", b"127.0.0.1:5000", b".", b"a..b", b"x" * 70]),
        b"connection": b"close",
    }
    if rng.random() < 0.5:
        headers[b"cookie"] = SESSION
    for name in rng.sample(HEADERS, rng.randint(0, 4)):
        value = rng.choice(HOSTILE) if rng.random() < 0.7 else _text(rng).encode()
        headers[name] = value.replace(b"\r", b"").replace(b"\n", b"")
    body = _body(rng)
    if body and rng.random() < 0.3:
        headers[b"transfer-encoding"] = b"chunked"
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    elif body or method == "POST":
        headers[b"content-length"] = str(len(body)).encode()
    head = f"{method} {path} HTTP/1.1\r\n".encode() + b"".join(
        k + b": " + v + b"\r\n" for k, v in headers.items()
    )
    return head + b"\r\n" + body


def _command(rng: random.Random, types: list[str]) -> bytes:
    kind = rng.randrange(8)
    if kind == 0:
        return orjson.dumps(json_value(rng))
    if kind == 1:
        return rng.randbytes(rng.randint(0, 300))
    if kind == 2:
        n = rng.randint(1, 2000)
        return b"[" * n + b"]" * n
    cmd: dict[str, object] = {"type": rng.choice(types) if rng.random() < 0.9 else _text(rng)}
    fields: dict[str, Callable[[], object]] = {
        "symbols": lambda: [rng.choice(["SPY", "QQQ", "I:SPX", "AAPL", _text(rng)])
                            for _ in range(rng.randint(0, 4))],
        "channels": lambda: [rng.choice(["gex:SPX", "levels:update", _text(rng)])
                             for _ in range(rng.randint(0, 3))],
        "timeframe": lambda: rng.choice(["1m", "5m", "1d", _text(rng)]),
        "sinceSeq": lambda: rng.choice([0, 1, -5, 2**62, _text(rng)]),
        "epoch": lambda: _text(rng),
        "id": lambda: json_value(rng),
        "text": lambda: rng.choice(["where is the gamma flip", "help", _text(rng, 40)]),
    }  # fmt: skip
    for name in rng.sample(list(fields), rng.randint(0, 4)):
        cmd[name] = fields[name]() if rng.random() < 0.8 else json_value(rng)
    return orjson.dumps(cmd)


def prices_message(rng: random.Random) -> tuple[bytes, bool]:
    """A /ws/prices message: (payload, sent as a binary frame)."""
    return _command(rng, ["subscribe", "unsubscribe", "ping"]), rng.random() < 0.2


def voice_message(rng: random.Random) -> tuple[bytes, bool]:
    """A /voice/ws message: a control message or raw audio bytes (binary)."""
    if rng.random() < 0.25:
        return rng.randbytes(rng.randint(0, 2000)), True
    types = ["session.start", "input.commit", "input.clear", "response.cancel"]
    return _command(rng, types), rng.random() < 0.1
