"""Speech to text for the offline coach: pocketsphinx with the coach's grammar.

pocketsphinx's PyPI wheel ships an English acoustic model and dictionary, so nothing is
downloaded and nothing leaves the machine. The decoder is constrained to ``GRAMMAR``
(voice/intents.py): accurate on the questions the coach answers, and honest about the rest
(an out-of-grammar question comes back as a partial or empty hypothesis, which the coach
answers with what it can be asked).

One decoder per process, built on first use (~0.2 s) and shared: decoding is CPU work that
runs in a worker thread, one utterance at a time (a lock; the decoder is not thread-safe).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import trio

from spotlight.voice.audio import SAMPLE_RATE, resample
from spotlight.voice.intents import GRAMMAR, PRONUNCIATIONS

__all__ = ["Recognizer", "SttUnavailable"]

log = logging.getLogger(__name__)

MODEL_RATE = 16_000  # the English model's sample rate
# Silence around the utterance: the decoder needs a little before and after the speech to
# settle, and push-to-talk clips both ends tightly.
PAD_S = 0.3


class SttUnavailable(RuntimeError):
    """pocketsphinx could not be loaded; the coach takes typed questions only."""


class Recognizer:
    _shared: Recognizer | None = None
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            from pocketsphinx import Config, Decoder
        except ImportError as exc:  # a broken install: say so, keep typed questions working
            raise SttUnavailable(f"pocketsphinx is not installed ({exc})") from None
        config = Config(lm=None, samprate=MODEL_RATE, loglevel="FATAL")
        self._decoder: Any = Decoder(config)
        for word, phones in PRONUNCIATIONS.items():
            self._decoder.add_word(word, phones, True)
        self._decoder.add_jsgf_string("coach", GRAMMAR)
        self._decoder.activate_search("coach")
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> Recognizer:
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def transcribe_sync(self, pcm24k: bytes) -> str:
        """The words in ``pcm24k`` (PCM16 mono 24 kHz), lower-case; "" when none."""
        pcm = resample(pcm24k, SAMPLE_RATE, MODEL_RATE)
        pad = bytes(2 * int(MODEL_RATE * PAD_S))
        with self._lock:
            d = self._decoder
            d.start_utt()
            d.process_raw(pad + pcm + pad, full_utt=True)
            d.end_utt()
            hyp = d.hyp()
        return str(hyp.hypstr).strip() if hyp is not None else ""


async def transcribe(pcm24k: bytes) -> str:
    """``Recognizer.transcribe_sync`` in a worker thread (decoding is CPU-bound)."""

    def work() -> str:
        return Recognizer.shared().transcribe_sync(pcm24k)

    return await trio.to_thread.run_sync(work, abandon_on_cancel=True)
