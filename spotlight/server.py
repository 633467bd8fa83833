"""Serve the app with hypercorn on a listening socket we create ourselves.

Why our own socket (trio-stack-notes.md):
- ``backlog``: hypercorn's default of 100 drops SYNs during reconnect storms.
- ``TCP_USER_TIMEOUT``: hypercorn writes inside a shielded cancel scope, so a peer that stays
  connected but stops reading can only be freed by the kernel giving up on unacknowledged data.

Shutdown (``shutdown`` event set, or SIGINT/SIGTERM in ``main``): streaming clients are told
to reconnect first (``shutdown`` event, WS close 1012), then hypercorn stops accepting and
gives open connections ``shutdown_grace_s`` before cancelling them. The whole stop is bounded.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable

import trio
from hypercorn.config import Config, Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from spotlight.service import SpotlightService
from spotlight.web.app import create_app

__all__ = ["listen_socket", "serve"]

log = logging.getLogger(__name__)


def listen_socket(host: str, port: int, backlog: int, tcp_user_timeout_ms: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if tcp_user_timeout_ms and hasattr(socket, "TCP_USER_TIMEOUT"):
            # Inherited by accepted sockets on Linux.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, tcp_user_timeout_ms)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def hypercorn_config(service: SpotlightService) -> Config:
    config = Config()
    config.graceful_timeout = service.settings.shutdown_grace_s
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    # SSE bodies can be long-lived; hypercorn's own keep-alive only covers idle connections.
    config.keep_alive_timeout = 75
    config.backlog = service.settings.backlog
    return config


async def serve(
    service: SpotlightService,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the server until ``shutdown_trigger`` returns; ``started`` gets the base URL."""
    s = service.settings
    sock = listen_socket(s.host, s.port, s.backlog, s.tcp_user_timeout_ms)
    app = create_app(service)
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"

    async def trigger() -> None:
        if shutdown_trigger is None:
            await trio.sleep_forever()
        else:
            await shutdown_trigger()
        service.begin_shutdown()
        # Let writers flush their `shutdown` events before hypercorn starts closing sockets.
        await trio.sleep(0.05)

    class _Started:
        def started(self, value: object = None) -> None:
            task_status.started(url)

    with sock:
        await worker_serve(
            wrap_app(app, 16 * 1024 * 1024, "asgi"),
            hypercorn_config(service),
            sockets=Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[]),
            shutdown_trigger=trigger,
            task_status=_Started(),
        )
