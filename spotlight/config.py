"""Settings from environment variables, each declared once, here.

Every setting is one field of a frozen per-subsystem section (``ServerSettings``,
``HubSettings``, ...), declared with ``setting(...)``: its environment variable, its default,
how its text is parsed and checked, and a one-line doc. Everything else is generated from
those declarations, never written a second time: ``Settings.from_env`` (the only place the
environment is read), ``python -m spotlight serve --help``, and the tables in README.md and
docs/operations.md (``python -m spotlight settings --markdown``; tests/test_config.py fails
when a document and the declarations disagree).

A bad value raises ``ConfigError`` naming the variable, the value and what is accepted, so a
typo in a deploy fails at start instead of surfacing as odd behaviour hours later.

Tests and tools build settings with ``Settings.derive(**changes)``, where a change's name is
its variable's name in lower case without ``SPOTLIGHT_`` (``history_events=10_000``,
``massive_api_key="k"``, ``port=0``): the same one name everywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

__all__ = [
    "BUILTIN_SYMBOLS",
    "AnalyticsSettings",
    "AuthSettings",
    "ConfigError",
    "HubSettings",
    "MarketSettings",
    "MassiveSettings",
    "RecordingSettings",
    "RedisSettings",
    "ReplaySettings",
    "ServerSettings",
    "Settings",
    "SimulatorSettings",
    "Spec",
    "StreamSettings",
    "VoiceSettings",
]

T = TypeVar("T")

_SYMBOL = re.compile(r"^(I:)?[A-Z][A-Z0-9.]{0,9}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
BUILTIN_SYMBOLS = ("SPY", "QQQ", "I:SPX")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Spec(Generic[T]):
    """One setting's declaration (``dataclasses.field`` metadata, see ``setting``)."""

    env: str
    doc: str
    parse: Callable[[str], T]
    accepts: str  # what a value may be, for errors and --help ("1-65535", "on or off")
    check: Callable[[T], bool]
    shown_default: str | None  # the default as documented, when repr() would mislead
    secret: bool
    blank_is_value: bool  # an empty value means "empty", not "the default"

    @property
    def key(self) -> str:
        """The name ``Settings.derive`` takes: the variable, lower case, no SPOTLIGHT_."""
        return self.env.lower().removeprefix("spotlight_")


def setting(
    env: str,
    default: Any,
    doc: str,
    *,
    parse: Callable[[str], Any] = str,
    accepts: str = "",
    check: Callable[[Any], bool] = lambda v: True,
    shown_default: str | None = None,
    secret: bool = False,
    blank_is_value: bool = False,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """Declare a setting: a dataclass field whose metadata is its ``Spec``."""
    spec = Spec(env, doc, parse, accepts, check, shown_default, secret, blank_is_value)
    if factory is not None:
        return field(default_factory=factory, repr=not secret, metadata={"spec": spec})
    return field(default=default, repr=not secret, metadata={"spec": spec})


# -- parsers: each raises ValueError with what was wrong ---------------------------------------
def _flag(raw: str) -> bool:
    value = raw.lower()
    if value in ("1", "true", "on", "yes"):
        return True
    if value in ("0", "false", "off", "no"):
        return False
    raise ValueError("must be on or off (1/0, true/false)")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return parse


def _list(raw: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def _symbols(raw: str) -> tuple[str, ...]:
    """Built-in symbols plus the extra ones (comma separated), in order, without repeats."""
    extra = [s.strip().upper() for s in raw.split(",") if s.strip()]
    for s in extra:
        if not _SYMBOL.match(s):
            raise ValueError(
                f"has {s!r}: a symbol is 1-10 letters/digits/dots, optionally prefixed 'I:' "
                "for an index"
            )
    return tuple(dict.fromkeys([*BUILTIN_SYMBOLS, *extra]))


def _redis_url(raw: str) -> str:
    if not raw.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            "must start with redis://, rediss:// or unix:// (for example "
            f"redis://127.0.0.1:6379/0), not {raw.split('@')[-1][:60]!r}"
        )
    return raw


def _name(raw: str) -> str:
    if not _NAME.match(raw):
        raise ValueError("use 1-64 letters, digits, '_', '.', ':', '-'")
    return raw


def _ws_url(raw: str) -> str:
    scheme, _, rest = raw.partition("://")
    if scheme.lower() not in ("ws", "wss") or not rest or rest.startswith("/"):
        raise ValueError(
            "must be a WebSocket URL, e.g. "
            "wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview"
        )
    return raw


def _http_url(raw: str) -> str:
    return raw.rstrip("/")


def _upper(raw: str) -> str:
    return raw.upper()


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "spotlight")


def _within(lo: float, hi: float) -> Callable[[float], bool]:
    return lambda v: lo <= v <= hi


# -- the sections --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The process: where it listens, its connections, its files, its log."""

    host: str = setting("HOST", "127.0.0.1", "listen address (`--host` overrides)")
    port: int = setting(
        "PORT", 5000, "listen port (`--port` overrides; 0: any)", parse=int,
        accepts="0-65535", check=_within(0, 65535),
    )  # fmt: skip
    workers: int = setting(
        "SPOTLIGHT_WORKERS", 1,
        "server processes on one port (`serve --workers N`); more than 1 needs "
        "`SPOTLIGHT_REDIS_URL`", parse=int, accepts="1-64", check=_within(1, 64),
    )  # fmt: skip
    backlog: int = setting(
        "SPOTLIGHT_BACKLOG", 4096,
        "listen backlog: the default 100 capped reconnect storms at ~130 connections/s; 4096 "
        "reached ~1,000/s", parse=int, accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip
    tcp_user_timeout_ms: int = setting(
        "SPOTLIGHT_TCP_USER_TIMEOUT_MS", 15_000,
        "the kernel drops a connection whose peer stopped acknowledging data after this long "
        "(0: off)", parse=int, accepts=">= 0", check=lambda v: v >= 0,
    )  # fmt: skip
    shutdown_grace_s: float = setting(
        "SPOTLIGHT_SHUTDOWN_GRACE_S", 5.0,
        "graceful shutdown: streams are told to reconnect, then connections get this long",
        parse=float, accepts=">= 0", check=lambda v: v >= 0,
    )  # fmt: skip
    max_connections: int = setting(
        "SPOTLIGHT_MAX_CONNECTIONS", 0,
        "open connections in all (0: the file-descriptor limit less a reserve); at the cap "
        "the oldest idle one makes room, else a JSON 503", parse=int, accepts=">= 0",
        check=lambda v: v >= 0, shown_default="fd limit less a reserve",
    )  # fmt: skip
    max_connections_per_address: int = setting(
        "SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS", 256,
        "open connections from one client address (0: no cap); past it a JSON 429",
        parse=int, accepts=">= 0", check=lambda v: v >= 0,
    )  # fmt: skip
    request_timeout_s: float = setting(
        "SPOTLIGHT_REQUEST_TIMEOUT_S", 10.0,
        "a request head (and a request body) must arrive within this long", parse=float,
        accepts="0.5-300", check=_within(0.5, 300),
    )  # fmt: skip
    keepalive_s: float = setting(
        "SPOTLIGHT_KEEPALIVE_S", 75.0,
        "an idle keep-alive HTTP connection is closed after this long", parse=float,
        accepts="1-3600", check=_within(1, 3600),
    )  # fmt: skip
    reuse_port: bool = setting(
        "SPOTLIGHT_REUSE_PORT", False,
        "SO_REUSEPORT: several processes on one port (`--workers` sets it)", parse=_flag,
        accepts="on or off", shown_default="off",
    )  # fmt: skip
    data_dir: str = setting(
        "SPOTLIGHT_DATA_DIR", None,
        "where the signing key and the recordings are kept (so sessions and recordings "
        "survive restarts)", factory=_default_data_dir, shown_default="~/.local/share/spotlight",
    )  # fmt: skip
    log_level: str = setting(
        "SPOTLIGHT_LOG_LEVEL", "INFO",
        "`DEBUG`, `INFO`, `WARNING`, `ERROR` (Massive requests: one line each at DEBUG, a "
        "summary a minute at INFO)", parse=_upper,
        accepts="DEBUG, INFO, WARNING or ERROR",
        check=lambda v: v in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MarketSettings:
    """What the market serves, whatever the source."""

    symbols: tuple[str, ...] = setting(
        "SPOTLIGHT_SYMBOLS", BUILTIN_SYMBOLS,
        "extra symbols besides `SPY`, `QQQ`, `I:SPX` (comma separated; `I:` marks an index)",
        parse=_symbols, accepts="comma-separated symbols", shown_default="",
    )  # fmt: skip
    bar_buffer_minutes: int = setting(
        "SPOTLIGHT_BAR_BUFFER_MINUTES", 7 * 1440,
        "1-minute bars kept per symbol (rollups come from these): 7 days, ~1 MB per symbol",
        parse=int, accepts=">= 60", check=lambda v: v >= 60,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    """The built-in market (the source when `MASSIVE_API_KEY` is unset)."""

    seed: int = setting(
        "SPOTLIGHT_SEED", 7,
        "simulator seed: same seed, same market (each day's past depends on the seed and the "
        "date, not on the start time)", parse=int, accepts="an integer",
    )  # fmt: skip
    trades_per_second: float = setting(
        "SPOTLIGHT_TRADES_PER_SECOND", 2.0, "simulated trades per second per symbol",
        parse=float, accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip
    burst_ms: int = setting(
        "SPOTLIGHT_SIM_BURST_MS", 100,
        "simulated ticks are published in bursts on this grid (one write per client per burst)",
        parse=int, accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip
    history_days: int = setting(
        "SPOTLIGHT_SIM_HISTORY_DAYS", 5,
        "trading sessions of past 1-minute bars generated at start (1 on a Monday reaches "
        "Friday)", parse=int, accepts="0-30", check=_within(0, 30),
    )  # fmt: skip
    hours: str = setting(
        "SPOTLIGHT_SIM_HOURS", "exchange",
        "when the simulated index and its options trade: `exchange` (NYSE regular sessions; "
        "SPY/QQQ around the clock) or `always` (everything around the clock, e.g. a demo at "
        "night)", parse=_choice("exchange", "always"), accepts="exchange or always",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class MassiveSettings:
    """Massive's REST API as the live source (docs/operations.md, "Massive")."""

    api_key: str | None = setting(
        "MASSIVE_API_KEY", None,
        "selects Massive as the live source; unset: the simulator (never both, never a "
        "fallback from Massive to simulated prices)", secret=True, shown_default="unset",
    )  # fmt: skip
    base_url: str = setting(
        "SPOTLIGHT_MASSIVE_BASE_URL", "https://api.massive.com",
        "Massive's REST base URL (point it at the shipped fake for tests and demos)",
        parse=_http_url,
    )  # fmt: skip
    plan: str = setting(
        "SPOTLIGHT_MASSIVE_PLAN", "paid",
        "request budget: `paid` (~100 requests/s, 8 at once) or `free` (5 requests a minute)",
        parse=_choice("paid", "free"), accepts="paid or free",
    )  # fmt: skip
    prices_s: float = setting(
        "SPOTLIGHT_MASSIVE_PRICES_S", 1.0, "polling cadence of prices and index values",
        parse=float, accepts=">= 0.2", check=lambda v: v >= 0.2,
    )  # fmt: skip
    bars_s: float = setting(
        "SPOTLIGHT_MASSIVE_BARS_S", 30.0, "polling cadence of recent 1-minute bars (revisions)",
        parse=float, accepts=">= 1", check=lambda v: v >= 1,
    )  # fmt: skip
    status_s: float = setting(
        "SPOTLIGHT_MASSIVE_STATUS_S", 60.0, "polling cadence of the market status",
        parse=float, accepts=">= 5", check=lambda v: v >= 5,
    )  # fmt: skip
    chain_s: float = setting(
        "SPOTLIGHT_MASSIVE_CHAIN_S", 15.0, "polling cadence of the option chains",
        parse=float, accepts=">= 1", check=lambda v: v >= 1,
    )  # fmt: skip
    timeout_s: float = setting(
        "SPOTLIGHT_MASSIVE_TIMEOUT_S", 10.0, "the longest one HTTP attempt to Massive may take",
        parse=float, accepts="0.1-120", check=_within(0.1, 120),
    )  # fmt: skip
    max_retries: int = setting(
        "SPOTLIGHT_MASSIVE_MAX_RETRIES", 3,
        "retries per request for 429, 5xx and timeouts (each after a capped, jittered backoff)",
        parse=int, accepts="0-10", check=_within(0, 10),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class HubSettings:
    """The resume history: bounded by count, by memory and by age, whichever bites first."""

    history_events: int = setting(
        "SPOTLIGHT_HISTORY_EVENTS", 50_000, "events kept for resume", parse=int,
        accepts=">= 10000", check=lambda v: v >= 10_000,
    )  # fmt: skip
    history_seconds: float = setting(
        "SPOTLIGHT_HISTORY_SECONDS", 900.0, "...and at most this old", parse=float,
        accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip
    history_mb: int = setting(
        "SPOTLIGHT_HISTORY_MB", 64,
        "...and holding at most this much memory (measured per event: docs/architecture.md)",
        parse=int, accepts="4-65536", check=_within(4, 65536),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Scale-out (docs/scaling.md): unset, one process and nothing shared."""

    url: str | None = setting(
        "SPOTLIGHT_REDIS_URL", None,
        "every process sharing this Redis shares one sequence, history and epoch, and one of "
        "them runs the market", parse=_redis_url, secret=True, shown_default="unset",
        accepts="redis://, rediss:// or unix:// URL",
    )  # fmt: skip
    prefix: str = setting(
        "SPOTLIGHT_REDIS_PREFIX", "spotlight",
        "Redis key namespace (one per deployment sharing a Redis)", parse=_name,
        accepts="1-64 letters, digits, _ . : -",
    )  # fmt: skip
    timeout_s: float = setting(
        "SPOTLIGHT_REDIS_TIMEOUT_S", 2.0,
        "a Redis command slower than this: the node says degraded", parse=float,
        accepts="0.05-60", check=_within(0.05, 60),
    )  # fmt: skip
    outbound_events: int = setting(
        "SPOTLIGHT_REDIS_OUTBOUND_EVENTS", 20_000,
        "events the market leader may queue while Redis is slow or away (oldest dropped beyond)",
        parse=int, accepts="100-1000000", check=_within(100, 1_000_000),
    )  # fmt: skip
    lease_ttl_s: float = setting(
        "SPOTLIGHT_LEASE_TTL_S", 5.0,
        "the market leader's lease; another node takes over within about 1.2x this",
        parse=float, accepts="0.3-300", check=_within(0.3, 300),
    )  # fmt: skip
    node_id: str | None = setting(
        "SPOTLIGHT_NODE_ID", None, "this process's name in the lease and /api/diag",
        parse=_name, accepts="1-64 letters, digits, _ . : -", shown_default="host-pid-random",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Every stream (SSE and WebSocket): liveness, reconnect hint, queue bounds."""

    heartbeat_s: float = setting(
        "SPOTLIGHT_HEARTBEAT_S", 10.0,
        "heartbeat interval on every stream (keep it below any proxy's idle timeout)",
        parse=float, accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip
    retry_ms: int = setting(
        "SPOTLIGHT_RETRY_MS", 2_000, "the SSE `retry:` hint", parse=int, accepts=">= 0",
        check=lambda v: v >= 0,
    )  # fmt: skip
    client_queue_bytes: int = setting(
        "SPOTLIGHT_CLIENT_QUEUE_BYTES", 1 << 20,
        "per-client queue bound in bytes; past it the client gets `slow` and is closed",
        parse=int, accepts=">= 4096", check=lambda v: v >= 4096,
    )  # fmt: skip
    client_queue_age_s: float = setting(
        "SPOTLIGHT_CLIENT_QUEUE_AGE_S", 5.0, "per-client queue bound in age", parse=float,
        accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    """The SPX analytics channels (docs/analytics.md)."""

    gex_s: float = setting(
        "SPOTLIGHT_GEX_S", 15.0, "cadence of the GEX channels", parse=float, accepts=">= 1",
        check=lambda v: v >= 1,
    )  # fmt: skip
    levels_s: float = setting(
        "SPOTLIGHT_LEVELS_S", 5.0, "cadence of the levels channel", parse=float,
        accepts=">= 1", check=lambda v: v >= 1,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Access control (docs/security.md)."""

    mode: str = setting(
        "SPOTLIGHT_AUTH", "pin",
        "`off` disables access control (local development only; logged and shown in diag)",
        parse=_choice("pin", "off"), accepts="pin or off",
    )  # fmt: skip
    pin: str | None = setting(
        "SPOTLIGHT_PIN", None,
        "the login PIN (4-32 characters); unset: a 6-digit PIN is generated at each start and "
        "printed", secret=True, shown_default="generated",
    )  # fmt: skip
    secret_key: str | None = setting(
        "SPOTLIGHT_SECRET_KEY", None,
        "session-signing key (32+ characters); unset: created once in the data directory",
        secret=True, shown_default="",
    )  # fmt: skip
    public_url: str | None = setting(
        "SPOTLIGHT_PUBLIC_URL", None,
        "the URL users reach (e.g. behind a proxy); `https://` selects production cookies",
        parse=_http_url, shown_default="",
    )  # fmt: skip
    allowed_origins: tuple[str, ...] = setting(
        "SPOTLIGHT_ALLOWED_ORIGINS", (),
        "extra origins allowed to POST and open WebSockets (comma separated)", parse=_list,
        shown_default="",
    )  # fmt: skip
    cors_origins: tuple[str, ...] = setting(
        "SPOTLIGHT_CORS_ORIGINS", (), "origins given credentialed CORS (off when empty)",
        parse=_list, shown_default="",
    )  # fmt: skip
    metrics_token: str | None = setting(
        "SPOTLIGHT_METRICS_TOKEN", None, "bearer token that opens `/api/metrics`", secret=True,
        shown_default="",
    )  # fmt: skip
    metrics_networks: tuple[str, ...] = setting(
        "SPOTLIGHT_METRICS_NETWORKS", ("127.0.0.0/8", "::1/128"),
        "networks that may read `/api/metrics` without a token (empty: none)", parse=_list,
        blank_is_value=True, shown_default="127.0.0.0/8,::1/128",
    )  # fmt: skip
    stream_token_ttl_s: float = setting(
        "SPOTLIGHT_STREAM_TOKEN_TTL_S", 120.0, "lifetime of stream tokens from `/api/auth/token`",
        parse=float, accepts="5-86400", check=_within(5, 86400),
    )  # fmt: skip
    pin_checks_per_s: float = setting(
        "SPOTLIGHT_PIN_CHECKS_PER_S", 5.0,
        "PIN checks per second for the whole server (beyond each address's lockout); past "
        "it `429 busy`", parse=float, accepts="0.1-1000", check=_within(0.1, 1000),
    )  # fmt: skip

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """The recording of the live inputs that replays read (docs/replay.md)."""

    enabled: bool = setting(
        "SPOTLIGHT_RECORD", True, "record the live inputs for replays (`off`: nothing is written)",
        parse=_flag, accepts="on or off", shown_default="on",
    )  # fmt: skip
    days: int = setting(
        "SPOTLIGHT_RECORD_DAYS", 7, "recording retention: exchange dates kept", parse=int,
        accepts=">= 1", check=lambda v: v >= 1,
    )  # fmt: skip
    max_mb: int = setting(
        "SPOTLIGHT_RECORD_MAX_MB", 2048, "recording retention: total size; the oldest go first",
        parse=int, accepts=">= 16", check=lambda v: v >= 16,
    )  # fmt: skip
    fsync: bool = setting(
        "SPOTLIGHT_RECORD_FSYNC", True, "fsync each recorded block (~1 s of data)", parse=_flag,
        accepts="on or off", shown_default="on",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """Replays (docs/replay.md): how many at once, and each one's bounds."""

    max: int = setting(
        "SPOTLIGHT_REPLAY_MAX", 2, "replays running at once", parse=int, accepts=">= 0",
        check=lambda v: v >= 0,
    )  # fmt: skip
    max_mb: int = setting(
        "SPOTLIGHT_REPLAY_MAX_MB", 256, "each replay's memory", parse=int, accepts=">= 16",
        check=lambda v: v >= 16,
    )  # fmt: skip
    max_hours: float = setting(
        "SPOTLIGHT_REPLAY_MAX_HOURS", 72.0, "the longest range one replay may cover",
        parse=float, accepts="> 0", check=lambda v: v > 0,
    )  # fmt: skip
    history_events: int = setting(
        "SPOTLIGHT_REPLAY_HISTORY_EVENTS", 10_000, "resume history per replay", parse=int,
        accepts=">= 1000", check=lambda v: v >= 1000,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """The voice coach (docs/voice.md)."""

    url: str | None = setting(
        "SPOTLIGHT_VOICE_URL", None,
        "the upstream realtime provider (`wss://...`, OpenAI Realtime protocol); unset: the "
        "built-in offline coach, and nothing leaves the machine", parse=_ws_url,
        accepts="a ws:// or wss:// URL", shown_default="unset",
    )  # fmt: skip
    key: str | None = setting(
        "SPOTLIGHT_VOICE_KEY", None, "that provider's API key (sent only to it, as a bearer token)",
        secret=True, shown_default="unset",
    )  # fmt: skip
    max_audio_s: float = setting(
        "SPOTLIGHT_VOICE_MAX_AUDIO_S", 30.0, "the longest spoken question", parse=float,
        accepts="1-300", check=_within(1, 300),
    )  # fmt: skip
    timeout_s: float = setting(
        "SPOTLIGHT_VOICE_TIMEOUT_S", 15.0,
        "connecting to the provider, and its longest silence during an answer", parse=float,
        accepts="0.5-120", check=_within(0.5, 120),
    )  # fmt: skip
    ping_s: float = setting(
        "SPOTLIGHT_VOICE_PING_S", 5.0, "`/voice/ws` keep-alive: ping interval", parse=float,
        accepts="0.1-60", check=_within(0.1, 60),
    )  # fmt: skip
    idle_s: float = setting(
        "SPOTLIGHT_VOICE_IDLE_S", 15.0, "`/voice/ws` keep-alive: a peer silent this long is closed",
        parse=float, accepts="0.3-600", check=_within(0.3, 600),
    )  # fmt: skip


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "market": MarketSettings,
    "simulator": SimulatorSettings,
    "massive": MassiveSettings,
    "hub": HubSettings,
    "redis": RedisSettings,
    "streams": StreamSettings,
    "analytics": AnalyticsSettings,
    "auth": AuthSettings,
    "recording": RecordingSettings,
    "replay": ReplaySettings,
    "voice": VoiceSettings,
}


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting, by subsystem. Build with ``from_env`` or ``derive``."""

    server: ServerSettings = field(default_factory=ServerSettings)
    market: MarketSettings = field(default_factory=MarketSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    massive: MassiveSettings = field(default_factory=MassiveSettings)
    hub: HubSettings = field(default_factory=HubSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    streams: StreamSettings = field(default_factory=StreamSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    replay: ReplaySettings = field(default_factory=ReplaySettings)
    voice: VoiceSettings = field(default_factory=VoiceSettings)

    @property
    def market_source(self) -> tuple[str, str]:
        """(source, reason) as shown in /api/diag."""
        if self.massive.api_key:
            return "massive", "MASSIVE_API_KEY is set"
        return "simulated", "no MASSIVE_API_KEY"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Every declared variable read from ``env`` (the only place it is read)."""
        sections = {}
        for name, section in SECTIONS.items():
            values: dict[str, Any] = {}
            for f, spec in _declared(section):
                raw = env.get(spec.env)
                if raw is None or (not raw.strip() and not spec.blank_is_value):
                    continue
                values[f.name] = _parsed(spec, raw.strip())
            sections[name] = section(**values)
        return cls(**sections)

    def derive(self, **changes: Any) -> Settings:
        """These settings with ``changes``, named by their variables (``port=0``,
        ``sim_history_days=1``, ``massive_api_key="k"``); values already typed. The operator's
        bounds are not applied here: a test may shrink a bound below what a deploy may use
        (a history of 50 events, to see it run out)."""
        by_key = {spec.key: (name, f.name, spec) for name, f, spec in declarations()}
        grouped: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            if key not in by_key:
                raise TypeError(f"no setting {key!r}; see `python -m spotlight serve --help`")
            section, attr, _ = by_key[key]
            grouped.setdefault(section, {})[attr] = value
        return replace(self, **{s: replace(getattr(self, s), **v) for s, v in grouped.items()})


def _declared(section: type) -> Iterator[tuple[Any, Spec[Any]]]:
    for f in fields(section):
        yield f, f.metadata["spec"]


def declarations() -> Iterator[tuple[str, Any, Spec[Any]]]:
    """Every setting: (section name, its dataclass field, its Spec), in declaration order."""
    for name, section in SECTIONS.items():
        for f, spec in _declared(section):
            yield name, f, spec


def _parsed(spec: Spec[T], raw: str) -> T:
    try:
        value = spec.parse(raw)
    except ValueError as exc:
        detail = (
            str(exc) if spec.parse not in (int, float) else f"is not a valid {spec.parse.__name__}"
        )
        raise ConfigError(f"{spec.env}={raw!r} {detail}" + _accepted(spec)) from None
    if not spec.check(value):
        raise ConfigError(f"{spec.env}={raw!r} is out of range" + _accepted(spec))
    return value


def _accepted(spec: Spec[Any]) -> str:
    return f" (accepted: {spec.accepts}; unset it for the default)" if spec.accepts else ""


def shown_default(f: Any, spec: Spec[Any]) -> str:
    """A setting's default as the documentation shows it."""
    if spec.shown_default is not None:
        return spec.shown_default
    default = f.default if f.default is not MISSING else f.default_factory()
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, tuple):
        return ",".join(default)
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return "unset" if default is None else str(default)


def markdown_table() -> str:
    """README.md's and docs/operations.md's table of every setting."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for _, f, spec in declarations():
        default = shown_default(f, spec)
        lines.append(f"| `{spec.env}` | {f'`{default}`' if default else ''} | {spec.doc} |")
    return "\n".join(lines) + "\n"


def help_text() -> str:
    """`serve --help`'s list of every setting, by section, with defaults."""
    out = ["environment (every setting; docs/operations.md explains them):"]
    for name, section in SECTIONS.items():
        out.append(f"  {name}: {(section.__doc__ or '').strip()}")
        for f, spec in _declared(section):
            default = shown_default(f, spec) or "unset"
            out.append(f"    {spec.env} (default {default})")
            out.append(f"        {spec.doc.replace('`', '')}")
    return "\n".join(out) + "\n"
