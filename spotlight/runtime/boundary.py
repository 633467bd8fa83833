"""A connection's failure boundary: whatever one client's task tree raises stops there.

Every connection runs in its own task, started in the server's connections nursery. Without a
boundary, an exception from one client's socket, parser or handler (or from any nursery the
connection opens, where it arrives wrapped in an ``ExceptionGroup`` that no ``except OSError``
matches) would cancel that nursery, and through it the server. ``contain`` is the one place
that stops it:

- ``Cancelled`` (shutdown, a deadline), ``KeyboardInterrupt`` and ``SystemExit`` pass through,
  also from inside a group: cancellation is never caught.
- Everything else ends the connection only. It is classified (``kind``) and reported once,
  through ``report``, which counts it by endpoint and kind and logs it with the peer: a peer
  that went away (a reset, a broken pipe, a timeout from ``TCP_USER_TIMEOUT``) is ordinary
  network weather (INFO, no traceback); anything else is a bug in our code (ERROR, with its
  traceback).

Shared actors (the flusher, the hub, the market) are not behind a boundary: their failures
reach their supervisor, as they must (docs/architecture.md, "What can stop the process").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import trio

__all__ = ["PEER_GONE", "Report", "contain", "kind_of", "leaves", "log_failure"]

log = logging.getLogger("spotlight.connections")

# Exceptions that mean the peer (or the network under it) went away, not that we failed.
PEER_GONE: tuple[type[BaseException], ...] = (
    ConnectionError,  # reset, aborted, refused, broken pipe
    TimeoutError,  # ETIMEDOUT: TCP_USER_TIMEOUT or keep-alive probes gave up
    trio.BrokenResourceError,
    trio.ClosedResourceError,
)
# Never caught by a boundary: cancellation and the process's own exits.
_PASS_THROUGH = (trio.Cancelled, KeyboardInterrupt, SystemExit, GeneratorExit)

# (endpoint, kind, peer, the exceptions) -> None: count and log one failed connection.
Report = Callable[[str, str, str, list[BaseException]], None]


def leaves(exc: BaseException) -> list[BaseException]:
    """The leaf exceptions of ``exc`` (itself when it is not a group)."""
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for e in exc.exceptions:
            out += leaves(e)
        return out
    return [exc]


def kind_of(errors: list[BaseException]) -> str:
    """``reset`` / ``timeout`` / ``closed`` when every error is the peer going away;
    ``error`` when any is something else (a bug: it wins, so it is never hidden)."""
    kinds = set()
    for e in errors:
        if isinstance(e, trio.BrokenResourceError) and isinstance(e.__cause__, OSError):
            e = e.__cause__  # trio's wrapper around the socket's own error: say which
        if isinstance(e, TimeoutError):
            kinds.add("timeout")
        elif isinstance(e, ConnectionError):
            kinds.add("reset")
        elif isinstance(e, (trio.BrokenResourceError, trio.ClosedResourceError)):
            kinds.add("closed")
        else:
            return "error"
    return sorted(kinds)[0] if kinds else "error"


@contextmanager
def contain(where: Callable[[], tuple[str, str]], report: Report) -> Iterator[None]:
    """Run one connection so that nothing but cancellation escapes.

    ``where`` gives (endpoint, peer) and is called only when something is reported: what the
    connection turned out to be is known only once it was routed."""
    try:
        yield
    except BaseException as exc:
        passing: BaseException | None
        rest: BaseException | None
        if isinstance(exc, BaseExceptionGroup):
            passing, rest = exc.split(_PASS_THROUGH)
        elif isinstance(exc, _PASS_THROUGH):
            passing, rest = exc, None
        else:
            passing, rest = None, exc
        if rest is not None:
            errors = leaves(rest)
            endpoint, peer = where()
            report(endpoint, kind_of(errors), peer, errors)
        if passing is not None:
            if passing is exc:
                raise
            raise passing from None


def log_failure(endpoint: str, kind: str, peer: str, errors: list[BaseException]) -> None:
    """The log half of a ``Report``: one line per connection, a traceback only for a bug."""
    first = errors[0]
    summary = f"{type(first).__name__}: {first}"[:300]
    if kind == "error":
        bug = next(e for e in errors if not isinstance(e, PEER_GONE))
        log.error(
            "connection %s from %s failed: %s (connection closed; the server carries on)",
            endpoint,
            peer,
            f"{type(bug).__name__}: {bug}"[:300],
            exc_info=bug,
        )
    else:
        log.info(
            "connection %s from %s ended by the network (%s): %s", endpoint, peer, kind, summary
        )
