"""Wires settings, mappings, store, Reevo client and workers into one bridge; `Runtime.start` runs it."""
from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bridge.store.interface import Store
from bridge.web import admin, admin_events, console, webhooks
from bridge.web.json_provider import BoundedJSONProvider
from bridge.telemetry.alerts import init_sentry
from bridge.config import SANDBOX_API_KEY, SANDBOX_DEMO_SECRET, Settings, load_settings
from bridge.delivery.decisions import Policy
from bridge.delivery.gate import Gate
from bridge.delivery.pace import PaceConfig
from bridge.delivery.worker import DeliveryWorker, WorkerPool
from bridge.accept import STORE_RETRY_AFTER, AcceptPipeline, build_sources
from bridge.mapping.loader import load_mappings
from bridge.mapping.model import MappingError
from bridge.telemetry.logs import SCRUBBER, configure_logging, log_state
from bridge.delivery.reevo_client import ReevoClient
from bridge.ops.retention import RetentionThread, start_retention
from bridge.store import StoreUnavailable
from bridge.store.deferred import DeferredStore, open_store_later
from bridge.delivery.targets import TargetResolver
from bridge.reasons import Rejected

log = logging.getLogger("bridge.web")


@dataclass
class Runtime:
    """Everything one bridge process holds; kept in `app.extensions["bridge"]`.

    Building it only wires; `start()` does the process-wide set-up (logging, the log
    scrubber, Sentry) and starts the delivery and retention threads, and `stop()` ends them.
    """

    settings: Settings
    pipeline: AcceptPipeline
    store: Store
    worker: DeliveryWorker
    pool: WorkerPool | None = None
    clock: Callable[[], float] = time.time
    reload_status: dict = field(default_factory=lambda: {"status": "loaded"})
    supervisor: int | None = None  # the gunicorn master's pid, asked to reload every worker
    retention: RetentionThread | None = None

    def start(self, supervisor: int | None = None) -> Runtime:
        """Set up this process for serving and start its background threads (once)."""
        settings = self.settings
        setup_process(settings, self.pipeline.sources)
        self.supervisor = supervisor
        if settings.delivery_threads and self.pool is None:
            self.pool = WorkerPool(self.worker, settings.delivery_threads, settings.poll_interval).start()
            self.retention = start_retention(self.store, settings.retention_days, self.clock)
        log_state(log, "worker started", pid=os.getpid(), delivery_threads=settings.delivery_threads)
        return self

    def stop(self, timeout: float) -> bool:
        """Stop claiming; let in-flight deliveries finish for up to `timeout`. True if all did."""
        if self.retention is not None:
            self.retention.stop()
        return self.pool.stop(timeout=timeout) if self.pool is not None else True

    def reload(self) -> dict:
        """Re-read the mapping files; on any problem keep the mappings in use and say why.

        Under gunicorn the master is asked (SIGHUP) to replace the workers gracefully, so
        every process switches and no request is dropped; alone, this process switches.
        """
        try:
            sources = load_web_sources(self.settings)
        except MappingError as exc:
            self.reload_status = {"status": "rejected", "at": self.clock(), "problems": exc.problems}
            log_state(log, "reload rejected; the previous mappings stay in use", logging.ERROR,
                      problems=exc.problems)
            return self.reload_status
        if self.supervisor and self.supervisor == os.getppid():
            os.kill(self.supervisor, signal.SIGHUP)
            self.reload_status = {"status": "reloading", "at": self.clock(), "sources": sorted(sources)}
        else:
            SCRUBBER.add(secret_values(self.settings, sources))
            self.pipeline.sources = sources
            self.reload_status = {"status": "reloaded", "at": self.clock(), "sources": sorted(sources)}
        self.reload_status.update(secrets_report(sources))
        log_state(log, self.reload_status["status"], sources=",".join(sorted(sources)),
                  lacking_secret=",".join(self.reload_status["lacking_secret"]) or None)
        return self.reload_status


def setup_process(settings: Settings, sources: dict) -> None:
    """Process-wide set-up for serving or delivering: logging, the log scrubber, Sentry."""
    configure_logging(settings.log_format)
    if settings.sandbox:
        log.warning(sandbox_banner(settings))
    SCRUBBER.add(secret_values(settings, sources))
    init_sentry(settings.sentry_dsn, settings.environment)


def sandbox_banner(settings: Settings) -> str:
    """The plain warning printed whenever deliveries go to the stand-in, not to Reevo."""
    return (f"SANDBOX MODE: deliveries go to the bundled Reevo stand-in at {settings.reevo_api_url}, "
            "not to a real Reevo workspace. Set REEVO_API_KEY (and unset BRIDGE_SANDBOX) to go live.")


def build_worker(settings: Settings, store: Store, clock) -> DeliveryWorker:
    """A delivery worker configured from settings (shared by the web app and `bridge worker`)."""
    client = ReevoClient(settings.reevo_api_url, settings.reevo_api_key,
                         settings.connect_timeout, settings.read_timeout)
    request_limit = settings.connect_timeout + settings.read_timeout
    policy = Policy(base=settings.retry_base, cap=settings.retry_cap, max_attempts=settings.max_attempts,
                    max_age=settings.max_age_seconds, retry_after_cap=settings.retry_after_cap,
                    hold_seconds=settings.ambiguous_hold_seconds, pause_probe=settings.pause_probe_seconds,
                    request_limit=request_limit)
    pace = PaceConfig(rate=settings.reevo_rate, concurrency=settings.reevo_concurrency,
                      breaker_failures=settings.breaker_failures,
                      breaker_probe_seconds=settings.breaker_probe_seconds,
                      permit_seconds=request_limit + 1.0, retry_after_cap=settings.retry_after_cap)
    resolver = TargetResolver(client, settings.match_cache_seconds, settings.target_wait_seconds)
    return DeliveryWorker(store, client, policy, Gate(store, pace, clock), resolver, clock,
                          settings.lease_seconds, settings.delivery_batch)


def load_web_sources(settings: Settings, directory: str | None = None):
    """Compile every mapping file; raise MappingError listing every problem."""
    mappings, problems = load_mappings(directory or settings.mappings_dir)
    if problems:
        raise MappingError(problems)
    demo = SANDBOX_DEMO_SECRET if settings.sandbox else None
    sources = build_sources(mappings, settings.env, demo)
    demo_sources = sorted(name for name, source in sources.items() if source.demo)
    if demo_sources:
        log_state(log, "SANDBOX MODE: sources whose secret is unset verify with the public demo secret",
                  logging.WARNING, sources=",".join(demo_sources))
    for name, source in sources.items():
        if source.mapping.scheme == "none":
            log_state(log, "source accepts UNSIGNED webhooks (verify.scheme: none)", logging.WARNING, source=name)
        for problem in source.secret_problems:
            log_state(log, "secret file problem", logging.ERROR, source=name, detail=problem)
        if source.missing:
            log_state(log, "source disabled until its secret is set; its webhooks get 503", logging.ERROR,
                      source=name, missing=",".join(source.missing))
    return sources


def secrets_report(sources: dict) -> dict:
    """What a reload says about secrets: sources still lacking one (their webhooks get 503), sources
    on the sandbox demo secret, and secret files that could not be read (names and paths, never values)."""
    return {"lacking_secret": sorted(name for name, s in sources.items() if s.missing),
            "demo_secret": sorted(name for name, s in sources.items() if s.demo),
            "secret_problems": [p for _, s in sorted(sources.items()) for p in s.secret_problems]}


def startup_sources(settings: Settings, fallback: str | None = None) -> tuple[dict, dict]:
    """(sources, load status). A worker started by a gunicorn reload whose new files are bad
    falls back to `fallback`, the last good copy the master keeps (bridge.web.server)."""
    try:
        return load_web_sources(settings), {"status": "loaded"}
    except MappingError as exc:
        if not fallback:
            raise
        log_state(log, "mapping files have problems; using the last good copy", logging.ERROR,
                  problems=exc.problems)
        return load_web_sources(settings, fallback), {"status": "rejected", "problems": exc.problems}


def store_unavailable(exc: StoreUnavailable):
    """Any route whose store call fails answers 503 with Retry-After, never a 500."""
    log_state(log, "store unavailable", logging.ERROR, reason=Rejected.STORE_UNAVAILABLE, detail=str(exc))
    response = jsonify({"status": "rejected", "reason": Rejected.STORE_UNAVAILABLE,
                        "detail": "the event store is unavailable; retry later"})
    response.status_code = 503
    response.headers["Retry-After"] = str(STORE_RETRY_AFTER)
    return response


def secret_values(settings: Settings, sources: dict) -> list[str]:
    """Every configured secret value, for the scrubber: webhook secrets, API key, admin, viewer and metrics
    tokens, DSN."""
    values = [settings.reevo_api_key, settings.admin_token, settings.viewer_token, settings.metrics_token,
              settings.sentry_dsn]
    values += [secret for source in sources.values() for secret in source.secrets]
    return [v for v in values if v and v != SANDBOX_API_KEY]


def build_app(config=None, clock=None, mappings_fallback: str | None = None, migrate_store: bool = True) -> Flask:
    """See bridge.create_app."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    clock = clock or time.time
    sources, load_status = startup_sources(settings, mappings_fallback)
    store = open_store_later(settings.store_url, redis_prefix=settings.redis_prefix, migrate=migrate_store)
    if isinstance(store, DeferredStore):
        log_state(log, "store unavailable at start; webhooks get 503 until it answers", logging.WARNING,
                  reason=store.error)
    worker = build_worker(settings, store, clock)
    app = Flask("bridge")
    app.json = BoundedJSONProvider(app)
    app.json.sort_keys = False  # Flask's documented switch
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    if settings.behind_proxy:
        # request.url must be the URL the sender called: HubSpot and PandaDoc sign it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(admin.blueprint)
    app.register_blueprint(admin_events.blueprint)
    console.install(app, settings, clock)
    app.register_error_handler(HTTPException, webhooks.http_error)
    app.register_error_handler(StoreUnavailable, store_unavailable)
    app.extensions["bridge"] = Runtime(settings, AcceptPipeline(sources, store, clock), store, worker,
                                       clock=clock, reload_status=load_status)
    return app
