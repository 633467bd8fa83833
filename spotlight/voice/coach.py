"""The server's voice coach: which agent answers, with what limits, and its counters.

One per server (``SpotlightService.voice``). The agent is the relay when
``SPOTLIGHT_VOICE_URL`` is set, else the offline coach: never both, and never a silent
fallback from one to the other (a trader who configured a provider must hear that it
failed, not get a different coach).
"""

from __future__ import annotations

from collections.abc import Callable

from spotlight.config import Settings
from spotlight.engine.feed import Feed
from spotlight.metrics import Metrics
from spotlight.voice.agent import Agent, Outbound
from spotlight.voice.conversation import Conversation
from spotlight.voice.offline import OfflineCoach
from spotlight.voice.relay import RelayAgent, RelayConfig
from spotlight.voice.stats import VoiceStats

__all__ = ["OUT_BUFFER_BYTES", "VoiceCoach"]

# What the server may hold unwritten for one voice client before answer audio is dropped:
# ~2.7 s of 24 kHz PCM16. A client that keeps up never gets near it (the offline coach runs
# half a second ahead of real time); one that cannot loses late audio, not its session.
OUT_BUFFER_BYTES = 256 * 1024


class VoiceCoach:
    def __init__(self, settings: Settings, metrics: Metrics, now_ms: Callable[[], int]) -> None:
        self.settings = settings
        self.agent: Agent
        if settings.voice.url:
            self.agent = RelayAgent(
                RelayConfig(settings.voice.url, settings.voice.key, settings.voice.timeout_s)
            )
        else:
            self.agent = OfflineCoach()
        self.stats = VoiceStats(metrics, self.agent.describe, now_ms)

    def conversation(self, feed: Feed, out: Outbound, limits: dict[str, int]) -> Conversation:
        return Conversation(
            self.agent,
            feed,
            out,
            self.stats,
            max_audio_s=self.settings.voice.max_audio_s,
            limits={"outBufferBytes": OUT_BUFFER_BYTES, **limits},
        )
