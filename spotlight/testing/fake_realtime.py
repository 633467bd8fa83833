"""A fake realtime voice provider (the OpenAI Realtime protocol over WebSocket) for tests
and demos, with fault injection. Plain ``ws://127.0.0.1``; nothing leaves the machine.

It plays a scripted model: it cannot hear, so the trader's words are ``transcript`` (set
per test; a typed question is its own transcript). Per question:

1. ``input_audio_buffer.append``/``commit`` (or a user text item) and ``response.create``:
   the audio is kept (``audio_in``), the transcript is reported
   (``conversation.item.input_audio_transcription.completed``), and the response calls the
   tool the words ask for (``tool_for``: price, levels, gamma, regime, setups, flow), as a
   ``function_call`` item with a fresh ``call_id``, then ``response.done``;
2. ``conversation.item.create`` ``function_call_output`` with that ``call_id`` (any other is
   an ``error`` event), then ``response.create``: the answer, spoken from the tool's output
   (``SPY is at 585.5``), as transcript deltas and ``audio_chunks`` audio deltas (a tone),
   ``delta_interval_s`` apart, then ``response.done``. ``response.cancel`` stops it there
   (``status: cancelled``).

``fault``: ``None``; ``"unauthorized"`` (the handshake is refused with 401, as for a bad key;
a configured ``key`` is also checked); ``"reject"`` (503); ``"stall"`` (the answer never
comes); ``"drop"`` (the connection closes after two audio deltas of the answer);
``"error"`` (an ``error`` event instead of the answer). ``received`` lists every event type
received, ``outputs`` every (call_id, output) pair, ``connections`` the handshakes.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

__all__ = ["FakeRealtime", "tool_for"]

TONE_HZ, RATE = 440.0, 24_000


def tool_for(words: str) -> tuple[str, dict[str, Any]]:
    """The tool a scripted model calls for ``words``."""
    w = words.lower()
    symbol = "SPY" if "spy" in w else "QQQ" if "qqq" in w else "SPX"
    for keys, name in (
        (("gamma", "flip", "wall", "gex"), "get_gex"),
        (("regime",), "get_regime"),
        (("setup",), "get_setups"),
        (("flow",), "get_flow"),
        (("level", "vwap"), "get_levels"),
    ):
        if any(k in w for k in keys):
            return name, (
                {"underlying": "SPY" if symbol == "SPY" else "SPX"} if name == "get_gex" else {}
            )
    return "get_price", {"symbol": symbol}


def _tone(ms: int) -> bytes:
    n = RATE * ms // 1000
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * TONE_HZ * i / RATE))) for i in range(n)
    )


def _spoken(name: str, output: dict[str, Any]) -> str:
    if not output.get("ok"):
        return f"Sorry, {output.get('detail', 'that is not available')}."
    if name == "get_price":
        return f"{str(output['symbol']).removeprefix('I:')} is at {output['price']}."
    if name == "get_gex":
        flip, wall = output.get("flip"), output.get("callWall")
        return f"The gamma flip is at {flip} and the call wall at {wall}."
    if name == "get_regime":
        return f"The regime is {output.get('label')}."
    return f"{name} answered with {len(output)} fields."


@dataclass
class FakeRealtime:
    transcript: str = "what is the price of SPY"
    key: str | None = None
    fault: str | None = None
    audio_chunks: int = 5
    delta_interval_s: float = 0.02
    url: str = ""
    received: list[str] = field(default_factory=list)
    outputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    audio_in: bytearray = field(default_factory=bytearray)
    connections: list[dict[str, str]] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def serve(
        self, *, task_status: trio.TaskStatus[FakeRealtime] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on 127.0.0.1 (any port) until cancelled; ``url`` is set when started."""
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_websocket, self._handle, "127.0.0.1", 0, None)
            self.url = f"ws://127.0.0.1:{server.port}/v1/realtime?model=fake"
            task_status.started(self)

    async def _handle(self, request: WebSocketRequest) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in request.headers}
        self.connections.append(headers)
        if self.fault == "unauthorized" or (
            self.key is not None and headers.get("authorization") != f"Bearer {self.key}"
        ):
            body = b'{"error": {"type": "invalid_request_error", "code": "invalid_api_key"}}'
            await request.reject(401, body=body)
            return
        if self.fault == "reject":
            await request.reject(503, body=b"overloaded")
            return
        ws = await request.accept()
        with contextlib.suppress(ConnectionClosed):
            await self._session(ws)

    async def _send(self, ws: WebSocketConnection, event: dict[str, Any]) -> None:
        await ws.send_message(orjson.dumps(event).decode())

    async def _session(self, ws: WebSocketConnection) -> None:
        await self._send(ws, {"type": "session.created", "session": {"id": "sess_fake"}})
        words, answered = "", False
        pending_calls: dict[str, str] = {}  # call_id -> tool name
        tool = ""
        while True:
            event = orjson.loads(await ws.get_message())
            kind = event["type"]
            self.received.append(kind)
            if kind == "session.update":
                self.tools = [t["name"] for t in event["session"].get("tools", [])]
                await self._send(ws, {"type": "session.updated", "session": event["session"]})
            elif kind == "input_audio_buffer.append":
                self.audio_in += base64.b64decode(event["audio"])
            elif kind == "input_audio_buffer.commit":
                words, answered = self.transcript, False
                await self._send(ws, {"type": "input_audio_buffer.committed", "item_id": "item_in"})
                await self._send(
                    ws,
                    {
                        "type": "conversation.item.input_audio_transcription.completed",
                        "item_id": "item_in",
                        "transcript": words,
                    },
                )
            elif kind == "conversation.item.create":
                item = event["item"]
                if item["type"] == "message":
                    words, answered = item["content"][0]["text"], False
                elif item["type"] == "function_call_output":
                    name = pending_calls.pop(item["call_id"], None)
                    if name is None:
                        await self._error(
                            ws, "invalid_call_id", f"no function call {item['call_id']!r}"
                        )
                        continue
                    self.outputs.append((item["call_id"], orjson.loads(item["output"])))
                    tool, answered = name, True
            elif kind == "response.create":
                rid = f"resp_{next(self._ids)}"
                await self._send(ws, {"type": "response.created", "response": {"id": rid}})
                if not answered:
                    name, args = tool_for(words)
                    call_id = f"call_{next(self._ids)}"
                    pending_calls[call_id] = name
                    item = {
                        "type": "function_call",
                        "call_id": call_id,
                        "name": name,
                        "arguments": orjson.dumps(args).decode(),
                    }
                    await self._send(
                        ws, {"type": "response.output_item.done", "response_id": rid, "item": item}
                    )
                    await self._send(
                        ws,
                        {
                            "type": "response.done",
                            "response": {"id": rid, "status": "completed", "output": [item]},
                        },
                    )
                elif not await self._answer(ws, rid, tool):
                    return
            elif kind == "response.cancel":
                await self._error(ws, "response_cancel_not_active", "no active response")

    async def _answer(self, ws: WebSocketConnection, rid: str, tool: str) -> bool:
        """The spoken answer; False when the connection was dropped (fault)."""
        if self.fault == "stall":
            await trio.sleep_forever()
        if self.fault == "error":
            await self._error(ws, "server_error", "the fake model failed")
            return True
        text = _spoken(tool, self.outputs[-1][1])
        words = text.split(" ")
        tone = _tone(100)
        for i in range(self.audio_chunks):
            with trio.move_on_after(self.delta_interval_s):
                kind = orjson.loads(await ws.get_message())["type"]
                self.received.append(kind)
                if kind == "response.cancel":
                    await self._send(
                        ws,
                        {"type": "response.done", "response": {"id": rid, "status": "cancelled"}},
                    )
                    return True
            if self.fault == "drop" and i == 2:
                await ws.aclose(1011, "fake: dropped")
                return False
            piece = " ".join(
                words[
                    i * len(words) // self.audio_chunks : (i + 1) * len(words) // self.audio_chunks
                ]
            )
            await self._send(
                ws,
                {
                    "type": "response.audio_transcript.delta",
                    "response_id": rid,
                    "delta": piece + " ",
                },
            )
            await self._send(
                ws,
                {
                    "type": "response.audio.delta",
                    "response_id": rid,
                    "delta": base64.b64encode(tone).decode(),
                },
            )
        await self._send(
            ws, {"type": "response.audio_transcript.done", "response_id": rid, "transcript": text}
        )
        await self._send(
            ws, {"type": "response.done", "response": {"id": rid, "status": "completed"}}
        )
        return True

    async def _error(self, ws: WebSocketConnection, code: str, message: str) -> None:
        await self._send(
            ws,
            {
                "type": "error",
                "error": {"type": "invalid_request_error", "code": code, "message": message},
            },
        )
