"""The comparison's Python peer: Starlette on uvicorn, SSE through sse-starlette, WebSocket
through uvicorn's websockets (sans-I/O) protocol. Run by bench/compare.py from its own venv
(bench/peers/.venv-uvicorn, pinned in requirements-uvicorn.txt); never imported by Spotlight.

    bench/peers/.venv-uvicorn/bin/python bench/peers/uvicorn_peer.py --port 8001 --rate 20

What a competent engineer would deploy for "one stream, fanned out": uvicorn with uvloop and
httptools (``uvicorn[standard]``), one asyncio task publishing R events/s, one bounded queue
per client, and each client's own task writing its queue out, one send per event, the way
the libraries' documentation shows. Same endpoints and message shapes as Spotlight:

- ``GET /realtime/sse``: ``retry: 2000``, then ``id: <epoch>:<seq>`` / ``event: tick`` frames;
  sse-starlette's keep-alive ping is an ``event: heartbeat`` every 10 s, as Spotlight's is.
- ``/ws/prices``: after a ``{"type": "subscribe", ...}`` message, a ``snapshot`` then
  ``{"type": "tick", "seq", "id", "payload"}`` messages, and a ``heartbeat`` every 10 s;
  uvicorn's protocol pings every 20 s (its default), as Spotlight does.
- ``GET /health`` and ``GET /stats`` (``{"published": n, "sse": n, "ws": n}``).

Events are Spotlight's tick (``{"s", "p", "v", "t"}``) with the bid and ask added, ~140
bytes as a WebSocket message: the mean size of Spotlight's mixed tick/quote/bar stream. ``t``
is the publish time (integer Unix ms), which the measuring client turns into latency.
Publishing: ``--burst-ms 1`` spaces the R events evenly; a larger value publishes the events
due every ``burst-ms`` together (still one write per event per client).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

# The peer's libraries live in its own venv, not in the one mypy checks with.
import uvicorn  # type: ignore[import-not-found]
from sse_starlette.sse import EventSourceResponse, ServerSentEvent  # type: ignore[import-not-found]
from starlette.applications import Starlette  # type: ignore[import-not-found]
from starlette.requests import Request  # type: ignore[import-not-found]
from starlette.responses import JSONResponse, PlainTextResponse  # type: ignore[import-not-found]
from starlette.routing import Route, WebSocketRoute  # type: ignore[import-not-found]
from starlette.websockets import WebSocket, WebSocketDisconnect  # type: ignore[import-not-found]

# A client's queue holds at most this many events (~1 MiB of ~140-byte events, Spotlight's
# default SPOTLIGHT_CLIENT_QUEUE_BYTES); a client that falls that far behind is cut off.
QUEUE_EVENTS = 8192
HEARTBEAT_S = 10.0  # Spotlight's SPOTLIGHT_HEARTBEAT_S default
RETRY_MS = 2000  # Spotlight's SPOTLIGHT_RETRY_MS default
MAX_COMMAND_BYTES = 16 * 1024  # Spotlight refuses larger client messages too


class Stream:
    """One published stream and its subscribers' queues (``None`` in a queue: cut off)."""

    def __init__(self, rate: float, burst_ms: float) -> None:
        self.rate = rate
        self.burst_ms = burst_ms
        self.epoch = secrets.token_hex(6)
        self.seq = 0
        self.price = 598.41
        self.last: str | None = None
        self.sse: set[asyncio.Queue[ServerSentEvent | None]] = set()
        self.ws: set[asyncio.Queue[str | None]] = set()

    def _offer(self, q: asyncio.Queue[Any], item: object) -> None:
        try:
            q.put_nowait(item)
        except asyncio.QueueFull:  # too slow: drop what it has queued and cut it off
            while not q.empty():
                q.get_nowait()
            q.put_nowait(None)
            self.sse.discard(q)
            self.ws.discard(q)

    def publish(self) -> None:
        self.seq += 1
        self.price = round(self.price + (0.01 if self.seq % 3 else -0.02), 2)
        t = time.time_ns() // 1_000_000
        bid, ask = round(self.price - 0.01, 2), round(self.price + 0.01, 2)
        payload = json.dumps(
            {"s": "SPY", "p": self.price, "v": 100.0, "b": bid, "a": ask, "t": t},
            separators=(",", ":"),
        )
        eid = f"{self.epoch}:{self.seq}"
        self.last = payload
        event = ServerSentEvent(data=payload, event="tick", id=eid)
        message = f'{{"type":"tick","seq":{self.seq},"id":"{eid}","payload":{payload}}}'
        for q in list(self.sse):
            self._offer(q, event)
        for w in list(self.ws):
            self._offer(w, message)

    def heartbeat(self) -> None:
        message = json.dumps({"type": "heartbeat", "seq": self.seq, "payload": {}})
        for w in list(self.ws):
            self._offer(w, message)

    async def run(self) -> None:
        """R events/s on the wall clock: each wake-up publishes every event due by then."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        if self.rate <= 0:  # idle (the RSS measurement): heartbeats only
            period = 1.0
        elif self.burst_ms > 1:
            period = self.burst_ms / 1000.0
        else:
            period = 1.0 / self.rate
        published, wake = 0, 0
        last_heartbeat = start
        while True:
            wake += 1
            await asyncio.sleep(max(0.0, start + wake * period - loop.time()))
            now = loop.time()
            due = math.floor((now - start) * self.rate)
            for _ in range(due - published):
                self.publish()
            published = due
            if now - last_heartbeat >= HEARTBEAT_S:
                last_heartbeat = now
                self.heartbeat()


def make_app(stream: Stream) -> Starlette:
    async def sse(request: Request) -> EventSourceResponse:
        q: asyncio.Queue[ServerSentEvent | None] = asyncio.Queue(QUEUE_EVENTS)
        stream.sse.add(q)

        async def events() -> AsyncIterator[ServerSentEvent]:
            try:
                yield ServerSentEvent(retry=RETRY_MS)
                while (item := await q.get()) is not None:
                    yield item
            finally:
                stream.sse.discard(q)

        return EventSourceResponse(
            events(),
            ping=HEARTBEAT_S,
            ping_message_factory=lambda: ServerSentEvent(event="heartbeat", data="{}"),
            headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
        )

    async def ws_prices(websocket: WebSocket) -> None:
        await websocket.accept()
        q: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_EVENTS)
        try:
            while True:  # until a subscribe to SPY
                raw = await websocket.receive_text()
                try:
                    cmd = json.loads(raw) if len(raw) <= MAX_COMMAND_BYTES else None
                except ValueError:
                    cmd = None
                if isinstance(cmd, dict) and cmd.get("type") == "subscribe":
                    break
                error = {"error": "bad_command", "detail": 'send {"type": "subscribe", ...}'}
                await websocket.send_text(
                    json.dumps({"type": "error", "seq": stream.seq, "payload": error})
                )
            snapshot = {"symbols": {"SPY": {"trade": stream.last}}, "timeframe": "1m"}
            await websocket.send_text(
                json.dumps({"type": "snapshot", "seq": stream.seq, "payload": snapshot})
            )
            stream.ws.add(q)
            async with asyncio.TaskGroup() as tg:
                reader = tg.create_task(_read_until_closed(websocket))
                while (item := await q.get()) is not None:
                    await websocket.send_text(item)
                reader.cancel()
                await websocket.close(4008, "slow")  # Spotlight's close code for slow-bytes
        except* WebSocketDisconnect:
            pass
        finally:
            stream.ws.discard(q)

    async def health(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse({"published": stream.seq, "sse": len(stream.sse), "ws": len(stream.ws)})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(stream.run())
        yield
        task.cancel()

    return Starlette(
        routes=[
            Route("/realtime/sse", sse),
            WebSocketRoute("/ws/prices", ws_prices),
            Route("/health", health),
            Route("/stats", stats),
        ],
        lifespan=lifespan,
    )


async def _read_until_closed(websocket: WebSocket) -> None:
    """Commands after the subscribe are read and ignored; a disconnect ends the stream."""
    while True:
        await websocket.receive_text()


def main() -> None:
    p = argparse.ArgumentParser(description="uvicorn + sse-starlette + websockets peer")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--rate", type=float, required=True, help="events/s (0: none)")
    p.add_argument("--burst-ms", type=float, default=1.0)
    a = p.parse_args()
    stream = Stream(a.rate, a.burst_ms)
    uvicorn.run(
        make_app(stream),
        host="127.0.0.1",
        port=a.port,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        ws_max_size=MAX_COMMAND_BYTES,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
