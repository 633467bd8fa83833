"""Which browser origins may make state-changing requests and open WebSockets.

Browsers attach ``Origin`` to cross-site POSTs and to every WebSocket upgrade, and a page
cannot forge it; refusing foreign origins stops cross-site request forgery and WebSocket
hijacking (a WebSocket upgrade carries the cookie but is not covered by CORS). Rules, in
order:

1. No Origin header: allowed. Browsers always send one in these cases, so its absence means
   a non-browser client (curl, a script), which a forged cross-site request cannot be.
2. ``Origin: null`` (sandboxed iframes, ``file://`` pages, some redirects): refused; it
   names no site, so it cannot be trusted.
3. The request's own origin (scheme + ``Host`` header): allowed.
4. An origin in the allow-list: allowed.
5. Anything else, unparseable values included: refused.

Behind a TLS-terminating proxy the request looks like ``http`` while browsers send
``Origin: https://...``; put the public URL's origin in the allow-list for that case.

Origins are compared normalized: ``scheme://host[:port]``, lower case, default port (80 for
http, 443 for https) dropped, IPv6 hosts in brackets.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["OriginPolicy", "normalize_origin"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# WebSocket requests report ws/wss; their Origin header is still http/https.
_SCHEME_ALIASES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
# Browsers send host names in ASCII (IDNs as punycode, xn--...), lower-cased here.
_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?")


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` for an origin or a bare URL (a lone trailing ``/`` is ok).

    Raises ValueError saying what is wrong: a scheme other than http/https, no host, a path,
    query, fragment or user info, or a bad port.
    """
    if not isinstance(value, str):
        raise ValueError(f"an origin must be a string, not {type(value).__name__}")
    text = value.strip()
    if any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"origin {value!r} contains whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise ValueError(f"origin {value!r} is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(
            f"origin {value!r} must start with http:// or https://, e.g. https://example.com"
        )
    if not host:
        raise ValueError(f"origin {value!r} has no host; write it as {scheme}://host[:port]")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(
            f"origin {value!r} has a path, query or fragment; an origin is only "
            f"{scheme}://host[:port]"
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"origin {value!r} contains user info; an origin is only scheme://host")
    if "*" in host:
        raise ValueError(f"origin {value!r}: wildcards are not supported; list each origin")
    if ":" in host:  # IPv6 literal; hostname dropped the brackets
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            raise ValueError(f"origin {value!r} has an invalid IPv6 address") from None
    elif not _HOST_NAME.fullmatch(host):
        raise ValueError(
            f"origin {value!r} has an invalid host {host!r}; use letters, digits, '.', '-' "
            "(punycode for international names)"
        )
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _try_normalize(value: str) -> str | None:
    try:
        return normalize_origin(value)
    except ValueError:
        return None


class OriginPolicy:
    def __init__(self, allowed: Iterable[str]) -> None:
        """``allowed``: extra origins to accept; a malformed entry raises ValueError naming it.

        Entries are validated strictly (a typo should fail at start, not silently refuse
        every request); headers are parsed leniently and refused if unparseable.
        """
        if isinstance(allowed, str):
            raise ValueError(
                f"OriginPolicy takes a list of origins, not the single string {allowed!r}"
            )
        normalized: set[str] = set()
        for entry in allowed:
            try:
                normalized.add(normalize_origin(entry))
            except ValueError as exc:
                raise ValueError(f"invalid allowed origin: {exc}") from None
        self.allowed: frozenset[str] = frozenset(normalized)

    def allows(self, origin: str | None, host: str | None, scheme: str) -> bool:
        """Whether a request with this ``Origin`` header may proceed (rules in module doc).

        ``host`` is the request's ``Host`` header and ``scheme`` its scheme (http, https, ws,
        wss); together they give the server's own origin. Never raises.
        """
        if origin is None:
            return True
        if origin.strip().lower() == "null":
            return False
        normalized = _try_normalize(origin)
        if normalized is None:
            return False
        if normalized in self.allowed:
            return True
        return normalized == self._own_origin(host, scheme)

    @staticmethod
    def _own_origin(host: str | None, scheme: str) -> str | None:
        base = _SCHEME_ALIASES.get(scheme.lower()) if isinstance(scheme, str) else None
        if not host or base is None or "/" in host or "@" in host:
            return None
        return _try_normalize(f"{base}://{host}")
