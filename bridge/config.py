"""Settings read from the environment once, checked at start.

A bad value raises ConfigError with a message naming the variable; the process
prints it and stops instead of failing later on a live webhook.
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

SANDBOX_API_KEY = "sandbox-key"  # the bundled stand-in's public demo key, not a secret
# In sandbox mode only, a source whose secret variable is unset verifies with this public
# value (announced at start), so `make run` + `python -m bridge send` work with no set-up.
SANDBOX_DEMO_SECRET = "whsec_c2FuZGJveC1kZW1vLW9ubHk="
LOG_FORMATS = ("auto", "json", "text")
MAX_SECRET_FILE_BYTES = 64 * 1024  # a secret file is a key, not a document


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class StoreSettings:
    """What opening the store needs; `python -m bridge replay|purge` read only these (no Reevo key)."""

    store_url: str = "sqlite:///var/bridge.db"
    redis_prefix: str = "bridge:"
    retention_days: float = 30.0


@dataclass(frozen=True)
class Settings:
    """Everything the bridge reads from its environment, each default here and nowhere else.

    A new setting is a field here (its default, and its meaning when the name does not say
    it), one line in `load_settings` that falls back to `Settings.<field>`, and a row in
    docs/operating.md. Classes that use a setting take it as an argument without a default.
    """

    reevo_api_url: str = "https://api.reevo.ai"
    reevo_api_key: str = ""
    store_url: str = StoreSettings.store_url
    redis_prefix: str = StoreSettings.redis_prefix
    retention_days: float = StoreSettings.retention_days
    mappings_dir: str = "mappings"
    admin_token: str = ""
    metrics_token: str = ""  # when set, GET /metrics needs `Authorization: Bearer <it>`
    viewer_token: str = ""  # read-only console access; the console needs admin_token set too
    console_session_hours: float = 8.0  # a console sign-in lasts this long
    sandbox: bool = False
    behind_proxy: bool = False  # trust X-Forwarded-Proto/-Host for the URL a signature covers
    sandbox_port: int = 8090
    sandbox_host: str = "127.0.0.1"  # 0.0.0.0 in a container, so the host can reach the stand-in
    max_body_bytes: int = 1024 * 1024
    bind: str = "127.0.0.1:8080"  # gunicorn's listen address
    web_workers: int = 2  # gunicorn worker processes
    web_threads: int = 4  # request threads per worker process
    graceful_timeout: int = 30  # seconds a stopping worker gets to finish its requests and deliveries
    client_timeout: float = 10.0  # seconds a client has to send a whole request (headers and body)
    sentry_dsn: str = ""
    environment: str = "production"  # "sandbox" in sandbox mode
    log_format: str = LOG_FORMATS[0]
    delivery_threads: int = 2  # each waits out a PATCH round trip; one per process lags ingest
    poll_interval: float = 1.0
    lease_seconds: float = 60.0
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    retry_base: float = 1.0
    retry_cap: float = 1800.0
    max_attempts: int = 100
    max_age_seconds: float = 3 * 24 * 3600.0
    target_wait_seconds: float = 3600.0
    match_cache_seconds: float = 300.0
    pause_probe_seconds: float = 30.0
    delivery_batch: int = 10  # deliveries one claim takes (fewer with a rate: what the pace sends in 0.1 s)
    retry_after_cap: float = 3600.0  # the longest Retry-After (or X-RateLimit-Reset) obeyed
    # After a request whose result is unknown, nothing else goes to its opportunity for this long.
    ambiguous_hold_seconds: float = 30.0
    reevo_rate: float = 20.0  # requests per second to Reevo, every process together (0: no limit)
    reevo_concurrency: int = 8  # requests in flight to Reevo, every process together (0: no limit)
    breaker_failures: int = 10  # failed requests in a row that open the circuit breaker (0: never)
    breaker_probe_seconds: float = 15.0  # while open, one probe this often
    env: dict = field(default_factory=dict, repr=False, compare=False)


def _flag(env: dict, name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={raw!r} is not a boolean; use 1 or 0")


def _number(env: dict, name: str, default, kind=float, minimum=0):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a {'whole number' if kind is int else 'number'}") from None
    if not math.isfinite(value):  # nan passes every comparison below: a lease of nan never expires
        raise ConfigError(f"{name}={raw!r} is not a finite number")
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _text(env: dict, name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def _choice(env: dict, name: str, allowed: tuple, default: str) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in allowed:
        raise ConfigError(f"{name}={raw!r} is not one of {', '.join(allowed)}")
    return raw


def read_secret(env: Mapping[str, str], name: str) -> str:
    """Secret variable `name`, given as NAME or as NAME_FILE (the path of a file holding it).

    Docker and Kubernetes mount secrets as files; such a file is read afresh on every call,
    so a reload (which re-forks the workers) picks up a rotated value. Whitespace around the
    file's content (its trailing newline) is dropped. Unset: "". Both set, or a file that
    cannot be read: ConfigError naming the variable (never the value).
    """
    direct = env.get(name, "")
    path = env.get(name + "_FILE", "").strip()
    if not path:
        return direct
    if direct:
        raise ConfigError(f"both {name} and {name}_FILE are set; set only one")
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(MAX_SECRET_FILE_BYTES).strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}_FILE={path!r} cannot be read: {getattr(exc, 'strerror', None) or exc}") from None


def _check_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={url!r} is not an http(s) URL")
    return url.rstrip("/")


def load_store_settings(env: dict | None = None) -> StoreSettings:
    """BRIDGE_STORE_URL, BRIDGE_REDIS_PREFIX and BRIDGE_RETENTION_DAYS from `env` (default: os.environ)."""
    env = dict(os.environ if env is None else env)
    prefix = env.get("BRIDGE_REDIS_PREFIX", StoreSettings.redis_prefix)
    if not prefix.strip() or prefix != prefix.strip():
        raise ConfigError(f"BRIDGE_REDIS_PREFIX={prefix!r} must be non-empty, without spaces around it")
    return StoreSettings(store_url=_text(env, "BRIDGE_STORE_URL", StoreSettings.store_url),
                         redis_prefix=prefix,
                         retention_days=_number(env, "BRIDGE_RETENTION_DAYS", StoreSettings.retention_days, float, 3))


def load_settings(env: dict | None = None) -> Settings:
    """Build Settings from `env` (default: os.environ), raising ConfigError on bad values."""
    env = dict(os.environ if env is None else env)
    sandbox = _flag(env, "BRIDGE_SANDBOX")
    sandbox_port = _number(env, "BRIDGE_SANDBOX_PORT", Settings.sandbox_port, int, 1)
    api_key = read_secret(env, "REEVO_API_KEY").strip()
    api_url = env.get("REEVO_API_URL", "").strip()
    if sandbox:
        api_url = api_url or f"http://127.0.0.1:{sandbox_port}"
        api_key = api_key or SANDBOX_API_KEY
    elif not api_key:
        raise ConfigError(
            "REEVO_API_KEY is not set. Set it (or REEVO_API_KEY_FILE) to a Reevo API key with Opportunities Write, "
            "or set BRIDGE_SANDBOX=1 to deliver to the bundled Reevo stand-in instead."
        )
    settings = Settings(
        reevo_api_url=_check_url("REEVO_API_URL", api_url or Settings.reevo_api_url),
        reevo_api_key=api_key,
        **vars(load_store_settings(env)),
        mappings_dir=_text(env, "BRIDGE_MAPPINGS_DIR", Settings.mappings_dir),
        # Stripped: a token pasted with a newline or spaces could never match.
        admin_token=(read_secret(env, "BRIDGE_ADMIN_TOKEN") or Settings.admin_token).strip(),
        metrics_token=(read_secret(env, "BRIDGE_METRICS_TOKEN") or Settings.metrics_token).strip(),
        viewer_token=(read_secret(env, "BRIDGE_VIEWER_TOKEN") or Settings.viewer_token).strip(),
        console_session_hours=_number(env, "BRIDGE_CONSOLE_SESSION_HOURS", Settings.console_session_hours, float,
                                      0.01),
        behind_proxy=_flag(env, "BRIDGE_BEHIND_PROXY"),
        sandbox=sandbox,
        sandbox_port=sandbox_port,
        sandbox_host=_text(env, "BRIDGE_SANDBOX_HOST", Settings.sandbox_host),
        max_body_bytes=_number(env, "BRIDGE_MAX_BODY_BYTES", Settings.max_body_bytes, int, 1),
        bind=_text(env, "BRIDGE_BIND", Settings.bind),
        web_workers=_number(env, "BRIDGE_WEB_WORKERS", Settings.web_workers, int, 1),
        web_threads=_number(env, "BRIDGE_WEB_THREADS", Settings.web_threads, int, 1),
        graceful_timeout=_number(env, "BRIDGE_GRACEFUL_TIMEOUT", Settings.graceful_timeout, int, 1),
        client_timeout=_number(env, "BRIDGE_CLIENT_TIMEOUT", Settings.client_timeout, float, 1),
        sentry_dsn=env.get("SENTRY_DSN", Settings.sentry_dsn),
        environment=_text(env, "BRIDGE_ENVIRONMENT", "sandbox" if sandbox else Settings.environment),
        log_format=_choice(env, "BRIDGE_LOG_FORMAT", LOG_FORMATS, Settings.log_format),
        delivery_threads=_number(env, "BRIDGE_DELIVERY_THREADS", Settings.delivery_threads, int, 0),
        poll_interval=_number(env, "BRIDGE_POLL_INTERVAL", Settings.poll_interval),
        lease_seconds=_number(env, "BRIDGE_LEASE_SECONDS", Settings.lease_seconds, float, 1),
        connect_timeout=_number(env, "BRIDGE_CONNECT_TIMEOUT", Settings.connect_timeout),
        read_timeout=_number(env, "BRIDGE_READ_TIMEOUT", Settings.read_timeout),
        retry_base=_number(env, "BRIDGE_RETRY_BASE", Settings.retry_base),
        retry_cap=_number(env, "BRIDGE_RETRY_CAP", Settings.retry_cap),
        max_attempts=_number(env, "BRIDGE_MAX_ATTEMPTS", Settings.max_attempts, int, 1),
        max_age_seconds=_number(env, "BRIDGE_MAX_AGE_SECONDS", Settings.max_age_seconds),
        target_wait_seconds=_number(env, "BRIDGE_TARGET_WAIT_SECONDS", Settings.target_wait_seconds),
        match_cache_seconds=_number(env, "BRIDGE_MATCH_CACHE_SECONDS", Settings.match_cache_seconds),
        pause_probe_seconds=_number(env, "BRIDGE_PAUSE_PROBE_SECONDS", Settings.pause_probe_seconds),
        retry_after_cap=_number(env, "BRIDGE_RETRY_AFTER_CAP", Settings.retry_after_cap, float, 1),
        ambiguous_hold_seconds=_number(env, "BRIDGE_AMBIGUOUS_HOLD_SECONDS", Settings.ambiguous_hold_seconds),
        reevo_rate=_number(env, "BRIDGE_REEVO_RATE", Settings.reevo_rate),
        reevo_concurrency=_number(env, "BRIDGE_REEVO_CONCURRENCY", Settings.reevo_concurrency, int, 0),
        breaker_failures=_number(env, "BRIDGE_BREAKER_FAILURES", Settings.breaker_failures, int, 0),
        breaker_probe_seconds=_number(env, "BRIDGE_BREAKER_PROBE_SECONDS", Settings.breaker_probe_seconds,
                                      float, 0.01),
        env=env,
    )
    request_limit = settings.connect_timeout + settings.read_timeout
    if settings.lease_seconds <= request_limit:
        # A worker must have given up on its request before its lease lets another worker
        # send a newer change to the same opportunity.
        raise ConfigError(f"BRIDGE_LEASE_SECONDS={settings.lease_seconds:g} must be longer than "
                          f"BRIDGE_CONNECT_TIMEOUT + BRIDGE_READ_TIMEOUT ({request_limit:g})")
    if settings.ambiguous_hold_seconds < settings.read_timeout:
        # A request that outlived our read timeout may take as long again inside Reevo.
        raise ConfigError(f"BRIDGE_AMBIGUOUS_HOLD_SECONDS={settings.ambiguous_hold_seconds:g} must be at least "
                          f"BRIDGE_READ_TIMEOUT ({settings.read_timeout:g})")
    return settings
