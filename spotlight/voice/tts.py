"""Text to speech for the offline coach: espeak-ng, run as a process, read back as PCM.

espeak-ng is a Debian package (.ci/setup installs it); when it is missing at run time the
coach answers in text and says once, at ``session.start``, that speech is unavailable. It
writes 22,050 Hz WAV on stdout, resampled here to the wire's 24 kHz. Bounded: the text is
cut to ``MAX_CHARS`` and the process gets ``TIMEOUT_S``.
"""

from __future__ import annotations

import shutil
import subprocess

import trio

from spotlight.voice.audio import SAMPLE_RATE, read_wav, resample

__all__ = ["MAX_CHARS", "Speaker", "SpeechFailed"]

# A spoken answer is a few sentences; anything longer is cut rather than read for a minute.
MAX_CHARS = 600
# espeak-ng renders a few sentences in well under a second; past this it is stuck.
TIMEOUT_S = 10.0
# American English at a measured pace: the voice the offline recogniser was tested with, and
# easy to follow while watching a chart.
VOICE, WORDS_PER_MINUTE = "en-us", 160


class SpeechFailed(RuntimeError):
    pass


class Speaker:
    def __init__(self, program: str | None = None) -> None:
        self.program = program or shutil.which("espeak-ng")

    @property
    def available(self) -> bool:
        return self.program is not None

    async def synthesize(self, text: str) -> bytes:
        """``text`` spoken, as PCM16 mono 24 kHz; ``SpeechFailed`` when espeak-ng fails."""
        if self.program is None:
            raise SpeechFailed("espeak-ng is not installed")
        cmd = [self.program, "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "--stdout", text[:MAX_CHARS]]
        try:
            with trio.fail_after(TIMEOUT_S):
                done = await trio.run_process(cmd, capture_stdout=True, capture_stderr=True)
        except trio.TooSlowError:
            raise SpeechFailed(f"espeak-ng took longer than {TIMEOUT_S} s") from None
        except (OSError, subprocess.CalledProcessError) as exc:
            raise SpeechFailed(f"espeak-ng failed: {exc}") from None
        try:
            pcm, rate = read_wav(done.stdout)
        except ValueError as exc:
            raise SpeechFailed(f"espeak-ng wrote no usable audio: {exc}") from None
        return await trio.to_thread.run_sync(resample, pcm, rate, SAMPLE_RATE)
