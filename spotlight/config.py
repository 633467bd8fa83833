"""Settings from environment variables; every default is named once, here.

``Settings.from_env`` is the only place the environment is read. A bad value raises
``ConfigError`` naming the variable, the value and what is accepted, so a typo in a deploy
fails at start instead of surfacing as odd behaviour hours later. docs/operations.md lists
every variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["ConfigError", "Settings"]

T = TypeVar("T")

_SYMBOL = re.compile(r"^(I:)?[A-Z][A-Z0-9.]{0,9}$")
BUILTIN_SYMBOLS = ("SPY", "QQQ", "I:SPX")


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    # Network. HOST/PORT follow the Procfile convention; 5000 is the documented default.
    host: str = "127.0.0.1"
    port: int = 5000
    # Listen backlog: the default 100 capped reconnect storms at ~130 connections/s here
    # (dropped SYNs retry after 1 s); 4096 reached ~1,000/s (trio-stack-notes.md).
    backlog: int = 4096
    # Kernel drops a connection whose peer stops acknowledging data after this long. hypercorn
    # writes inside a shielded scope, so this is what frees a peer that stays connected but stops
    # reading (trio-stack-notes.md). 0 disables.
    tcp_user_timeout_ms: int = 15_000
    # Graceful shutdown: streaming clients are told to reconnect, then connections get this long.
    shutdown_grace_s: float = 5.0
    # Open connections in all (0: the process's file-descriptor limit less a reserve, so
    # accept never runs out) and from one client address (0: no per-address cap). At a cap
    # the oldest idle connection makes room; with none, the new one gets a JSON 503/429.
    max_connections: int = 0
    max_connections_per_address: int = 256
    # A request head (and a request body) must arrive within this long; an idle keep-alive
    # connection is closed after keepalive_s.
    request_timeout_s: float = 10.0
    keepalive_s: float = 75.0

    # Market simulator (the default source when MASSIVE_API_KEY is unset).
    seed: int = 7
    symbols: tuple[str, ...] = BUILTIN_SYMBOLS
    trades_per_second: float = 2.0
    # Ticks are published in bursts on this grid: batching is what makes fan-out cheap
    # (one write per client per burst), and 100 ms is below what a chart can show.
    sim_burst_ms: int = 100
    # Trading sessions of simulated history, not 24-hour days: 1 on a Monday reaches Friday,
    # the session a trader's prior-day levels come from (simulator.history_start_ms).
    sim_history_days: int = 5
    # When the simulated index (and its options) trades: "exchange" keeps NYSE regular hours
    # (stocks and ETFs print around the clock), "always" runs the index around the clock too
    # (a demo at night, test servers that must see a moving index at any hour).
    sim_hours: str = "exchange"
    # 1-minute bars kept per symbol: 7 days, about 1 MB per symbol. Five sessions of simulator
    # history can span more (a Monday's reach back to last Monday, a holiday week): the oldest
    # around-the-clock minutes then fall out first; the recent sessions are always kept.
    bar_buffer_minutes: int = 7 * 1440

    # Hub history for resume: bounded by count, by memory and by age, whichever bites first.
    # Memory is what the retained events hold, as measured (docs/architecture.md, "Memory").
    history_events: int = 50_000
    history_seconds: float = 900.0
    history_mb: int = 64

    # Scale-out (docs/scaling.md). Unset: the memory backend, one process, nothing shared.
    # Set: every node shares one sequence, history and epoch in this Redis, and one of them
    # (the leaseholder) runs the market.
    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    # Key namespace, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = "spotlight"
    # A Redis command slower than this means Redis is unreachable: the node says degraded.
    redis_timeout_s: float = 2.0
    # Events the leader may queue for Redis while it is slow or away (oldest dropped beyond).
    redis_outbound_events: int = 20_000
    # The market leader's lease: renewed every third of it; another node takes over within
    # about this long after the leader dies (the leader steps down at 80% without renewal).
    lease_ttl_s: float = 5.0
    # This process's name in leases and /api/diag (default: host, pid, random suffix).
    node_id: str | None = None
    # SO_REUSEPORT on the listening socket: several processes share one port
    # (``serve --workers N`` sets it for its workers).
    reuse_port: bool = False

    # Per-client streaming.
    heartbeat_s: float = 10.0
    retry_ms: int = 2_000
    # A client whose pending bytes or oldest pending event exceed these is "slow": it gets a
    # `slow` event and is closed; its reconnect resumes through Last-Event-ID.
    client_queue_bytes: int = 1 << 20
    client_queue_age_s: float = 5.0

    massive_api_key: str | None = field(default=None, repr=False)
    massive_base_url: str = "https://api.massive.com"
    # Request budget: "paid" (~100 requests/s, 8 at once) or "free" (5 requests a minute).
    massive_plan: str = "paid"
    massive_prices_s: float = 1.0
    massive_status_s: float = 60.0
    massive_chain_s: float = 15.0
    massive_bars_s: float = 30.0
    # Retries per request for 429/5xx/timeouts (each with capped, jittered backoff).
    massive_max_retries: int = 3
    # Total time one HTTP attempt to Massive may take.
    massive_timeout_s: float = 10.0
    log_level: str = "INFO"

    # SPX analytics cadences (docs/analytics.md).
    gex_s: float = 15.0
    levels_s: float = 5.0

    # Access control (docs/security.md). "pin" (default) or "off" (local development only).
    auth: str = "pin"
    # The PIN; unset means one is generated at each start and printed with a login URL.
    pin: str | None = field(default=None, repr=False)
    # Session-signing key; unset means one is created once under data_dir and reused, so
    # sessions survive restarts.
    secret_key: str | None = field(default=None, repr=False)
    data_dir: str = field(default_factory=lambda: _default_data_dir())
    # The URL users reach the server at; https:// selects production cookies
    # (SameSite=None; Secure) and is used in the printed login link.
    public_url: str | None = None
    # Extra origins allowed to make state-changing requests and WebSocket upgrades.
    allowed_origins: tuple[str, ...] = ()
    # Origins that may call the API cross-origin with credentials (CORS is off when empty).
    cors_origins: tuple[str, ...] = ()
    # /api/metrics: a bearer token, and networks allowed without one.
    metrics_token: str | None = field(default=None, repr=False)
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # PIN checks (scrypt, ~35 ms of CPU each) per second for the whole server, beyond the
    # per-address lockout; past it a login gets 429 busy before any hashing.
    pin_checks_per_s: float = 5.0
    # Lifetime of a stream token (for SSE/WebSocket where a cookie cannot be sent): it is
    # only checked when a stream connects, so it can be short.
    stream_token_ttl_s: float = 120.0

    # Recording the live inputs for replays (docs/replay.md), under data_dir/recordings.
    record: bool = True
    record_days: int = 7  # exchange dates kept
    record_max_mb: int = 2048  # total size kept; the oldest segments go first
    record_fsync: bool = True  # fsync each block (~1 s of data): survives power loss
    # Replays: how many run at once (whole server), and each one's bounds.
    replay_max: int = 2
    replay_max_mb: int = 256
    replay_max_hours: float = 72.0  # longest range one replay may cover
    replay_history_events: int = 10_000  # resume history per replay

    # The voice coach (docs/voice.md). An upstream realtime provider (OpenAI Realtime
    # protocol, ws:// or wss://) and its key; unset: the built-in offline coach.
    voice_url: str | None = None
    voice_key: str | None = field(default=None, repr=False)
    voice_max_audio_s: float = 30.0  # longest question; a turn past it is discarded
    # Connecting to the provider, and the longest it may stay silent during an answer.
    voice_timeout_s: float = 15.0
    # /voice/ws keep-alive: a ping this often, and a peer silent this long is closed.
    voice_ping_s: float = 5.0
    voice_idle_s: float = 15.0

    @property
    def market_source(self) -> tuple[str, str]:
        """(source, reason) as shown in /api/diag."""
        if self.massive_api_key:
            return "massive", "MASSIVE_API_KEY is set"
        return "simulated", "no MASSIVE_API_KEY"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        d = cls()
        symbols = _symbols(env.get("SPOTLIGHT_SYMBOLS", ""))
        return cls(
            host=env.get("HOST", d.host) or d.host,
            port=_get(env, "PORT", d.port, int, lambda v: 0 <= v <= 65535),
            backlog=_get(env, "SPOTLIGHT_BACKLOG", d.backlog, int, lambda v: v > 0),
            tcp_user_timeout_ms=_get(
                env, "SPOTLIGHT_TCP_USER_TIMEOUT_MS", d.tcp_user_timeout_ms, int, lambda v: v >= 0
            ),
            shutdown_grace_s=_get(
                env, "SPOTLIGHT_SHUTDOWN_GRACE_S", d.shutdown_grace_s, float, lambda v: v >= 0
            ),
            max_connections=_get(
                env, "SPOTLIGHT_MAX_CONNECTIONS", d.max_connections, int, lambda v: v >= 0
            ),
            max_connections_per_address=_get(
                env,
                "SPOTLIGHT_MAX_CONNECTIONS_PER_ADDRESS",
                d.max_connections_per_address,
                int,
                lambda v: v >= 0,
            ),
            request_timeout_s=_get(
                env,
                "SPOTLIGHT_REQUEST_TIMEOUT_S",
                d.request_timeout_s,
                float,
                lambda v: 0.5 <= v <= 300,
            ),
            keepalive_s=_get(
                env, "SPOTLIGHT_KEEPALIVE_S", d.keepalive_s, float, lambda v: 1 <= v <= 3600
            ),
            seed=_get(env, "SPOTLIGHT_SEED", d.seed, int, lambda v: True),
            symbols=symbols,
            trades_per_second=_get(
                env, "SPOTLIGHT_TRADES_PER_SECOND", d.trades_per_second, float, lambda v: v > 0
            ),
            sim_burst_ms=_get(env, "SPOTLIGHT_SIM_BURST_MS", d.sim_burst_ms, int, lambda v: v > 0),
            sim_history_days=_get(
                env, "SPOTLIGHT_SIM_HISTORY_DAYS", d.sim_history_days, int, lambda v: 0 <= v <= 30
            ),
            sim_hours=_choice(env, "SPOTLIGHT_SIM_HOURS", d.sim_hours, ("exchange", "always")),
            bar_buffer_minutes=_get(
                env, "SPOTLIGHT_BAR_BUFFER_MINUTES", d.bar_buffer_minutes, int, lambda v: v >= 60
            ),
            history_events=_get(
                env, "SPOTLIGHT_HISTORY_EVENTS", d.history_events, int, lambda v: v >= 10_000
            ),
            history_seconds=_get(
                env, "SPOTLIGHT_HISTORY_SECONDS", d.history_seconds, float, lambda v: v > 0
            ),
            history_mb=_get(
                env, "SPOTLIGHT_HISTORY_MB", d.history_mb, int, lambda v: 4 <= v <= 65536
            ),
            redis_url=_redis_url(env.get("SPOTLIGHT_REDIS_URL", "")),
            redis_prefix=_prefix(env.get("SPOTLIGHT_REDIS_PREFIX", "")) or d.redis_prefix,
            redis_timeout_s=_get(
                env,
                "SPOTLIGHT_REDIS_TIMEOUT_S",
                d.redis_timeout_s,
                float,
                lambda v: 0.05 <= v <= 60,
            ),
            redis_outbound_events=_get(
                env,
                "SPOTLIGHT_REDIS_OUTBOUND_EVENTS",
                d.redis_outbound_events,
                int,
                lambda v: 100 <= v <= 1_000_000,
            ),
            lease_ttl_s=_get(
                env, "SPOTLIGHT_LEASE_TTL_S", d.lease_ttl_s, float, lambda v: 0.3 <= v <= 300
            ),
            node_id=_node_id(env.get("SPOTLIGHT_NODE_ID", "")),
            reuse_port=_flag(env, "SPOTLIGHT_REUSE_PORT", d.reuse_port),
            heartbeat_s=_get(env, "SPOTLIGHT_HEARTBEAT_S", d.heartbeat_s, float, lambda v: v > 0),
            retry_ms=_get(env, "SPOTLIGHT_RETRY_MS", d.retry_ms, int, lambda v: v >= 0),
            client_queue_bytes=_get(
                env, "SPOTLIGHT_CLIENT_QUEUE_BYTES", d.client_queue_bytes, int, lambda v: v >= 4096
            ),
            client_queue_age_s=_get(
                env, "SPOTLIGHT_CLIENT_QUEUE_AGE_S", d.client_queue_age_s, float, lambda v: v > 0
            ),
            massive_api_key=env.get("MASSIVE_API_KEY") or None,
            massive_base_url=(env.get("SPOTLIGHT_MASSIVE_BASE_URL") or d.massive_base_url).rstrip(
                "/"
            ),
            massive_plan=_choice(env, "SPOTLIGHT_MASSIVE_PLAN", d.massive_plan, ("paid", "free")),
            massive_prices_s=_get(
                env, "SPOTLIGHT_MASSIVE_PRICES_S", d.massive_prices_s, float, lambda v: v >= 0.2
            ),
            massive_status_s=_get(
                env, "SPOTLIGHT_MASSIVE_STATUS_S", d.massive_status_s, float, lambda v: v >= 5
            ),
            massive_max_retries=_get(
                env,
                "SPOTLIGHT_MASSIVE_MAX_RETRIES",
                d.massive_max_retries,
                int,
                lambda v: 0 <= v <= 10,
            ),
            massive_timeout_s=_get(
                env,
                "SPOTLIGHT_MASSIVE_TIMEOUT_S",
                d.massive_timeout_s,
                float,
                lambda v: 0.1 <= v <= 120,
            ),
            massive_bars_s=_get(
                env, "SPOTLIGHT_MASSIVE_BARS_S", d.massive_bars_s, float, lambda v: v >= 1
            ),
            massive_chain_s=_get(
                env, "SPOTLIGHT_MASSIVE_CHAIN_S", d.massive_chain_s, float, lambda v: v >= 1
            ),
            log_level=env.get("SPOTLIGHT_LOG_LEVEL", d.log_level).upper(),
            gex_s=_get(env, "SPOTLIGHT_GEX_S", d.gex_s, float, lambda v: v >= 1),
            levels_s=_get(env, "SPOTLIGHT_LEVELS_S", d.levels_s, float, lambda v: v >= 1),
            auth=_choice(env, "SPOTLIGHT_AUTH", d.auth, ("pin", "off")),
            pin=env.get("SPOTLIGHT_PIN") or None,
            secret_key=env.get("SPOTLIGHT_SECRET_KEY") or None,
            data_dir=env.get("SPOTLIGHT_DATA_DIR") or d.data_dir,
            public_url=(env.get("SPOTLIGHT_PUBLIC_URL") or "").rstrip("/") or None,
            allowed_origins=_list(env.get("SPOTLIGHT_ALLOWED_ORIGINS", "")),
            cors_origins=_list(env.get("SPOTLIGHT_CORS_ORIGINS", "")),
            metrics_token=env.get("SPOTLIGHT_METRICS_TOKEN") or None,
            metrics_networks=_list(env["SPOTLIGHT_METRICS_NETWORKS"])
            if "SPOTLIGHT_METRICS_NETWORKS" in env
            else d.metrics_networks,
            pin_checks_per_s=_get(
                env,
                "SPOTLIGHT_PIN_CHECKS_PER_S",
                d.pin_checks_per_s,
                float,
                lambda v: 0.1 <= v <= 1000,
            ),
            stream_token_ttl_s=_get(
                env,
                "SPOTLIGHT_STREAM_TOKEN_TTL_S",
                d.stream_token_ttl_s,
                float,
                lambda v: 5 <= v <= 86400,
            ),
            record=_flag(env, "SPOTLIGHT_RECORD", d.record),
            record_days=_get(env, "SPOTLIGHT_RECORD_DAYS", d.record_days, int, lambda v: v >= 1),
            record_max_mb=_get(
                env, "SPOTLIGHT_RECORD_MAX_MB", d.record_max_mb, int, lambda v: v >= 16
            ),
            record_fsync=_flag(env, "SPOTLIGHT_RECORD_FSYNC", d.record_fsync),
            replay_max=_get(env, "SPOTLIGHT_REPLAY_MAX", d.replay_max, int, lambda v: v >= 0),
            replay_max_mb=_get(
                env, "SPOTLIGHT_REPLAY_MAX_MB", d.replay_max_mb, int, lambda v: v >= 16
            ),
            replay_max_hours=_get(
                env, "SPOTLIGHT_REPLAY_MAX_HOURS", d.replay_max_hours, float, lambda v: v > 0
            ),
            replay_history_events=_get(
                env,
                "SPOTLIGHT_REPLAY_HISTORY_EVENTS",
                d.replay_history_events,
                int,
                lambda v: v >= 1000,
            ),
            voice_url=_ws_url(env, "SPOTLIGHT_VOICE_URL"),
            voice_key=env.get("SPOTLIGHT_VOICE_KEY") or None,
            voice_max_audio_s=_get(
                env,
                "SPOTLIGHT_VOICE_MAX_AUDIO_S",
                d.voice_max_audio_s,
                float,
                lambda v: 1 <= v <= 300,
            ),
            voice_timeout_s=_get(
                env,
                "SPOTLIGHT_VOICE_TIMEOUT_S",
                d.voice_timeout_s,
                float,
                lambda v: 0.5 <= v <= 120,
            ),
            voice_ping_s=_get(
                env, "SPOTLIGHT_VOICE_PING_S", d.voice_ping_s, float, lambda v: 0.1 <= v <= 60
            ),
            voice_idle_s=_get(
                env, "SPOTLIGHT_VOICE_IDLE_S", d.voice_idle_s, float, lambda v: 0.3 <= v <= 600
            ),
        )


def _get(
    env: Mapping[str, str],
    name: str,
    default: T,
    parse: Callable[[str], T],
    ok: Callable[[T], bool],
) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = parse(raw.strip())
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a valid {parse.__name__}; unset it to use {default!r}"
        ) from None
    if not ok(value):
        raise ConfigError(f"{name}={raw!r} is out of range; the default is {default!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in allowed:
        raise ConfigError(f"{name}={env.get(name)!r} must be one of {', '.join(allowed)}")
    return raw


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ConfigError(f"{name}={env.get(name)!r} must be on or off (1/0, true/false)")


def _redis_url(raw: str) -> str | None:
    url = raw.strip()
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"SPOTLIGHT_REDIS_URL must start with redis://, rediss:// or unix:// "
            f"(for example redis://127.0.0.1:6379/0), not {url.split('@')[-1][:60]!r}"
        )
    return url


_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _prefix(raw: str) -> str:
    raw = raw.strip()
    if raw and not _NAME.match(raw):
        raise ConfigError(
            f"SPOTLIGHT_REDIS_PREFIX={raw[:80]!r}: use 1-64 letters, digits, '_', '.', ':', '-'"
        )
    return raw


def _ws_url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    scheme, _, rest = raw.partition("://")
    if scheme.lower() not in ("ws", "wss") or not rest or rest.startswith("/"):
        raise ConfigError(
            f"{name}={raw!r} must be a WebSocket URL, e.g. "
            "wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview"
        )
    return raw


def _node_id(raw: str) -> str | None:
    raw = raw.strip()
    if raw and not _NAME.match(raw):
        raise ConfigError(
            f"SPOTLIGHT_NODE_ID={raw[:80]!r}: use 1-64 letters, digits, '_', '.', ':', '-'"
        )
    return raw or None


def _list(raw: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def _default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "spotlight")


def _symbols(raw: str) -> tuple[str, ...]:
    """Built-in symbols plus SPOTLIGHT_SYMBOLS (comma separated), in order, without repeats."""
    extra = [s.strip().upper() for s in raw.split(",") if s.strip()]
    for s in extra:
        if not _SYMBOL.match(s):
            raise ConfigError(
                f"SPOTLIGHT_SYMBOLS has {s!r}: a symbol is 1-10 letters/digits/dots, "
                "optionally prefixed 'I:' for an index"
            )
    return tuple(dict.fromkeys([*BUILTIN_SYMBOLS, *extra]))
