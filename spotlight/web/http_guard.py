"""What every request served through hypercorn passes before Quart, and around it.

- ``bad_host``: a ``Host`` header that is not a host name, IPv4 or [IPv6] address with an
  optional port is a 400 ``bad_host`` here. Quart builds its URL adapter from it with
  werkzeug, which raises on an empty or over-long label (``.``, ``a..b``, 64 characters)
  outside any handler, so the error handlers never see it and hypercorn answered a bare 500.
- ``clean_range``: a ``Range`` header is honoured only in its simple form (one range,
  ``bytes=N-`` or ``bytes=N-M`` with N <= M); any other form is dropped, which RFC 9110
  allows (the full representation is sent). werkzeug asserts on a suffix range
  (``bytes=-1``) for a static file.
- ``finish_shielded``: the quart-trio bug that left every connection served through Quart
  open. quart-trio runs the handler beside a task that waits for ``http.disconnect`` and
  cancels both when it comes; hypercorn delivers that disconnect *inside* the handler's last
  ``send`` (its end-of-response step closes the stream, which tells the app), so the rest of
  that step (closing a ``Connection: close`` / HTTP/1.0 connection, or arming the keep-alive
  timer) was cancelled half-way and never ran: connections stayed open for ever. The last
  send of a response is therefore shielded from that cancellation, within a deadline of its
  own. tests/integration/test_connection_lifetimes.py checks the behaviour (and fails if an
  upgrade of quart-trio or hypercorn brings it back).
- ``error_reply``: the documented ``{"error", "detail"}`` shape for what escapes Quart.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson
import trio

__all__ = ["bad_host", "clean_range", "error_reply", "finish_shielded"]

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
_HOST = re.compile(
    rf"^(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}(?:%[A-Za-z0-9._~-]{{1,32}})?\])"
    r"(?::[0-9]{1,5})?$"
)
_SIMPLE_RANGE = re.compile(r"^\s*bytes\s*=\s*([0-9]{1,15})\s*-\s*([0-9]{0,15})\s*$")
# What a finished response's last write may take once it is shielded from cancellation.
FINISH_TIMEOUT_S = 10.0


def bad_host(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why the Host header is unusable (None when it is fine or absent, as HTTP/1.0 may)."""
    hosts = [v for k, v in headers if k.lower() == b"host"]
    if not hosts:
        return None
    if len(hosts) > 1:
        return "send one Host header"
    try:
        host = hosts[0].decode("ascii").strip()
    except UnicodeDecodeError:
        return "the Host header must be ASCII (an IDN host goes in its xn-- form)"
    if len(host) > 255 or not _HOST.match(host):
        return f"Host {host[:80]!r} is not a host name or address with an optional port"
    return None


def clean_range(scope: MutableMapping[str, Any]) -> None:
    """Drop a Range header that is not one simple byte range (in place, on the scope)."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    if not any(k.lower() == b"range" for k, _ in headers):
        return
    kept = []
    for k, v in headers:
        if k.lower() == b"range":
            m = _SIMPLE_RANGE.match(v.decode("latin-1"))
            if m is None or (m.group(2) and int(m.group(2)) < int(m.group(1))):
                continue
        kept.append((k, v))
    scope["headers"] = kept


def finish_shielded(send: Send) -> Send:
    """``send`` whose final body message cannot be cancelled half-way (see above)."""

    async def wrapped(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            with trio.CancelScope(shield=True, deadline=trio.current_time() + FINISH_TIMEOUT_S):
                await send(message)
        else:
            await send(message)

    return wrapped


async def error_reply(send: Send, status: int, error: str, detail: str) -> None:
    body = orjson.dumps({"error": error, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
