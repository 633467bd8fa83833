"""Request bodies: read within a byte limit, whatever the framing, then parsed strictly.

A limit checked against ``Content-Length`` alone is no limit: a chunked body has none, and
Quart would buffer it whole. ``read_body`` counts the bytes as they arrive and answers 413 as
soon as the limit is passed, without buffering the rest; a body that trickles is cut at
``SPOTLIGHT_REQUEST_TIMEOUT_S`` with a 408 (hypercorn then closes the connection,
since the request was not read to its end). ``json_object`` parses with orjson: invalid UTF-8,
invalid JSON and nesting past orjson's depth limit are a 400 ``bad_json``, never a 500.
"""

from __future__ import annotations

from typing import Any

import orjson
import trio
from quart import request

from spotlight.web.errors import ApiError

__all__ = ["json_object", "read_body"]


async def read_body(limit: int, what: str, timeout_s: float) -> bytes:
    """The request's body, at most ``limit`` bytes (413 ``too_large`` past it), all of it
    within ``timeout_s`` (``SPOTLIGHT_REQUEST_TIMEOUT_S``; 408 ``request_timeout`` past it)."""
    if (request.content_length or 0) > limit:
        raise _too_large(limit, what)
    data = bytearray()
    with trio.move_on_after(timeout_s) as waiting:
        async for chunk in request.body:
            data += chunk
            if len(data) > limit:
                raise _too_large(limit, what)
    if waiting.cancelled_caught:
        raise ApiError(408, "request_timeout", f"{what} did not arrive within {timeout_s:g} s")
    return bytes(data)


async def json_object(
    limit: int, what: str, example: str, timeout_s: float
) -> dict[str, Any] | None:
    """The body as a JSON object; None for an empty body; 400 ``bad_json`` otherwise."""
    raw = await read_body(limit, what, timeout_s)
    if not raw.strip():
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(
            400, "bad_json", f"{what} must be a JSON object in UTF-8, e.g. {example} ({exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", f"{what} must be a JSON object, e.g. {example}")
    return data


def _too_large(limit: int, what: str) -> ApiError:
    return ApiError(413, "too_large", f"{what} is at most {limit} bytes")
