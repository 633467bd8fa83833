"""Serve Spotlight: our listening socket, our connection router, hypercorn for HTTP.

Why our own socket (trio-stack-notes.md):
- ``backlog``: hypercorn's default of 100 drops SYNs during reconnect storms.
- ``TCP_USER_TIMEOUT``: the kernel gives up on a peer that stopped acknowledging data.

Why our own router: each new connection's first request head is read here. A stream
(``GET /realtime/sse``, or a WebSocket upgrade to a raw endpoint such as ``/ws/prices``) is
served directly on the socket (``web/sse_socket.py``, ``web/ws_socket.py``), which is ~10x
cheaper per write than going through Quart/hypercorn/h11 and is what lets one burst reach
1,000 clients within milliseconds. Every other connection is handed to hypercorn's own
connection handler (``TCPServer``) with the bytes already read, so HTTP, keep-alive and
errors are hypercorn's job, unchanged. A WebSocket upgrade that arrives later on such a
keep-alive connection is taken back from hypercorn (``TakeoverStream``: hypercorn's reads
are parked, its writes dropped, the socket is ours until the stream ends), so every
WebSocket runs on the raw path. This mirrors ``hypercorn.trio.run.worker_serve`` (lifespan,
then connections, then graceful shutdown) and uses its building blocks; the tests run
through this exact function.

Shutdown (``shutdown_trigger`` returns; SIGINT/SIGTERM in ``__main__``): streaming clients
are told to reconnect (``shutdown`` event), new connections stop, hypercorn's keep-alive
connections close, and whatever is left gets ``shutdown_grace_s`` before it is cancelled.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import trio
from hypercorn.config import Config
from hypercorn.events import Updated
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState, LifespanState
from hypercorn.utils import wrap_app

from spotlight.clients.connections import Connection, ConnectionTable, Refusal
from spotlight.protocol.http_head import MAX_HEAD_BYTES, RequestHead, head_end, parse_head
from spotlight.runtime.boundary import contain, kind_of
from spotlight.service import SpotlightService
from spotlight.web.app import WS_ENDPOINTS, SpotlightApp
from spotlight.web.errors import ApiError
from spotlight.web.sse_socket import error_response, serve_sse_socket
from spotlight.web.stream_request import SSE_PATH
from spotlight.web.ws_socket import serve_ws_socket
from spotlight.web.ws_voice import VOICE_PATH

__all__ = ["PrefixedStream", "TakeoverStream", "listen_socket", "serve"]

log = logging.getLogger(__name__)

# Refused connections draining their answer at once, and for how long each may.
MAX_REFUSING = 64
REFUSAL_DRAIN_S = 1.0
# hypercorn's own error response (h11 could not parse the request): a 4xx/5xx head with an
# empty body that closes the connection (h11 may move the Connection header to the end).
_BARE_ERROR = re.compile(rb"HTTP/1\.1 [45][0-9][0-9] [^\r]*\r\ncontent-length: 0\r\n")


def _bare_error(data: bytes | bytearray | memoryview) -> bool:
    raw = bytes(data[:512])
    head = raw.lower()
    return (
        _BARE_ERROR.match(raw) is not None
        and head.endswith(b"\r\n\r\n")
        and b"\r\nconnection: close\r\n" in head
        and b"content-type" not in head
    )


_PROTOCOL_ERRORS = {
    400: ("bad_request", "the request could not be parsed as HTTP/1.1"),
    408: ("request_timeout", "the request did not arrive in time"),
    413: ("too_large", "the request is too large"),
    431: ("headers_too_large", "the request head is over 16 KB"),
}
# A CR not followed by LF, or an LF not preceded by CR, inside a request head.
_BARE_LINE_END = re.compile(rb"\r(?!\n)|(?<!\r)\n")
# accept() errors that mean "out of resources" rather than a broken listener.
_ACCEPT_CAPACITY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


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
    config.graceful_timeout = service.settings.server.shutdown_grace_s
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    # Fires now that a response's last send is shielded (web/http_guard.finish_shielded).
    config.keep_alive_timeout = service.settings.server.keepalive_s
    config.backlog = service.settings.server.backlog
    # Every WebSocket endpoint runs on the raw path (web/ws_socket.py), which pings, bounds
    # messages and closes dead peers itself; these only matter if one ever reached hypercorn.
    config.websocket_ping_interval = 20.0
    config.websocket_max_message_size = 1 << 20
    return config


class PrefixedStream(trio.abc.HalfCloseableStream):
    """A socket stream that first replays bytes the router already read (for hypercorn).

    Writes are serialized, and nothing is written after our FIN: hypercorn sends its error
    response for trailing garbage (h11's "Got data when expecting EOF") from its reader task
    while its closing step, in another task, is inside ``send_eof``; on a bare
    ``SocketStream`` that second writer raised ``BusyResourceError``, which hypercorn does not
    catch (found by tests/faults/test_generated_input.py). After the FIN there is nobody to
    answer: such a write is dropped."""

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix
        self.socket = stream.socket  # hypercorn reads peer and local addresses from it
        self._writing = trio.Lock()
        self._eof_sent = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            n = len(self._prefix) if max_bytes is None else max_bytes
            data, self._prefix = self._prefix[:n], self._prefix[n:]
            await trio.lowlevel.checkpoint()
            return data
        return bytes(await self._stream.receive_some(max_bytes))

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        async with self._writing:
            if self._eof_sent:
                return
            await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        async with self._writing:
            if not self._eof_sent:
                self._eof_sent = True
                await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()


class TakeoverStream(PrefixedStream):
    """hypercorn's view of a keep-alive connection that a WebSocket endpoint can take back.

    ``take`` (from the ASGI app, on an upgrade to a raw endpoint) stops hypercorn's pending
    read without consuming anything (Trio's ``receive_some`` is cancel-safe), detaches the
    socket and returns it. From then on hypercorn's reads wait and its writes are dropped (the
    upgrade's answer is written by the endpoint itself); ``release`` at the stream's end
    gives hypercorn an EOF, so its connection task ends as after any client close.
    """

    def __init__(
        self,
        stream: trio.SocketStream,
        prefix: bytes,
        conn: Connection | None = None,
        on_reset: Callable[[BaseException], None] | None = None,
        on_response: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(stream, prefix)
        self.conn = conn  # its entry in the connection table
        # hypercorn treats a reset as a close and says nothing: it is counted here; and so
        # are its own error responses (the app's are counted in the app).
        self._on_reset = on_reset
        self._on_response = on_response
        self._taken = False
        self._reading: trio.CancelScope | None = None
        self._idle = trio.Event()  # no hypercorn read in flight
        self._idle.set()
        self._released = trio.Event()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if not self._taken:
            if self._prefix:
                return await super().receive_some(max_bytes)
            self._idle = trio.Event()
            try:
                with trio.CancelScope() as self._reading:
                    return await super().receive_some(max_bytes)
            except trio.BrokenResourceError as exc:
                self._reset(exc)
                raise
            finally:
                self._reading = None
                self._idle.set()
        await self._released.wait()
        return b""

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self._taken:
            await trio.lowlevel.checkpoint()
            return
        if data[:9] == b"HTTP/1.1 " and _bare_error(data):
            data = self._json_error(bytes(data))
        try:
            await super().send_all(data)
        except trio.BrokenResourceError as exc:
            self._reset(exc)
            raise

    def _json_error(self, head: bytes) -> bytes:
        """hypercorn answers a request it cannot parse (h11's 400, 431 for a head over its
        limit, ...) with an empty body; ours is the documented JSON shape."""
        status = int(head[9:12])
        error, detail = _PROTOCOL_ERRORS.get(
            status, ("bad_request", "the request could not be parsed as HTTP/1.1")
        )
        body = orjson.dumps({"error": error, "detail": detail})
        if self._on_response is not None:
            self._on_response(status)
        head = head.replace(
            b"\r\ncontent-length: 0\r\n",
            b"\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % len(body),
            1,
        )
        return head + body

    def _reset(self, exc: trio.BrokenResourceError) -> None:
        """The peer reset the connection (hypercorn takes it as a close): count it once."""
        if self._on_reset is not None:
            on_reset, self._on_reset = self._on_reset, None
            on_reset(exc.__cause__ or exc)

    async def send_eof(self) -> None:
        if self._taken:
            await trio.lowlevel.checkpoint()
            return
        await super().send_eof()

    async def aclose(self) -> None:
        if self._taken:
            await trio.lowlevel.checkpoint()
            return
        await super().aclose()

    async def take(self) -> socket.socket:
        self._taken = True
        if self._reading is not None:
            self._reading.cancel()
        await self._idle.wait()
        sock = socket.socket(fileno=self._stream.socket.detach())
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def release(self) -> None:
        self._released.set()


class _Router:
    def __init__(self, service: SpotlightService, config: Config) -> None:
        self.service = service
        self.config = config
        self.app = wrap_app(SpotlightApp(service, self.take_over), 16 * 1024 * 1024, "asgi")
        self.context = WorkerContext(None)
        self.lifespan_state: LifespanState = {}
        # hypercorn's keep-alive connections by peer address, for WebSocket take-overs.
        self._kept: dict[tuple[str, int], TakeoverStream] = {}
        self.table = service.connections
        self.refusing = [0]  # refusals draining right now

    async def take_over(self, peer: tuple[str, int], head: RequestHead, path: str) -> bool:
        """Serve a WebSocket upgrade that arrived on a hypercorn connection on the raw path.
        False when the connection is not ours to take (the app then refuses the upgrade)."""
        kept = self._kept.get(peer)
        if kept is None:
            return False
        sock = await kept.take()
        if kept.conn is not None:
            self.table.set_state(kept.conn, "stream")
        endpoint = WS_ENDPOINTS[path]
        try:
            with contain(lambda: (_endpoint_name(path), peer[0]), self.table.report):
                await serve_ws_socket(self.service, sock, head, endpoint)
        finally:
            trio.lowlevel.notify_closing(sock)
            sock.close()
            kept.release()
        return True

    async def handle(self, stream: trio.SocketStream) -> None:
        """One connection, from accept to close: admitted against the caps, then routed and
        served behind its failure boundary (runtime/boundary.py), so nothing it raises
        reaches the server; an eviction cancels it."""
        address = _peer_host(stream)
        admitted = self.table.admit(address)
        if isinstance(admitted, Refusal):
            self.service.metrics.http_responses.labels(str(admitted.status)).inc()
            await _refuse(stream, admitted, self.refusing)
            return
        conn = admitted
        try:
            with conn.scope, contain(conn.describe, self.table.report):
                # Routing returns the connection's coroutine, not yet started: nothing of the
                # request (the head's bytes, the parsed head) is held here while it runs.
                serve = await self._route(stream, conn)
                if serve is not None:
                    await serve
        finally:
            self.table.release(conn)
            if conn.state == "evicted":
                with trio.CancelScope(shield=True), trio.move_on_after(1):
                    await stream.aclose()

    async def _route(self, stream: trio.SocketStream, conn: Connection) -> Awaitable[None] | None:
        """Read the first request head and pick the connection's path. A reset meanwhile
        propagates to the failure boundary (counted as ``head``); a head that does not arrive
        within ``SPOTLIGHT_REQUEST_TIMEOUT_S`` is counted as a ``head`` ``timeout``."""
        buf = bytearray()
        end = -1
        timeout = self.service.settings.server.request_timeout_s
        with trio.move_on_after(timeout) as waiting:
            while end < 0 and len(buf) <= MAX_HEAD_BYTES:
                data = await stream.receive_some(MAX_HEAD_BYTES)
                if not data:
                    break
                buf += data
                end = head_end(buf)
        if not buf or (end < 0 and len(buf) <= MAX_HEAD_BYTES):
            # Closed or too slow before sending a whole head: nothing to answer.
            if waiting.cancelled_caught:
                slow = TimeoutError(f"no complete request head within {timeout:g} s")
                self.table.report("head", "timeout", conn.address, [slow])
            with trio.CancelScope(shield=True), trio.move_on_after(1):
                await stream.aclose()
            return None
        if end > 0 and _BARE_LINE_END.search(buf, 0, end):
            # A lone CR or LF in the head: parsers disagree on where such a head ends (the
            # stuff of request smuggling), so it is refused here, before anyone parses it.
            self._routed(conn, "http", "http")
            return self._bad_head(stream)
        head = parse_head(bytes(buf[:end])) if end > 0 else None
        if head is not None and head.path == SSE_PATH and end == len(buf):
            self._routed(conn, "sse", "stream")
            return serve_sse_socket(self.service, stream, head)
        if head is not None and head.path in WS_ENDPOINTS:
            self._routed(conn, _endpoint_name(head.path), "stream")
            return self._serve_ws(stream, head, bytes(buf[:end]), bytes(buf[end:]))
        self._routed(conn, "http", "http")
        return self._serve_http(stream, bytes(buf), conn)

    async def _bad_head(self, stream: trio.SocketStream) -> None:
        err = ApiError(
            400, "bad_request", "request lines end with CRLF; a lone CR or LF is refused"
        )
        self.service.metrics.http_responses.labels("400").inc()
        await stream.send_all(error_response(err, []))
        with trio.move_on_after(1):
            await stream.send_eof()
            while await stream.receive_some(65536):
                pass

    def _routed(self, conn: Connection, endpoint: str, state: str) -> None:
        conn.endpoint = endpoint
        self.table.set_state(conn, state)

    async def _serve_http(self, stream: trio.SocketStream, prefix: bytes, conn: Connection) -> None:
        kept = TakeoverStream(
            stream,
            prefix,
            conn,
            on_reset=lambda exc: self.table.report("http", kind_of([exc]), conn.address, [exc]),
            on_response=lambda status: self.service.metrics.http_responses.labels(
                str(status)
            ).inc(),
        )
        del prefix  # kept holds it until hypercorn has read it
        peer = _peer(stream)
        if peer is not None:
            self._kept[peer] = kept
        try:
            server = _TCPServer(
                self.app,
                self.config,
                self.context,
                ConnectionState(self.lifespan_state.copy()),
                kept,
                on_idle=lambda idle: self.table.set_state(conn, "idle" if idle else "http"),
            )
            await server.run()
        finally:
            if peer is not None and self._kept.get(peer) is kept:
                del self._kept[peer]

    async def _serve_ws(
        self, stream: trio.SocketStream, head: RequestHead, raw: bytes, trailing: bytes
    ) -> None:
        sock = socket.socket(fileno=stream.socket.detach())
        sock.setblocking(False)
        # As for SSE: small writes (a pong, a heartbeat) must not wait for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            endpoint = WS_ENDPOINTS[head.path]
            serve = serve_ws_socket(self.service, sock, head, endpoint, raw=raw, trailing=trailing)
            del head, raw, trailing  # the stream's coroutine drops them once the upgrade is done
            await serve
        finally:
            trio.lowlevel.notify_closing(sock)
            sock.close()


class _TCPServer(TCPServer):
    """hypercorn's connection handler, telling the connection table when the connection is
    idle (keep-alive, between requests: evictable at a cap) or serving a request."""

    def __init__(self, *args: Any, on_idle: Callable[[bool], None]) -> None:
        super().__init__(*args)
        self._on_idle = on_idle

    async def protocol_send(self, event: Any) -> None:
        if isinstance(event, Updated):
            self._on_idle(event.idle)
        await super().protocol_send(event)


def _endpoint_name(path: str) -> str:
    """The failure metrics' endpoint label of a WebSocket path."""
    return "voice" if path == VOICE_PATH else "ws"


async def _refuse(stream: trio.SocketStream, refusal: Refusal, refusing: list[int]) -> None:
    """Tell a connection it was not admitted, without waiting on it: one non-blocking send
    (a fresh socket's buffer has room), our FIN, then a short drain so the close does not
    reset the answer away. At most ``MAX_REFUSING`` drain at once; past that, a plain close."""
    sock = stream.socket
    try:
        await sock.send(refusal.response())
        sock.shutdown(socket.SHUT_WR)
        if refusing[0] < MAX_REFUSING:
            refusing[0] += 1
            try:
                with trio.move_on_after(REFUSAL_DRAIN_S):
                    while await sock.recv(4096):
                        pass
            finally:
                refusing[0] -= 1
    except OSError:
        pass
    finally:
        sock.close()


async def serve(
    service: SpotlightService,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the server until ``shutdown_trigger`` returns; ``started`` gets the base URL."""
    s = service.settings
    config = hypercorn_config(service)
    router = _Router(service, config)
    lifespan = Lifespan(router.app, config, router.lifespan_state)
    with listen_socket(
        s.server.host,
        s.server.port,
        s.server.backlog,
        s.server.tcp_user_timeout_ms,
        reuse_port=s.server.reuse_port,
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
                    connections.start_soon(
                        _accept, listener, router.handle, connections, accepting, router.table
                    )
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


def _peer_host(stream: trio.SocketStream) -> str:
    try:
        peer = stream.socket.getpeername()
    except OSError:
        return "?"
    return str(peer[0]) if isinstance(peer, tuple) else str(peer or "local")


def _peer(stream: trio.SocketStream) -> tuple[str, int] | None:
    try:
        host, port = stream.socket.getpeername()[:2]
    except OSError:
        return None
    return str(host), int(port)


async def _accept(
    listener: trio.SocketListener,
    handler: Callable[[trio.SocketStream], Awaitable[None]],
    nursery: trio.Nursery,
    scope: trio.CancelScope,
    table: ConnectionTable,
) -> None:
    """Accept connections into ``nursery`` (so they outlive this loop's cancellation). When
    accept runs out of descriptors or memory, the oldest idle connection is closed to make
    room, the failure is counted and logged at most every 10 s (never a storm), and the loop
    waits 100 ms before trying again."""
    with scope:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _ACCEPT_CAPACITY_ERRNOS:
                    raise
                table.accept_failed(exc)
                table.evict_idle()
                await trio.sleep(0.1)
                continue
            nursery.start_soon(handler, stream)
