"""Every open TCP connection: admission, caps, eviction, and the failure reports.

A front-line server must not let descriptors run out: past the process's limit ``accept``
fails, nobody new gets in, not even ``/health``. So connections are counted here, in total
and per client address, against ``SPOTLIGHT_MAX_CONNECTIONS`` (by default a margin below the
process's file-descriptor limit) and ``SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS``:

- Each connection is in one state: ``head`` (the router is reading its first request head),
  ``http`` (hypercorn is serving a request), ``idle`` (hypercorn's keep-alive, between
  requests) or ``stream`` (an SSE or WebSocket stream).
- At a cap, a new connection first takes the place of the oldest *idle* one (``head`` or
  ``idle``: it costs nobody anything to close, and its client simply reconnects when it has
  something to say). Only when there is none is the new one refused, with a JSON 503
  (``too_many_connections``) or 429 (``too_many_connections_from_address``) and
  ``Retry-After``, written without waiting and closed at once.
- ``report`` is the connection failure boundary's ``Report`` (runtime/boundary.py): one
  count per failed connection by endpoint and kind, one log line with the peer.

The table is synchronous bookkeeping (no awaits); the router owns the connection tasks.
Eviction cancels the evicted connection's own cancel scope: its task ends, its ``finally``
closes the socket.
"""

from __future__ import annotations

import errno
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus

import orjson
import trio

from spotlight.metrics import Metrics
from spotlight.runtime.boundary import log_failure

__all__ = ["EVICTABLE", "Connection", "ConnectionTable", "Refusal", "default_max_connections"]

log = logging.getLogger("spotlight.connections")

EVICTABLE = frozenset({"head", "idle"})
# Descriptors kept for everything that is not a client connection (files, Redis, the
# analytics worker, recordings): the default cap leaves this margin below the fd limit.
FD_RESERVE_MIN = 64
FD_RESERVE_FRACTION = 0.05
# accept() errors that mean "out of resources": logged at most this often.
ACCEPT_LOG_EVERY_S = 10.0


def default_max_connections(fd_limit: int) -> int:
    """A cap that leaves room below the process's descriptor limit."""
    if fd_limit <= 0:  # RLIM_INFINITY
        fd_limit = 1 << 20
    reserve = max(FD_RESERVE_MIN, int(fd_limit * FD_RESERVE_FRACTION))
    return max(16, fd_limit - reserve)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a new connection was not admitted, and what it is told."""

    reason: str  # "total" or "address": the metric's label
    status: int
    error: str
    detail: str

    def response(self) -> bytes:
        body = orjson.dumps({"error": self.error, "detail": self.detail})
        return (
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}\r\n"
            "content-type: application/json\r\n"
            f"content-length: {len(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n"
        ).encode("latin-1") + body


class Connection:
    """One open connection's entry: its address, state and the scope that owns its task."""

    __slots__ = ("address", "endpoint", "scope", "since", "state")

    def __init__(self, address: str, now: float) -> None:
        self.address = address
        self.state = "head"
        self.endpoint = "head"  # what the failure boundary reports it as once routed
        self.since = now  # when it entered its state
        self.scope = trio.CancelScope()

    def describe(self) -> tuple[str, str]:
        return self.endpoint, self.address


class ConnectionTable:
    def __init__(
        self,
        max_total: int,
        max_per_address: int,
        metrics: Metrics,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address  # 0: no per-address cap
        self.metrics = metrics
        self._clock = clock
        self._open: dict[Connection, None] = {}
        self._by_address: dict[str, dict[Connection, None]] = {}
        # Evictable connections, oldest (in its idle state) first.
        self._idle: OrderedDict[Connection, None] = OrderedDict()
        self.admitted = 0
        self.refused = {"total": 0, "address": 0}
        self.evicted = 0
        self.failures: dict[str, int] = {}  # "endpoint/kind" -> count
        self.accept_errors = 0
        self._accept_logged_at = -ACCEPT_LOG_EVERY_S
        self._accept_unlogged = 0
        metrics.watch_connections(self.by_state)

    def __len__(self) -> int:
        return len(self._open)

    # -- admission ------------------------------------------------------------------------
    def admit(self, address: str) -> Connection | Refusal:
        same = self._by_address.get(address)
        crowded = bool(self.max_per_address) and len(same or ()) >= self.max_per_address
        if crowded and not self._evict_from(c for c in self._idle if c.address == address):
            return self._refuse(
                "address",
                429,
                "too_many_connections_from_address",
                f"at most {self.max_per_address} connections from one address "
                "(SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS); close some and retry",
            )
        if len(self._open) >= self.max_total and not self._evict_from(iter(self._idle)):
            return self._refuse(
                "total",
                503,
                "too_many_connections",
                f"the server holds its maximum of {self.max_total} connections "
                "(SPOTLIGHT_MAX_CONNECTIONS); retry shortly",
            )
        conn = Connection(address, self._clock())
        self._open[conn] = None
        self._by_address.setdefault(address, {})[conn] = None
        self._idle[conn] = None
        self.admitted += 1
        return conn

    def set_state(self, conn: Connection, state: str) -> None:
        if conn.state == state or conn not in self._open:
            return
        conn.state = state
        conn.since = self._clock()
        if state in EVICTABLE:
            self._idle[conn] = None
            self._idle.move_to_end(conn)
        else:
            self._idle.pop(conn, None)

    def release(self, conn: Connection) -> None:
        if conn not in self._open:
            return
        del self._open[conn]
        self._idle.pop(conn, None)
        same = self._by_address.get(conn.address)
        if same is not None:
            same.pop(conn, None)
            if not same:
                del self._by_address[conn.address]

    def evict_idle(self) -> bool:
        """Close the oldest idle connection (out of descriptors); False when there is none."""
        return self._evict_from(iter(self._idle))

    # -- reports --------------------------------------------------------------------------
    def report(self, endpoint: str, kind: str, peer: str, errors: list[BaseException]) -> None:
        """The failure boundary's report: counted, logged once with the peer."""
        key = f"{endpoint}/{kind}"
        self.failures[key] = self.failures.get(key, 0) + 1
        self.metrics.connection_failures.labels(endpoint, kind).inc()
        log_failure(endpoint, kind, peer, errors)

    def accept_failed(self, exc: OSError) -> None:
        """accept() ran out of something (EMFILE, ENFILE, ENOBUFS, ENOMEM): counted each
        time, logged at most every ``ACCEPT_LOG_EVERY_S`` (never a storm)."""
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        self.accept_errors += 1
        self.metrics.accept_errors.labels(name).inc()
        now = self._clock()
        if now - self._accept_logged_at >= ACCEPT_LOG_EVERY_S:
            log.warning(
                "accept failed: %s (%d more since the last report); %d connections open, "
                "cap %d: lower SPOTLIGHT_MAX_CONNECTIONS or raise the file-descriptor limit",
                exc,
                self._accept_unlogged,
                len(self._open),
                self.max_total,
            )
            self._accept_logged_at = now
            self._accept_unlogged = 0
        else:
            self._accept_unlogged += 1

    def by_state(self) -> dict[str, int]:
        out = {"head": 0, "http": 0, "idle": 0, "stream": 0}
        for conn in self._open:
            out[conn.state] = out.get(conn.state, 0) + 1
        return out

    def stats(self) -> dict[str, object]:
        return {
            "open": len(self._open),
            "byState": self.by_state(),
            "addresses": len(self._by_address),
            "maxTotal": self.max_total,
            "maxPerAddress": self.max_per_address,
            "admitted": self.admitted,
            "refused": dict(self.refused),
            "evicted": self.evicted,
            "acceptErrors": self.accept_errors,
            "failures": dict(sorted(self.failures.items())),
        }

    # -- internals ------------------------------------------------------------------------
    def _evict_from(self, candidates: Iterable[Connection]) -> bool:
        for conn in candidates:  # the first one only: the dict changes below
            self._idle.pop(conn, None)
            self.evicted += 1
            self.metrics.connections_evicted.labels(conn.state).inc()
            conn.state = "evicted"
            conn.scope.cancel()
            # Its slot is free now: its task only has to close the socket.
            self.release(conn)
            return True
        return False

    def _refuse(self, reason: str, status: int, error: str, detail: str) -> Refusal:
        self.refused[reason] += 1
        self.metrics.connections_refused.labels(reason).inc()
        return Refusal(reason, status, error, detail)
