"""Everything that can go wrong talking to Massive, as one tree, and the one place that maps
HTTP statuses and httpx exceptions onto it.

    MassiveError                      .endpoint (e.g. "options_chain"), .status (HTTP or None)
    ├── MassiveAuthError              401 (or an API-key complaint): fatal configuration error
    ├── MassiveNotEntitledError       403 / NOT_AUTHORIZED: the plan lacks this data; .detail
    ├── MassiveRequestError           400 and other 4xx, redirects, ERROR on HTTP 200: fix the call
    ├── MassiveRateLimitedError       429 still refused after retries; .retry_after_s
    ├── MassiveServerError            5xx, 499, 413 still failing after retries
    ├── MassiveTransportError         timeouts, connection and protocol errors after retries
    └── MassiveDataError              malformed JSON, unexpected shape, bad values

Whose fault: auth and request errors are ours (configuration or code) and are never retried;
not-entitled is the plan's and is never retried; rate-limit, server and transport errors are
the world's, already retried by the client, and worth retrying later; data errors are
upstream's, counted and not retried (the same request would return the same body).

404 / NOT_FOUND is not an error: the client returns None or an empty list.
Misuse of the client (calling it before ``async with`` or after close) is ``RuntimeError``.

No message here ever contains the API key: the client redacts upstream text before it gets here.
"""

from __future__ import annotations

import httpx

__all__ = [
    "MassiveAuthError",
    "MassiveDataError",
    "MassiveError",
    "MassiveNotEntitledError",
    "MassiveRateLimitedError",
    "MassiveRequestError",
    "MassiveServerError",
    "MassiveTransportError",
    "error_for_body_status",
    "error_for_exception",
    "error_for_status",
    "is_retryable",
]

# The official client retries exactly these (urllib3 status_forcelist), plus we retry all 5xx:
# 413 and 499 are what Massive's edge returns when it sheds load mid-request.
_RETRY_STATUSES = frozenset({413, 429, 499})


class MassiveError(Exception):
    """Base of every Massive failure. ``status`` is the HTTP status, None for transport errors."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class MassiveAuthError(MassiveError):
    """The key is missing, unknown or revoked. Fatal: retrying cannot help; alert an operator."""


class MassiveNotEntitledError(MassiveError):
    """The plan does not cover this data (or timeframe). ``detail`` is upstream's own words."""

    def __init__(
        self, message: str, *, endpoint: str = "", status: int | None = None, detail: str = ""
    ) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.detail = detail


class MassiveRequestError(MassiveError):
    """Upstream rejected the request itself (bad parameter, unexpected status). Not retried."""


class MassiveRateLimitedError(MassiveError):
    """Still rate limited after every retry. ``retry_after_s``: upstream's hint, None if none."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        status: int | None = 429,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status=status)
        self.retry_after_s = retry_after_s


class MassiveServerError(MassiveError):
    """Upstream kept failing (5xx, 499, 413) through every retry."""


class MassiveTransportError(MassiveError):
    """No usable HTTP response: timeout, refused or dropped connection, protocol error."""


class MassiveDataError(MassiveError):
    """The body was not what the API promises: bad JSON, wrong shape, impossible values."""


def _with_detail(text: str, detail: str | None) -> str:
    return f"{text}: {detail!r}" if detail else text


def error_for_status(
    endpoint: str, status: int, detail: str | None, *, retry_after_s: float | None = None
) -> MassiveError:
    """The error for a non-2xx, non-404 reply. ``detail`` is upstream's (redacted) text."""
    where = f"Massive {endpoint} request got HTTP {status}"
    if status == 401:
        return MassiveAuthError(
            _with_detail(where, detail) + "; the API key is missing, unknown or revoked: "
            "check MASSIVE_API_KEY (this is not retried)",
            endpoint=endpoint,
            status=status,
        )
    if status == 403:
        return MassiveNotEntitledError(
            _with_detail(where, detail) + "; the plan does not include this data: "
            "upgrade the plan or stop polling this endpoint (this is not retried)",
            endpoint=endpoint,
            status=status,
            detail=detail or "",
        )
    if status == 429:
        hint = f"; upstream asks to wait {retry_after_s:g} s" if retry_after_s is not None else ""
        return MassiveRateLimitedError(
            _with_detail(where, detail) + hint + "; lower the request budget or upgrade the plan",
            endpoint=endpoint,
            status=status,
            retry_after_s=retry_after_s,
        )
    if status >= 500 or status in _RETRY_STATUSES:
        return MassiveServerError(
            _with_detail(where, detail) + "; Massive is failing, retry later",
            endpoint=endpoint,
            status=status,
        )
    if 300 <= status < 400:
        return MassiveRequestError(
            f"{where} (a redirect); redirects are not followed so the key never leaves our "
            "base URL: point base_url at the API host itself",
            endpoint=endpoint,
            status=status,
        )
    return MassiveRequestError(
        _with_detail(where, detail) + "; the request is invalid: fix the parameters",
        endpoint=endpoint,
        status=status,
    )


def error_for_body_status(endpoint: str, body_status: str, detail: str | None) -> MassiveError:
    """The error for an HTTP 200 whose body says it failed (``status`` ERROR/NOT_AUTHORIZED)."""
    where = f"Massive {endpoint} request got HTTP 200 with status {body_status!r}"
    if body_status == "NOT_AUTHORIZED":
        return MassiveNotEntitledError(
            _with_detail(where, detail) + "; the plan does not include this data",
            endpoint=endpoint,
            status=200,
            detail=detail or "",
        )
    # ERROR covers bad keys, bad parameters and rate limits; only the text tells them apart,
    # and only the key case must stop the caller for good.
    if detail and "api key" in detail.lower():
        return MassiveAuthError(
            _with_detail(where, detail) + "; check MASSIVE_API_KEY",
            endpoint=endpoint,
            status=200,
        )
    return MassiveRequestError(
        _with_detail(where, detail) + "; upstream refused the request",
        endpoint=endpoint,
        status=200,
    )


def error_for_exception(endpoint: str, exc: httpx.HTTPError) -> MassiveError:
    """Map an httpx exception (most specific first); the caller raises it ``from exc``."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return MassiveTransportError(
            f"Massive {endpoint} request timed out ({kind}); upstream is slow or unreachable, "
            "retry later or raise timeout_s",
            endpoint=endpoint,
        )
    if isinstance(exc, httpx.DecodingError):
        return MassiveDataError(
            f"Massive {endpoint} response could not be decoded ({kind}): {exc}",
            endpoint=endpoint,
        )
    if isinstance(exc, httpx.UnsupportedProtocol):
        return MassiveRequestError(
            f"Massive {endpoint} request used an unsupported URL scheme ({exc}); "
            "base_url must start with https:// or http://",
            endpoint=endpoint,
        )
    return MassiveTransportError(
        f"Massive {endpoint} request failed in transport ({kind}: {exc}); "
        "check network access to the API host",
        endpoint=endpoint,
    )


def is_retryable(error: MassiveError) -> bool:
    """Worth trying again soon: the world's fault (overload, network), not ours or the data's."""
    return isinstance(error, MassiveRateLimitedError | MassiveServerError | MassiveTransportError)
