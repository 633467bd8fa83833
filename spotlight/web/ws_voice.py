"""``/voice/ws``: the voice coach's WebSocket (docs/voice.md), on the shared raw-socket
transport (``web/ws_socket.py``): the same access gate (session cookie or stream token, and
the Origin check), the same stream state and writer as ``/ws/prices``.

What this endpoint adds, all through the transport's general hooks:

- binary frames out: answer audio as PCM16 frames, sent with ``Stream.send_droppable`` under
  a 256 KB budget (``voice/coach.py`` ``OUT_BUFFER_BYTES``): past it audio is dropped, never a
  control message, and the client is told how much (``audio.dropped``);
- its own keep-alive: a ping every ``SPOTLIGHT_VOICE_PING_S`` (5 s), closed (``idle``, 4010)
  after ``SPOTLIGHT_VOICE_IDLE_S`` (15 s) of silence;
- inbound limits that answer instead of closing: a message over 64 KiB is skipped and
  answered with ``frame_too_large``; past 100 messages a second the rest are dropped and the
  client is told once (``rate_limited``);
- no hub subscription: the coach reads the feed (live, or ``?replay=<id>``) through its tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spotlight.clients.stream import Stream
from spotlight.config import Settings
from spotlight.engine.feed import Feed
from spotlight.hub.event import WS_BINARY, ws_frame
from spotlight.service import SpotlightService
from spotlight.voice.coach import OUT_BUFFER_BYTES
from spotlight.voice.conversation import Conversation
from spotlight.web.params import feed_param
from spotlight.web.ws_socket import Handler, WSEndpoint

__all__ = ["VOICE", "VOICE_PATH"]

VOICE_PATH = "/voice/ws"
# One binary frame of audio is ~100 ms (4,800 bytes); a client's frames are of that order.
# 64 KiB (~1.4 s) is far above any honest frame and small enough that a mistaken one costs
# nothing: it is skipped as it arrives and answered with an error.
MAX_FRAME_BYTES = 64 * 1024
# 100 ms audio frames are 10 a second, 20 ms ones 50; control messages are a handful.
MAX_MESSAGES_PER_S = 100


class _StreamOut:
    """The conversation's way out, on the stream."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def control(self, type: str, payload: dict[str, Any]) -> None:
        if not self.stream.done:
            self.stream.send_control(type, payload)

    def audio(self, pcm: bytes) -> bool:
        return self.stream.send_droppable(ws_frame(pcm, WS_BINARY))


class VoiceHandler:
    """The endpoint's handler: messages to the conversation, and its worker as the
    connection's background task (``web/ws_socket.py`` ``Background``)."""

    def __init__(self, conversation: Conversation, stream: Stream) -> None:
        self.conversation = conversation
        self.stream = stream

    async def __call__(self, message: str | bytes) -> None:
        await self.conversation.receive(message)

    async def run(self) -> None:
        await self.conversation.run()
        # The worker returns only when the agent's session itself failed (logged, counted,
        # told): nothing would answer any more, so the client is asked to reconnect.
        self.stream.close("internal-error")


def _feed(service: SpotlightService, query: Mapping[str, str]) -> Feed:
    return feed_param(service, query.get("replay"))


def _handler(service: SpotlightService, feed: Feed, stream: Stream) -> VoiceHandler:
    stream.droppable_budget = OUT_BUFFER_BYTES
    limits = {"maxFrameBytes": MAX_FRAME_BYTES, "maxMessagesPerS": MAX_MESSAGES_PER_S}
    return VoiceHandler(service.voice.conversation(feed, _StreamOut(stream), limits), stream)


def _refuse(handler: Handler, error: str, detail: str) -> None:
    """Through the conversation: told to the client and counted like every other refusal."""
    assert isinstance(handler, VoiceHandler)
    handler.conversation.refuse(error, detail)


def _on_flood(stream: Stream, handler: Handler, limit: int) -> None:
    _refuse(handler, "rate_limited", f"at most {limit} messages per second; the rest were dropped")


def _keepalive(settings: Settings) -> tuple[float, float]:
    return settings.voice.ping_s, settings.voice.idle_s


def _on_oversized(stream: Stream, handler: Handler, size: int, limit: int) -> None:
    _refuse(
        handler,
        "frame_too_large",
        f"a message of {size} bytes was skipped: at most {limit} bytes "
        "(send audio in frames of about 100 ms)",
    )


VOICE = WSEndpoint(
    path=VOICE_PATH,
    max_message_bytes=MAX_FRAME_BYTES,
    max_messages=MAX_MESSAGES_PER_S,
    window_s=1.0,
    idle_heartbeats=0,  # unused: the endpoint has its own keep-alive
    feed=_feed,
    handler=_handler,
    on_flood=_on_flood,
    keepalive=_keepalive,
    on_oversized=_on_oversized,
)
