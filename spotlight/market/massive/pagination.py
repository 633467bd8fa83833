"""Following Massive's ``next_url`` safely (pure: no I/O).

Policy (from the API notes and the official client):
- Only the path and query of ``next_url`` are used, re-based onto our configured base URL: the
  host in ``next_url`` is ignored, so a page can never send our Authorization header to a
  foreign host, and a staging or proxy base URL keeps working.
- The cursor already encodes the original filters, so nothing else is re-sent with it.
- An ``apiKey`` query parameter, should upstream ever echo one, is dropped: the key travels only
  in the Authorization header and never in a URL we request or log.
- Upstream has been seen to loop forever on ``next_url`` (polygon-io issue #289). A repeated
  cursor ends the walk there: everything fetched so far is kept, de-duplicated (a loop serves
  pages already seen), and the walk is marked ``looped``. Throwing it away, as before, meant
  that one looping chain snapshot left GEX empty for good. More pages than the cap also end
  the walk with what was fetched, marked ``partial``: only then is data known to be missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_MAX_PAGES",
    "Page",
    "PageGuard",
    "Walk",
    "collect_pages",
    "rebase_next_url",
]

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


Stop = Literal["looped", "page_cap"]


class PageGuard:
    """Ends a pagination walk that repeats a cursor or exceeds ``max_pages`` pages in total.

    Create one per walk, after fetching the first page; ``check(next_url)`` before following
    each ``next_url`` returns None to go on, or why to stop ("looped", "page_cap"). Cursors
    are compared on path + query, so a loop that only changes the host is still caught.
    """

    def __init__(self, endpoint: str, max_pages: int = DEFAULT_MAX_PAGES) -> None:
        if max_pages < 1:
            raise ValueError(f"max_pages must be >= 1, not {max_pages!r}")
        self.endpoint = endpoint
        self.max_pages = max_pages
        self.pages = 1  # the first page, already fetched
        self._seen: set[str] = set()

    def check(self, next_url: str) -> Stop | None:
        key = _path_and_query(next_url)
        if key in self._seen:
            return "looped"
        if self.pages >= self.max_pages:
            return "page_cap"
        self._seen.add(key)
        self.pages += 1
        return None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One parsed page: its items, the raw ``next_url`` (None on the last page), and whether
    upstream marked it DELAYED."""

    items: list[T]
    next_url: str | None
    delayed: bool


@dataclass(frozen=True, slots=True)
class Walk(Generic[T]):
    """A finished walk: every page's items in order (de-duplicated when it ``looped``),
    whether any page was delayed, the pages fetched, and why it stopped early: ``looped`` (a
    repeated cursor; nothing is known to be missing) or ``partial`` (the page cap; more data
    exists upstream). ``duplicates`` counts items dropped as already seen."""

    endpoint: str
    items: list[T]
    delayed: bool = False
    pages: int = 0
    looped: bool = False
    partial: bool = False
    duplicates: int = 0

    def note(self) -> dict[str, object]:
        """What the walk says about its data, for payloads and diag."""
        return {
            "pages": self.pages,
            "looped": self.looped,
            "partial": self.partial,
            "duplicates": self.duplicates,
        }


def _dedupe(items: list[T], key: Callable[[T], Hashable] | None) -> tuple[list[T], int]:
    seen: set[Hashable] = set()
    out: list[T] = []
    for item in items:
        k = key(item) if key is not None else _identity(item)
        if k in seen:
            continue
        seen.add(k)
        out.append(item)
    return out, len(items) - len(out)


def _identity(item: object) -> Hashable:
    try:
        hash(item)
    except TypeError:
        return id(item)  # unhashable: nothing to compare, keep every one
    return item


async def collect_pages(
    endpoint: str,
    base_url: str,
    first: Page[T] | None,
    fetch: Callable[[str], Awaitable[Page[T] | None]],
    max_pages: int = DEFAULT_MAX_PAGES,
    *,
    key: Callable[[T], Hashable] | None = None,
) -> Walk[T]:
    """Follow ``next_url`` from ``first`` (see the module docstring for where it stops).

    ``fetch(url)`` gets the re-based absolute URL; a None page ("no data", e.g. a 404
    mid-walk) ends the walk. ``key`` identifies an item for de-duplication after a loop
    (default: the item itself). No I/O here: the caller's ``fetch`` does it."""
    if first is None:
        return Walk(endpoint, [])
    guard = PageGuard(endpoint, max_pages)
    items: list[T] = []
    delayed = False
    stop: Stop | None = None
    page: Page[T] | None = first
    while page is not None:
        items += page.items
        delayed = delayed or page.delayed
        if page.next_url is None:
            break
        stop = guard.check(page.next_url)
        if stop is not None:
            break
        page = await fetch(rebase_next_url(base_url, page.next_url))
    duplicates = 0
    if stop == "looped":
        items, duplicates = _dedupe(items, key)
    return Walk(
        endpoint,
        items,
        delayed,
        guard.pages,
        looped=stop == "looped",
        partial=stop == "page_cap",
        duplicates=duplicates,
    )
