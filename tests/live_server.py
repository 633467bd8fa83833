"""A real server in a thread, for the generated-input tests: shared by a module's examples.

Hypothesis runs each example of an async test in a fresh ``trio.run`` (pytest-trio), which
would start a server per example. The generated-input tests are synchronous instead and talk
to one server that runs in its own thread (its own ``trio.run``) over real sockets on
127.0.0.1, for the whole module. Every log record at ERROR or above (a traceback) is kept:
a test fails if any appears.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import trio
from support import running_server

from spotlight.service import SpotlightService

PIN = "2468"


@dataclass
class LiveServer:
    url: str
    host: str
    port: int
    service: SpotlightService
    cookie: str  # a logged-in session's Cookie header value
    errors: list[logging.LogRecord] = field(default_factory=list)

    def error_lines(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.errors]


class _Keep(logging.Handler):
    def __init__(self, into: list[logging.LogRecord]) -> None:
        super().__init__(logging.ERROR)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record)


@contextmanager
def live_server_thread() -> Iterator[LiveServer]:
    started: queue.Queue[Any] = queue.Queue()

    async def main() -> None:
        stop = trio.Event()
        async with running_server(
            auth="pin", pin=PIN, request_timeout_s=2.0, max_connections_per_address=0
        ) as srv:
            started.put((srv, trio.lowlevel.current_trio_token(), stop))
            await stop.wait()

    def run() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # the test thread must hear of it
            started.put(exc)

    thread = threading.Thread(target=run, name="live-server", daemon=True)
    thread.start()
    first = started.get(timeout=60)
    if isinstance(first, BaseException):
        raise first
    srv, token, stop = first
    host, port = srv.url.removeprefix("http://").split(":")
    login = httpx.post(f"{srv.url}/api/auth/pin", json={"pin": PIN}, timeout=10)
    assert login.status_code == 200, login.text
    cookie = "; ".join(f"{k}={v}" for k, v in login.cookies.items())
    errors: list[logging.LogRecord] = []
    keep = _Keep(errors)
    logging.getLogger().addHandler(keep)
    try:
        yield LiveServer(srv.url, host, int(port), srv.service, cookie, errors)
    finally:
        logging.getLogger().removeHandler(keep)
        trio.from_thread.run_sync(stop.set, trio_token=token)
        thread.join(30)
        if not started.empty():
            crash = started.get()
            raise AssertionError(f"the server stopped: {crash!r}")
