"""Just enough HTTP/1.x request parsing to route a new connection (pure).

The server reads the head of the first request on each connection to decide whether it is an
SSE stream (served directly on the socket) or anything else (handed to hypercorn with the
bytes already read). Parsing is strict: anything odd is "not ours" and goes to hypercorn,
whose h11 parser then gives the client a proper 400.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_HEAD_BYTES", "RequestHead", "head_end", "parse_head"]

# Larger heads are refused (hypercorn/h11 uses a similar bound); an SSE request is ~300 bytes.
MAX_HEAD_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class RequestHead:
    method: str
    path: str
    query: str  # raw query string, without '?'
    version: str  # "HTTP/1.1"
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def head_end(buf: bytes | bytearray) -> int:
    """Index just past the blank line ending the head, or -1 if it is not complete yet."""
    i = buf.find(b"\r\n\r\n")
    return -1 if i < 0 else i + 4


def parse_head(data: bytes) -> RequestHead | None:
    """The request head in ``data`` (which ends at the blank line), or None if malformed."""
    try:
        text = data.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0") or not target.startswith("/"):
        return None
    path, _, query = target.partition("?")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    return RequestHead(method, path, query, version, headers)
