from __future__ import annotations

import re
from pathlib import Path

import pytest

from spotlight.__main__ import main
from spotlight.config import ConfigError, Settings, declarations, markdown_table, shown_default

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_the_documented_ones() -> None:
    s = Settings.from_env({})
    assert (s.server.host, s.server.port) == ("127.0.0.1", 5000)
    assert s.market.symbols == ("SPY", "QQQ", "I:SPX")
    assert s.hub.history_events >= 10_000 and s.streams.heartbeat_s == 10.0
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
    assert (s.server.host, s.server.port, s.streams.heartbeat_s) == ("0.0.0.0", 8080, 2.5)
    assert s.market.symbols == ("SPY", "QQQ", "I:SPX", "AAPL", "I:NDX")
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
    assert d.recording.enabled and d.recording.fsync and d.replay.max == 2
    s = Settings.from_env(
        {"SPOTLIGHT_RECORD": "off", "SPOTLIGHT_RECORD_DAYS": "3", "SPOTLIGHT_REPLAY_MAX": "0"}
    )
    assert (s.recording.enabled, s.recording.days, s.replay.max) == (False, 3, 0)
    assert Settings.from_env({"SPOTLIGHT_RECORD_FSYNC": "false"}).recording.fsync is False
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
    assert d.voice.url is None and d.voice.key is None  # the offline coach
    assert (d.voice.ping_s, d.voice.idle_s, d.voice.max_audio_s) == (5.0, 15.0, 30.0)
    s = Settings.from_env(
        {
            "SPOTLIGHT_VOICE_URL": "wss://api.example.com/v1/realtime?model=m",
            "SPOTLIGHT_VOICE_KEY": "sk-voice-secret",
            "SPOTLIGHT_VOICE_TIMEOUT_S": "5",
            "SPOTLIGHT_VOICE_MAX_AUDIO_S": "12",
        }
    )
    assert s.voice.url == "wss://api.example.com/v1/realtime?model=m"
    assert (s.voice.timeout_s, s.voice.max_audio_s) == (5.0, 12.0)
    assert "sk-voice-secret" not in repr(s)
    for bad in ("https://api.example.com/v1/realtime", "wss://", "api.example.com", "ws:///x"):
        with pytest.raises(ConfigError, match="SPOTLIGHT_VOICE_URL"):
            Settings.from_env({"SPOTLIGHT_VOICE_URL": bad})
    with pytest.raises(ConfigError, match="SPOTLIGHT_VOICE_MAX_AUDIO_S"):
        Settings.from_env({"SPOTLIGHT_VOICE_MAX_AUDIO_S": "0"})
    with pytest.raises(ConfigError, match="SPOTLIGHT_VOICE_IDLE_S"):
        Settings.from_env({"SPOTLIGHT_VOICE_IDLE_S": "never"})


# -- every setting declared once (issue 23) ---------------------------------------------------
def _generated_block(path: Path) -> str:
    text = path.read_text()
    begin = text.index("<!-- settings:begin")
    start = text.index("\n", begin) + 1
    return text[start : text.index("<!-- settings:end -->")]


@pytest.mark.parametrize("doc", ["README.md", "docs/operations.md"])
def test_the_documented_tables_are_the_declarations(doc: str) -> None:
    """Regenerate with `.venv/bin/python -m spotlight settings` and paste between the
    settings markers when this fails: a setting added in one place appears everywhere."""
    assert _generated_block(ROOT / doc) == markdown_table()


def test_serve_help_lists_every_setting_with_its_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    for _, f, spec in declarations():
        assert spec.env in out
        assert f"(default {shown_default(f, spec) or 'unset'})" in out


def test_no_document_names_a_variable_that_is_not_declared() -> None:
    declared = {spec.env for _, _, spec in declarations()}
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        named = set(re.findall(r"\bSPOTLIGHT_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
        assert named <= declared | NOT_SETTINGS, (path.name, sorted(named - declared))


# Names in the docs that look like settings but are not: prefixes of families and the
# environment of other programs.
NOT_SETTINGS = {"SPOTLIGHT_MASSIVE", "SPOTLIGHT_REDIS", "SPOTLIGHT_VOICE", "SPOTLIGHT_SIM"}


def test_every_variable_is_declared_once_and_derive_uses_its_name() -> None:
    envs = [spec.env for _, _, spec in declarations()]
    assert len(envs) == len(set(envs))
    keys = [spec.key for _, _, spec in declarations()]
    assert len(keys) == len(set(keys))
    s = Settings().derive(history_events=12_000, massive_api_key="k", sim_hours="always")
    assert (s.hub.history_events, s.massive.api_key, s.simulator.hours) == (12_000, "k", "always")
    with pytest.raises(TypeError, match="no setting"):
        Settings().derive(history_event=1)


def test_secrets_never_show_in_the_settings_repr() -> None:
    s = Settings.from_env(
        {
            "MASSIVE_API_KEY": "k-massive",
            "SPOTLIGHT_PIN": "p-1234",
            "SPOTLIGHT_SECRET_KEY": "s" * 40,
            "SPOTLIGHT_METRICS_TOKEN": "t-metrics",
            "SPOTLIGHT_VOICE_KEY": "k-voice",
            "SPOTLIGHT_REDIS_URL": "redis://:pw-redis@127.0.0.1:6379/0",
        }
    )
    text = repr(s)
    for secret in ("k-massive", "p-1234", "s" * 40, "t-metrics", "k-voice", "pw-redis"):
        assert secret not in text
