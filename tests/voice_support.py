"""Voice test support: a /voice/ws client over trio-websocket (it answers pings by itself)
that keeps control messages and answer audio apart, and spoken questions rendered by
espeak-ng at test time (no audio fixtures in git)."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
from array import array
from typing import Any

import orjson
import trio
from trio_websocket import WebSocketConnection

from spotlight.voice.audio import SAMPLE_RATE, read_wav, resample

ESPEAK = shutil.which("espeak-ng")
ESPEAK_HINT = "espeak-ng is missing: run `bash .ci/setup test` (installs Debian's espeak-ng)"


def spoken(text: str) -> bytes:
    """``text`` said by espeak-ng (American English, 140 words a minute), as the browser
    sends it: PCM16 mono 24 kHz."""
    assert ESPEAK is not None, ESPEAK_HINT
    wav = subprocess.run(
        [ESPEAK, "-v", "en-us", "-s", "140", "--stdout", text], check=True, capture_output=True
    ).stdout
    pcm, rate = read_wav(wav)
    return resample(pcm, rate, SAMPLE_RATE)


def rms(pcm: bytes) -> float:
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) // 2 * 2])
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def tone(ms: int, hz: float = 440.0) -> bytes:
    n = SAMPLE_RATE * ms // 1000
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / SAMPLE_RATE)))
        for i in range(n)
    )


def voice_url(http_url: str, query: str = "") -> str:
    return http_url.replace("http://", "ws://") + "/voice/ws" + (f"?{query}" if query else "")


class VoiceClient:
    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self.audio = bytearray()  # every binary frame received
        self.frames = 0
        self.log: list[dict[str, Any]] = []

    async def send(self, obj: object) -> None:
        await self.ws.send_message(orjson.dumps(obj).decode())

    async def send_audio(self, pcm: bytes, frame_bytes: int = 4800) -> None:
        for i in range(0, len(pcm), frame_bytes):
            await self.ws.send_message(pcm[i : i + frame_bytes])

    async def next(self) -> dict[str, Any]:
        """The next control message (binary frames on the way are collected)."""
        while True:
            raw = await self.ws.get_message()
            if isinstance(raw, bytes):
                self.audio += raw
                self.frames += 1
                continue
            msg: dict[str, Any] = orjson.loads(raw)
            if msg["type"] == "heartbeat":
                continue
            self.log.append(msg)
            return msg

    async def until(self, type: str, timeout: float = 20.0) -> dict[str, Any]:  # noqa: ASYNC109
        with trio.fail_after(timeout):
            while True:
                msg = await self.next()
                if msg["type"] == type:
                    return msg

    async def start(self, **options: Any) -> dict[str, Any]:
        await self.send({"type": "session.start", **options})
        msg = await self.until("session.started")
        return msg["payload"]  # type: ignore[no-any-return]

    async def answer(self, timeout: float = 30.0) -> dict[str, list[dict[str, Any]]]:  # noqa: ASYNC109
        """Everything up to the next ``response.done``, by type (payloads)."""
        out: dict[str, list[dict[str, Any]]] = {}
        with trio.fail_after(timeout):
            while True:
                msg = await self.next()
                out.setdefault(msg["type"], []).append(msg["payload"])
                if msg["type"] == "response.done":
                    return out
