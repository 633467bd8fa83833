from __future__ import annotations

import pytest

from spotlight.config import ConfigError, Settings


def test_defaults_are_the_documented_ones() -> None:
    s = Settings.from_env({})
    assert (s.host, s.port) == ("127.0.0.1", 5000)
    assert s.symbols == ("SPY", "QQQ", "I:SPX")
    assert s.history_events >= 10_000 and s.heartbeat_s == 10.0
    assert s.market_source == ("simulated", "no MASSIVE_API_KEY")


def test_environment_overrides_and_extra_symbols() -> None:
    s = Settings.from_env(
        {
            "HOST": "0.0.0.0",
            "PORT": "8080",
            "SPOTLIGHT_SYMBOLS": "aapl, SPY,I:NDX",
            "SPOTLIGHT_HEARTBEAT_S": "2.5",
            "MASSIVE_API_KEY": "sekret-123",
        }
    )
    assert (s.host, s.port, s.heartbeat_s) == ("0.0.0.0", 8080, 2.5)
    assert s.symbols == ("SPY", "QQQ", "I:SPX", "AAPL", "I:NDX")
    assert s.market_source[0] == "massive"
    assert "sekret-123" not in repr(s)  # the key never shows up in logs of the settings


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "http"}, "PORT='http' is not a valid int"),
        ({"PORT": "70000"}, "out of range"),
        ({"SPOTLIGHT_HISTORY_EVENTS": "500"}, "SPOTLIGHT_HISTORY_EVENTS='500' is out of range"),
        ({"SPOTLIGHT_SYMBOLS": "SPY,BAD SYMBOL"}, "'BAD SYMBOL'"),
        ({"SPOTLIGHT_CLIENT_QUEUE_AGE_S": "-1"}, "out of range"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_recording_and_replay_settings() -> None:
    d = Settings()
    assert d.record and d.record_fsync and d.replay_max == 2
    s = Settings.from_env(
        {"SPOTLIGHT_RECORD": "off", "SPOTLIGHT_RECORD_DAYS": "3", "SPOTLIGHT_REPLAY_MAX": "0"}
    )
    assert (s.record, s.record_days, s.replay_max) == (False, 3, 0)
    assert Settings.from_env({"SPOTLIGHT_RECORD_FSYNC": "false"}).record_fsync is False
    for env in (
        {"SPOTLIGHT_RECORD": "maybe"},
        {"SPOTLIGHT_RECORD_MAX_MB": "1"},
        {"SPOTLIGHT_REPLAY_MAX_HOURS": "0"},
        {"SPOTLIGHT_REPLAY_HISTORY_EVENTS": "10"},
    ):
        with pytest.raises(ConfigError, match=next(iter(env))):
            Settings.from_env(env)


def test_voice_settings_defaults_overrides_and_errors() -> None:
    d = Settings.from_env({})
    assert d.voice_url is None and d.voice_key is None  # the offline coach
    assert (d.voice_ping_s, d.voice_idle_s, d.voice_max_audio_s) == (5.0, 15.0, 30.0)
    s = Settings.from_env(
        {
            "SPOTLIGHT_VOICE_URL": "wss://api.example.com/v1/realtime?model=m",
            "SPOTLIGHT_VOICE_KEY": "sk-voice-secret",
            "SPOTLIGHT_VOICE_TIMEOUT_S": "5",
            "SPOTLIGHT_VOICE_MAX_AUDIO_S": "12",
        }
    )
    assert s.voice_url == "wss://api.example.com/v1/realtime?model=m"
    assert (s.voice_timeout_s, s.voice_max_audio_s) == (5.0, 12.0)
    assert "sk-voice-secret" not in repr(s)
    for bad in ("https://api.example.com/v1/realtime", "wss://", "api.example.com", "ws:///x"):
        with pytest.raises(ConfigError, match="SPOTLIGHT_VOICE_URL"):
            Settings.from_env({"SPOTLIGHT_VOICE_URL": bad})
    with pytest.raises(ConfigError, match="SPOTLIGHT_VOICE_MAX_AUDIO_S"):
        Settings.from_env({"SPOTLIGHT_VOICE_MAX_AUDIO_S": "0"})
    with pytest.raises(ConfigError, match="SPOTLIGHT_VOICE_IDLE_S"):
        Settings.from_env({"SPOTLIGHT_VOICE_IDLE_S": "never"})
