"""gunicorn settings for the bridge, all overridable from the environment.

The master checks the configuration and the mapping files once before forking, so a
mistake stops the process with one clear message instead of a boot loop. In sandbox
mode (BRIDGE_SANDBOX=1 and no REEVO_API_URL) the master also runs the bundled Reevo
stand-in as a child process and stops it on exit.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

# Before anything imports prometheus_client: every worker writes its metrics here and
# /metrics merges them. A fresh folder per start, as prometheus-client requires.
if os.environ.get("BRIDGE_SUPERVISOR_PID") == str(os.getpid()):
    pass  # a SIGHUP reload re-reads this file: keep the running workers' metrics
elif os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)
else:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="bridge-metrics-")
    os.environ["BRIDGE_OWN_METRICS_DIR"] = "1"  # ours to remove on exit

bind = os.environ.get("BRIDGE_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("BRIDGE_WEB_WORKERS", "2"))
threads = int(os.environ.get("BRIDGE_WEB_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = int(os.environ.get("BRIDGE_GRACEFUL_TIMEOUT", "30"))
accesslog = None  # the bridge logs one structured line per state change instead
errorlog = "-"
proc_name = "reevo-bridge"
control_socket_disable = True  # gunicorn 27 control socket: unused, and /app is read-only to our user

_sandbox = None
_created: set = set()  # temporary folders this master made, removed on exit


def _fail(message: str):
    print(f"reevo-bridge: {message}", file=sys.stderr, flush=True)
    _remove_temporary_folders()
    sys.exit(2)


def _remove_temporary_folders():
    if os.environ.get("BRIDGE_OWN_METRICS_DIR"):
        _created.add(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)


def _check_store(settings):
    """The store must answer before any worker starts: a bad URL or a Redis that is down stops here."""
    from bridge.store import StoreConfigError, StoreUnavailable, open_store
    try:
        open_store(settings.store_url, redis_prefix=settings.redis_prefix).close()
    except (StoreConfigError, StoreUnavailable) as exc:
        _fail(f"store error: {exc}")  # the message names BRIDGE_STORE_URL and hides any password


def on_starting(server):
    """Check settings and mappings in the master; start the sandbox when asked to."""
    global _sandbox
    from bridge.config import ConfigError, load_settings
    from bridge.mapping.loader import load_mappings
    from bridge.web.factory import sandbox_banner
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    if settings.store_url.startswith("memory:") and server.cfg.workers > 1:
        _fail("BRIDGE_STORE_URL=memory:// keeps events inside one process; "
              "set BRIDGE_WEB_WORKERS=1 or use sqlite:///path or redis://")
    _check_store(settings)
    _, problems = load_mappings(settings.mappings_dir)
    if problems:
        _fail("mapping errors:\n  " + "\n  ".join(problems))
    os.environ["BRIDGE_SUPERVISOR_PID"] = str(os.getpid())  # workers send SIGHUP here for /admin/reload
    _snapshot_mappings(settings.mappings_dir)
    if settings.sandbox:
        from sandbox.listing import describe  # what the stand-in holds: ids to point a mapping at
        banner = f"{sandbox_banner(settings)}\n{describe()}\n(again any time: python -m bridge sandbox --list)"
        print("=" * 78 + "\n" + banner + "\n" + "=" * 78, file=sys.stderr, flush=True)
        if not os.environ.get("REEVO_API_URL"):
            _sandbox = subprocess.Popen([sys.executable, "-m", "bridge", "sandbox",
                                         "--host", settings.sandbox_host, "--port", str(settings.sandbox_port)])


def post_fork(server, worker):
    """Hand the GIL around every 1 ms instead of CPython's 5 ms.

    The SQLite writer releases the GIL at every statement while it holds the write lock
    the other workers wait for, and a request thread busy with Python keeps the GIL for
    up to the switch interval before giving it back; 1 ms shortens that wait. In `make
    bench` it raised ingest by 8-19% (three paired runs).
    """
    sys.setswitchinterval(0.001)


def worker_exit(server, worker):
    """Let in-flight deliveries finish (or release them) before this worker process ends."""
    extensions = getattr(getattr(worker, "wsgi", None), "extensions", {})
    runtime = extensions.get("bridge") if isinstance(extensions, dict) else None
    if runtime is not None and runtime.pool is not None:
        runtime.pool.stop(timeout=max(1, graceful_timeout - 2))


def child_exit(server, worker):
    """A dead worker's live gauges (paused) stop counting."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def _snapshot_mappings(folder: str):
    """Keep a copy of the last mapping files that passed the check, for workers started by a reload."""
    snapshot = os.environ.get("BRIDGE_MAPPINGS_SNAPSHOT") or tempfile.mkdtemp(prefix="bridge-mappings-")
    _created.add(snapshot)
    for old in glob.glob(os.path.join(snapshot, "*")):
        os.remove(old)
    for path in glob.glob(os.path.join(folder, "*.yaml")) + glob.glob(os.path.join(folder, "*.yml")):
        shutil.copy(path, snapshot)
    os.environ["BRIDGE_MAPPINGS_SNAPSHOT"] = snapshot


def on_reload(server):
    """SIGHUP: check the mapping files; only files that pass replace the last good copy."""
    from bridge.mapping.loader import load_mappings
    folder = os.environ.get("BRIDGE_MAPPINGS_DIR") or "mappings"
    _, problems = load_mappings(folder)
    if problems:
        print("reevo-bridge: reload: mapping errors, the previous mappings stay in use:\n  "
              + "\n  ".join(problems), file=sys.stderr, flush=True)
    else:
        _snapshot_mappings(folder)


def on_exit(server):
    """Stop the sandbox child, if this master started one, and remove our temporary folders."""
    if _sandbox is not None and _sandbox.poll() is None:
        _sandbox.terminate()
        _sandbox.wait(timeout=10)
    _remove_temporary_folders()
