"""Following Massive's ``next_url`` safely (pure: no I/O).

Policy (from the API notes and the official client):
- Only the path and query of ``next_url`` are used, re-based onto our configured base URL: the
  host in ``next_url`` is ignored, so a page can never send our Authorization header to a
  foreign host, and a staging or proxy base URL keeps working.
- The cursor already encodes the original filters, so nothing else is re-sent with it.
- An ``apiKey`` query parameter, should upstream ever echo one, is dropped: the key travels only
  in the Authorization header and never in a URL we request or log.
- Upstream has been seen to loop forever on ``next_url`` (polygon-io issue #289): a repeated
  cursor, or more pages than the cap, raises ``MassivePaginationError`` instead of spinning.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from spotlight.market.massive.errors import MassivePaginationError

__all__ = ["DEFAULT_MAX_PAGES", "Page", "PageGuard", "collect_pages", "rebase_next_url"]

T = TypeVar("T")

# 200 pages x 250 rows = 50,000 snapshot rows: several times the whole SPX chain (all
# expiries, both roots), so a legitimate walk never reaches it, while a looping cursor with
# fresh values each page still stops within about a minute on the paid budget.
DEFAULT_MAX_PAGES = 200


def _path_and_query(next_url: str) -> str:
    parts = urlsplit(next_url)
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    params = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] != "apiKey"]
    return path + ("?" + "&".join(params) if params else "")


def rebase_next_url(base_url: str, next_url: str) -> str:
    """Our base URL + ``next_url``'s path and query (raw, so the opaque cursor is untouched).

    ``rebase_next_url("http://127.0.0.1:9000", "https://api.massive.com/v3/x?cursor=YQ")``
    is ``"http://127.0.0.1:9000/v3/x?cursor=YQ"``. A path prefix on the base is kept.
    """
    return base_url.rstrip("/") + _path_and_query(next_url)


class PageGuard:
    """Stops a pagination walk that repeats a cursor or exceeds ``max_pages`` pages in total.

    Create one per walk, after fetching the first page; call ``check(next_url)`` before
    following each ``next_url``. Cursors are compared on path + query, so a loop that only
    changes the host is still caught.
    """

    def __init__(self, endpoint: str, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        if max_pages < 1:
            raise ValueError(f"max_pages must be >= 1, not {max_pages!r}")
        self.endpoint = endpoint
        self.max_pages = max_pages
        self.pages = 1  # the first page, already fetched
        self._seen: set[str] = set()

    def check(self, next_url: str) -> None:
        key = _path_and_query(next_url)
        if key in self._seen:
            raise MassivePaginationError(
                f"Massive {self.endpoint} pagination looped: next_url repeated a cursor after "
                f"{self.pages} pages (a known upstream bug); narrow the filters or retry later",
                endpoint=self.endpoint,
            )
        if self.pages >= self.max_pages:
            raise MassivePaginationError(
                f"Massive {self.endpoint} pagination passed the cap of {self.max_pages} pages; "
                "narrow the filters (expiration_date, strike_price range) or raise max_pages",
                endpoint=self.endpoint,
            )
        self._seen.add(key)
        self.pages += 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One parsed page: its items, the raw ``next_url`` (None on the last page), and whether
    upstream marked it DELAYED."""

    items: list[T]
    next_url: str | None
    delayed: bool


async def collect_pages(
    endpoint: str,
    base_url: str,
    first: Page[T] | None,
    fetch: Callable[[str], Awaitable[Page[T] | None]],
    max_pages: int = DEFAULT_MAX_PAGES,
) -> tuple[list[T], bool]:
    """Follow ``next_url`` from ``first``: every page's items in order, and whether any page
    was delayed. ``fetch(url)`` gets the re-based absolute URL; a None page ("no data", e.g.
    a 404 mid-walk) ends the walk. No I/O here: the caller's ``fetch`` does it."""
    guard = PageGuard(endpoint, max_pages)
    items: list[T] = []
    delayed = False
    page = first
    while page is not None:
        items += page.items
        delayed = delayed or page.delayed
        if page.next_url is None:
            break
        guard.check(page.next_url)
        page = await fetch(rebase_next_url(base_url, page.next_url))
    return items, delayed
