"""The bridge under gunicorn: the master's checks and children, and the worker hooks.

`gunicorn.conf.py` is a thin shim over this module. The master's state lives here and
not in the config file, because gunicorn re-executes that file on every reload (SIGHUP)
while this module stays imported: the sandbox child and the folders the master made are
still known when it exits. Forked workers inherit the state (the master's pid, the last
good mapping files); nothing is handed to them through environment variables.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import NoReturn

from bridge.config import Settings  # light: nothing here may import prometheus_client before the folder is set

WORKER_CLASS = "bridge.web.edge_worker.EdgeWorker"  # gthread that reads requests whole first
WORKER_TIMEOUT = 30  # seconds of silence before the master replaces a stuck worker


@dataclass
class MasterState:
    """What the gunicorn master knows once its checks passed (inherited by every worker)."""

    settings: Settings
    pid: int
    snapshot: str  # a folder holding the last mapping files that passed the check
    sandbox: subprocess.Popen | None = None


_settings: Settings | None = None  # read once, when the config file is first loaded
_master: MasterState | None = None
_folders: list[str] = []  # temporary folders this master made, removed on exit
_metrics_ready = False


def fail(message: str) -> NoReturn:
    """Stop the start with one clear line (and no traceback)."""
    print(f"reevo-bridge: {message}", file=sys.stderr, flush=True)
    remove_folders()
    sys.exit(2)


def remove_folders() -> None:
    """Remove the temporary folders this process made."""
    while _folders:
        shutil.rmtree(_folders.pop(), ignore_errors=True)


def master_settings() -> Settings:
    """The settings this master (and so its workers) runs with; a bad one stops the start."""
    global _settings
    if _settings is None:
        from bridge.config import ConfigError, load_settings
        try:
            _settings = load_settings()
        except ConfigError as exc:
            fail(f"configuration error: {exc}")
    return _settings


def prepare_metrics_folder() -> None:
    """Give prometheus-client its multiprocess folder before anything imports it.

    Every worker writes its metrics there and /metrics merges them; prometheus-client
    reads the folder from PROMETHEUS_MULTIPROC_DIR and wants it fresh per start. A
    reload re-runs the config file: the running workers' files are kept.
    """
    global _metrics_ready
    if _metrics_ready:
        return
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for stale in glob.glob(os.path.join(folder, "*.db")):
            os.remove(stale)
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _temporary_folder("bridge-metrics-")
    _metrics_ready = True


def _temporary_folder(prefix: str) -> str:
    folder = tempfile.mkdtemp(prefix=prefix)
    _folders.append(folder)
    return folder


def gunicorn_settings() -> dict:
    """gunicorn's settings, all from the bridge's settings."""
    settings = master_settings()
    return {
        "bind": settings.bind, "workers": settings.web_workers, "threads": settings.web_threads,
        "worker_class": WORKER_CLASS, "timeout": WORKER_TIMEOUT, "graceful_timeout": settings.graceful_timeout,
        "accesslog": None,  # the bridge logs one structured line per state change instead
        "errorlog": "-", "proc_name": "reevo-bridge",
        "control_socket_disable": True,  # gunicorn 27's control socket: unused, and /app is read-only
    }


def app_options() -> dict:
    """What a worker's create_app needs from its master: the last good mapping files (a reload
    with bad files falls back to them) and that the store is already migrated. Nothing outside gunicorn."""
    if _master is None:
        return {}
    return {"mappings_fallback": _master.snapshot, "migrate_store": False}


# ---- master hooks ---------------------------------------------------------------------
def on_starting(server) -> None:
    """Check settings, store and mappings once, before any worker; start the sandbox if asked."""
    global _master
    settings = master_settings()
    if settings.store_url.startswith("memory:") and server.cfg.workers > 1:
        fail("BRIDGE_STORE_URL=memory:// keeps events inside one process; "
             "set BRIDGE_WEB_WORKERS=1 or use sqlite:///path or redis://")
    _check_store(settings)
    problems = _mapping_problems(settings.mappings_dir)
    if problems:
        fail("mapping errors:\n  " + "\n  ".join(problems))
    _master = MasterState(settings, os.getpid(), _temporary_folder("bridge-mappings-"))
    _snapshot_mappings(settings.mappings_dir, _master.snapshot)
    if settings.sandbox:
        from bridge.web.factory import sandbox_banner
        print("=" * 78 + "\n" + sandbox_banner(settings) + "\n" + "=" * 78, file=sys.stderr, flush=True)
        if not settings.env.get("REEVO_API_URL"):
            _master.sandbox = subprocess.Popen([sys.executable, "-m", "bridge", "sandbox",
                                                "--host", settings.sandbox_host, "--port", str(settings.sandbox_port),
                                                "--show"])  # it prints its opportunities and stages


def _check_store(settings) -> None:
    """Open the store once before any worker starts, running its migrations (SQLite) here only.

    A bad URL, a Redis that is down at start or a migration that fails stops the start with
    one line; once running, a store outage never stops the master (workers boot without it).
    """
    from bridge.store import StoreConfigError, StoreUnavailable, open_store
    try:
        open_store(settings.store_url, redis_prefix=settings.redis_prefix).close()
    except (StoreConfigError, StoreUnavailable) as exc:
        fail(f"store error: {exc}")  # the message names BRIDGE_STORE_URL and hides any password


def _mapping_problems(folder: str) -> list[str]:
    from bridge.mapping.loader import load_mappings
    return load_mappings(folder)[1]


def _snapshot_mappings(folder: str, snapshot: str) -> None:
    """Replace the snapshot's files with the mapping files of `folder`."""
    for old in glob.glob(os.path.join(snapshot, "*")):
        os.remove(old)
    for path in glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "*.yml")):
        shutil.copy(path, snapshot)


def on_reload(server) -> None:
    """SIGHUP: check the mapping files; only files that pass replace the last good copy."""
    if _master is None:
        return
    folder = _master.settings.mappings_dir
    problems = _mapping_problems(folder)
    if problems:
        print("reevo-bridge: reload: mapping errors, the previous mappings stay in use:\n  "
              + "\n  ".join(problems), file=sys.stderr, flush=True)
    else:
        _snapshot_mappings(folder, _master.snapshot)


def child_exit(server, worker) -> None:
    """A dead worker's live gauges (paused) stop counting."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Stop the sandbox child, if this master started one, and remove our temporary folders."""
    sandbox = _master.sandbox if _master is not None else None
    if sandbox is not None and sandbox.poll() is None:
        sandbox.terminate()
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()
            sandbox.wait(timeout=10)
    remove_folders()


# ---- worker hooks ---------------------------------------------------------------------
def post_fork(server, worker) -> None:
    """Process-wide set-up of a new worker, before it builds the app.

    (CPython's GIL switch interval stays at its default: a 1 ms interval here showed no
    ingest gain beyond run-to-run noise, see docs/performance.md.)
    """
    from bridge.telemetry.logs import configure_logging
    configure_logging(master_settings().log_format)  # build-time warnings get the bridge's format


def post_worker_init(worker) -> None:
    """The app is built: start it (logging, scrubber, Sentry, delivery and retention threads)."""
    runtime = _runtime(worker)
    if runtime is not None:
        runtime.start(supervisor=_master.pid if _master is not None else None)


def worker_exit(server, worker) -> None:
    """Let in-flight deliveries finish (or release them) before this worker process ends."""
    runtime = _runtime(worker)
    if runtime is not None:
        runtime.stop(timeout=max(1, server.cfg.graceful_timeout - 2))


def _runtime(worker):
    extensions = getattr(getattr(worker, "wsgi", None), "extensions", None)
    return extensions.get("bridge") if isinstance(extensions, dict) else None
