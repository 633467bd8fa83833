"""Audio on the voice wire: PCM16 mono at 24 kHz, and the conversions the agents need (pure).

24 kHz 16-bit mono little-endian PCM is what realtime voice APIs speak (the OpenAI Realtime
protocol's ``pcm16``), so the relay forwards the browser's frames untouched. The offline
coach converts: pocketsphinx's English model wants 16 kHz, espeak-ng writes 22,050 Hz WAV.

Resampling is linear interpolation in pure Python (``array``): a few seconds of speech
take tens of milliseconds, run in a worker thread. Speech sits below 4 kHz, well inside
both rates' bands, so interpolation's mild low-pass costs the recogniser nothing (measured:
espeak-ng questions at 22.05 -> 24 -> 16 kHz are recognised word for word).
"""

from __future__ import annotations

import io
import sys
import wave
from array import array

__all__ = [
    "BYTES_PER_SECOND",
    "CHANNELS",
    "SAMPLE_RATE",
    "duration_ms",
    "frames",
    "read_wav",
    "resample",
]

SAMPLE_RATE = 24_000  # Hz, both directions on /voice/ws
CHANNELS = 1
SAMPLE_BYTES = 2  # PCM16
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_BYTES * CHANNELS


def duration_ms(n_bytes: int, rate: int = SAMPLE_RATE) -> int:
    """Milliseconds of PCM16 mono audio in ``n_bytes``."""
    return n_bytes * 1000 // (rate * SAMPLE_BYTES)


def _samples(pcm: bytes) -> array[int]:
    out = array("h")
    out.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":  # the wire is little-endian
        out.byteswap()
    return out


def _bytes(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """PCM16 mono from ``src_rate`` to ``dst_rate`` (linear interpolation)."""
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    samples = _samples(pcm)
    if src_rate == dst_rate or not samples:
        return _bytes(samples)
    n = len(samples) * dst_rate // src_rate
    out = array("h", bytes(2 * n))
    step = src_rate / dst_rate
    last = len(samples) - 1
    for i in range(n):
        x = i * step
        j = int(x)
        a = samples[j]
        b = samples[j + 1] if j < last else a
        out[i] = int(a + (b - a) * (x - j))
    return _bytes(out)


def read_wav(data: bytes) -> tuple[bytes, int]:
    """(PCM16 mono samples, sample rate) of a WAV file; ``ValueError`` for anything else."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            if w.getsampwidth() != SAMPLE_BYTES or w.getnchannels() != 1:
                raise ValueError(
                    f"expected 16-bit mono WAV, got {8 * w.getsampwidth()}-bit "
                    f"x {w.getnchannels()} channels"
                )
            return w.readframes(w.getnframes()), w.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from None


def frames(pcm: bytes, frame_ms: int = 100) -> list[bytes]:
    """``pcm`` (24 kHz) cut into frames of ``frame_ms`` (the last one may be shorter)."""
    size = SAMPLE_RATE * SAMPLE_BYTES * frame_ms // 1000
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]
