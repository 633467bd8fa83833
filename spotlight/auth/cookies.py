"""The session cookie's attributes, decided in one place, and reading it back.

Two modes, chosen once at start by ``decide_mode(public_url)``:

- ``production`` (the public URL is ``https://``): ``SameSite=None; Secure``. The dashboard
  may be embedded in another site's page (a cross-site iframe); only a SameSite=None cookie
  is sent there, and browsers (Safari included) accept SameSite=None only with Secure, which
  HTTPS allows. Cross-site request forgery is stopped by the Origin check, not by SameSite.
- ``development`` (plain HTTP, typically http://localhost): ``SameSite=Lax`` without Secure.
  A Secure cookie is never stored over plain HTTP by some browsers (Safari; Chrome and Firefox
  make an exception for localhost only), so development uses Lax, which every browser keeps
  over HTTP and still withholds from cross-site subrequests.

In both modes: ``HttpOnly`` (page scripts cannot read the session), ``Path=/``, ``Max-Age``
of 30 days. No ``Partitioned`` attribute: it would tie the cookie to the embedding site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEVELOPMENT",
    "PRODUCTION",
    "CookiePolicy",
    "clear_cookie_header",
    "decide_mode",
    "read_cookie",
    "set_cookie_header",
]

PRODUCTION: Final = "production"
DEVELOPMENT: Final = "development"
SESSION_COOKIE: Final = "spotlight_session"
SESSION_MAX_AGE_S: Final = 30 * 86400

# RFC 6265 section 4.1.1: a cookie name is an HTTP token; a value is cookie-octets (no space,
# DQUOTE, comma, semicolon or backslash). Checked so no value can inject extra attributes.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COOKIE_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
_SAME_SITE = ("Lax", "Strict", "None")


def decide_mode(public_url: str | None) -> str:
    """``"production"`` if the server is reached over HTTPS, else ``"development"``.

    ``public_url`` is the URL users open (SPOTLIGHT_PUBLIC_URL); unset means local
    development over plain HTTP. See the module docstring for what each mode sets and why.
    """
    if public_url is not None and public_url.strip().lower().startswith("https://"):
        return PRODUCTION
    return DEVELOPMENT


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    secure: bool
    same_site: str  # "Lax", "Strict" or "None" (the last needs secure=True)
    name: str = SESSION_COOKIE
    max_age_s: int = SESSION_MAX_AGE_S
    path: str = "/"

    def __post_init__(self) -> None:
        if self.same_site not in _SAME_SITE:
            raise ValueError(
                f"CookiePolicy same_site must be one of {_SAME_SITE}, not {self.same_site!r}"
            )
        if self.same_site == "None" and not self.secure:
            raise ValueError(
                "CookiePolicy with same_site='None' needs secure=True: browsers drop "
                "SameSite=None cookies without Secure"
            )
        if not _TOKEN.fullmatch(self.name):
            raise ValueError(f"CookiePolicy name {self.name!r} is not a valid cookie name")
        if self.max_age_s <= 0:
            raise ValueError(f"CookiePolicy max_age_s must be positive, not {self.max_age_s!r}")
        if not self.path.startswith("/") or not _COOKIE_VALUE.fullmatch(self.path):
            raise ValueError(f"CookiePolicy path must be an absolute path, not {self.path!r}")

    @classmethod
    def for_mode(cls, mode: str) -> CookiePolicy:
        """The policy for ``"production"`` (SameSite=None; Secure) or ``"development"`` (Lax)."""
        if mode == PRODUCTION:
            return cls(secure=True, same_site="None")
        if mode == DEVELOPMENT:
            return cls(secure=False, same_site="Lax")
        raise ValueError(
            f"cookie mode must be {PRODUCTION!r} or {DEVELOPMENT!r}, not {mode!r}; "
            "use decide_mode(public_url)"
        )


def _attributes(policy: CookiePolicy, max_age_s: int) -> str:
    attrs = f"Max-Age={max_age_s}; Path={policy.path}; HttpOnly; SameSite={policy.same_site}"
    return f"{attrs}; Secure" if policy.secure else attrs


def set_cookie_header(policy: CookiePolicy, value: str) -> str:
    """The complete ``Set-Cookie`` header value that stores ``value`` under ``policy``.

    Raises ValueError if ``value`` has characters a cookie cannot carry (a signed session
    value never does).
    """
    if not _COOKIE_VALUE.fullmatch(value):
        raise ValueError(
            f"cookie value {value[:40]!r} has characters a cookie cannot carry "
            "(space, quote, comma, semicolon, backslash or non-ASCII)"
        )
    return f"{policy.name}={value}; {_attributes(policy, policy.max_age_s)}"


def clear_cookie_header(policy: CookiePolicy) -> str:
    """A ``Set-Cookie`` value that deletes the cookie (same name, path and flags, Max-Age=0)."""
    return f"{policy.name}=; {_attributes(policy, 0)}"


def read_cookie(cookie_header: str | None, name: str) -> str | None:
    """The value of cookie ``name`` in a request's ``Cookie`` header, or None. Never raises.

    Split by hand as RFC 6265 section 5.4 describes (``a=1; b=2``) rather than with
    ``http.cookies.SimpleCookie``: SimpleCookie drops the whole header at the first pair it
    cannot parse, and on localhost other apps' cookies (a JSON value with spaces, a cookie
    named ``path``) share the header, which would silently log the user out. A malformed pair
    is skipped; the first pair with this name wins (browsers send the most specific first);
    surrounding double quotes are removed; an empty value is None.
    """
    if not isinstance(cookie_header, str) or not cookie_header:
        return None
    for pair in cookie_header.split(";"):
        key, sep, value = pair.partition("=")
        if not sep or key.strip() != name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        return value or None
    return None
