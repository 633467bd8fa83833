"""Serve Spotlight: our listening socket, our connection router, hypercorn for HTTP.

Why our own socket (trio-stack-notes.md):
- ``backlog``: hypercorn's default of 100 drops SYNs during reconnect storms.
- ``TCP_USER_TIMEOUT``: the kernel gives up on a peer that stopped acknowledging data.

Why our own router: each new connection's first request head is read here. An SSE stream
request (``GET /realtime/sse``) is served directly on the socket (``web/sse_socket.py``),
which is ~10x cheaper per write than going through Quart/hypercorn/h11 and is what lets one
burst reach 1,000 clients within milliseconds. Every other connection is handed to
hypercorn's own connection handler (``TCPServer``) with the bytes already read, so HTTP,
keep-alive, errors and WebSockets are hypercorn's job, unchanged. This mirrors
``hypercorn.trio.run.worker_serve`` (lifespan, then connections, then graceful shutdown)
and uses its building blocks; the tests run through this exact function.

Shutdown (``shutdown_trigger`` returns; SIGINT/SIGTERM in ``__main__``): streaming clients
are told to reconnect (``shutdown`` event), new connections stop, hypercorn's keep-alive
connections close, and whatever is left gets ``shutdown_grace_s`` before it is cancelled.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState, LifespanState
from hypercorn.utils import wrap_app

from spotlight.protocol.http_head import MAX_HEAD_BYTES, head_end, parse_head
from spotlight.service import SpotlightService
from spotlight.web.app import SpotlightApp
from spotlight.web.sse_request import SSE_PATH
from spotlight.web.sse_socket import serve_sse_socket

__all__ = ["PrefixedStream", "listen_socket", "serve"]

log = logging.getLogger(__name__)

# A client gets this long to send its first request head (slowloris bound).
HEAD_TIMEOUT_S = 10.0


def listen_socket(
    host: str, port: int, backlog: int, tcp_user_timeout_ms: int, *, reuse_port: bool = False
) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            # ``serve --workers N``: N processes bind the same port and the kernel spreads
            # new connections across them (one accept queue each).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
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
    config.keep_alive_timeout = 75
    config.backlog = service.settings.backlog
    # WebSocket dead-peer detection: protocol pings; a peer that stops answering is closed.
    config.websocket_ping_interval = 20.0
    # Commands are small; far larger frames are refused by hypercorn (our own, smaller bound
    # answers with an error message: web/ws_prices.py).
    config.websocket_max_message_size = 1 << 20
    return config


class PrefixedStream(trio.abc.HalfCloseableStream):
    """A socket stream that first replays bytes the router already read (for hypercorn)."""

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix
        self.socket = stream.socket  # hypercorn reads peer and local addresses from it

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            n = len(self._prefix) if max_bytes is None else max_bytes
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            await trio.lowlevel.checkpoint()
            return data
        return bytes(await self._stream.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


class _Router:
    def __init__(self, service: SpotlightService, config: Config, app: Any) -> None:
        self.service = service
        self.config = config
        self.app = app
        self.context = WorkerContext(None)
        self.lifespan_state: LifespanState = {}

    async def handle(self, stream: trio.SocketStream) -> None:
        buf = bytearray()
        end = -1
        try:
            with trio.move_on_after(HEAD_TIMEOUT_S):
                while end < 0 and len(buf) <= MAX_HEAD_BYTES:
                    data = await stream.receive_some(MAX_HEAD_BYTES)
                    if not data:
                        break
                    buf += data
                    end = head_end(buf)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        if not buf or (end < 0 and len(buf) <= MAX_HEAD_BYTES):
            # Closed or too slow before sending a whole head: nothing to answer.
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()
            return
        head = parse_head(bytes(buf[:end])) if end > 0 else None
        if head is not None and head.path == SSE_PATH and end == len(buf):
            await serve_sse_socket(self.service, stream, head)
            return
        server = TCPServer(
            self.app,
            self.config,
            self.context,
            ConnectionState(self.lifespan_state.copy()),
            PrefixedStream(stream, bytes(buf)),  # type: ignore[arg-type]
        )
        await server.run()


async def serve(
    service: SpotlightService,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the server until ``shutdown_trigger`` returns; ``started`` gets the base URL."""
    s = service.settings
    config = hypercorn_config(service)
    router = _Router(service, config, wrap_app(SpotlightApp(service), 16 * 1024 * 1024, "asgi"))
    lifespan = Lifespan(router.app, config, router.lifespan_state)
    with listen_socket(
        s.host, s.port, s.backlog, s.tcp_user_timeout_ms, reuse_port=s.reuse_port
    ) as sock:
        host, port = sock.getsockname()[:2]
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        listener = trio.SocketListener(trio.socket.from_stdlib_socket(sock))
        # The service runs here, not in Quart's lifespan nursery: hypercorn logs and ignores
        # a lifespan task that fails after start-up, which would leave the server answering
        # with no market behind it. Here an escalation cancels everything and serve() raises.
        async with trio.open_nursery() as root:
            await root.start(service.run)
            async with trio.open_nursery() as lifespan_nursery:
                await lifespan_nursery.start(lifespan.handle_lifespan)
                await lifespan.wait_for_startup()
                async with trio.open_nursery() as connections:
                    accepting = trio.CancelScope()
                    connections.start_soon(_accept, listener, router.handle, connections, accepting)
                    task_status.started(url)
                    if shutdown_trigger is None:
                        await trio.sleep_forever()
                    await shutdown_trigger()
                    accepting.cancel()
                    told = service.begin_shutdown()
                    log.info(
                        "shutdown: %d streams told to reconnect; grace %.1fs",
                        told,
                        config.graceful_timeout,
                    )
                    await router.context.terminated.set()
                    connections.cancel_scope.deadline = (
                        trio.current_time() + config.graceful_timeout
                    )
                await lifespan.wait_for_shutdown()
                lifespan_nursery.cancel_scope.cancel()
            root.cancel_scope.cancel()


async def _accept(
    listener: trio.SocketListener,
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    nursery: trio.Nursery,
    scope: trio.CancelScope,
) -> None:
    # serve_listeners retries EMFILE/ENFILE/ENOBUFS/ENOMEM after 100 ms and runs each
    # connection in ``nursery``, so connections outlive the accept loop's cancellation.
    with scope:
        await trio.serve_listeners(handler, [listener], handler_nursery=nursery)
