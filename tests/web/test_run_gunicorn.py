"""`make run`'s path with real processes: gunicorn, the sandbox child, `bridge send`."""
import json
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
import requests

from helpers import OPP, ROOT, SANDBOX_KEY, free_port, wait_for

SUBSCRIPTION = ROOT / "tests/fixtures/stripe/subscription-active/payload.json"


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REEVO_", "BRIDGE_", "STRIPE_", "SENTRY_"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def gunicorn(env: dict, output=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
                            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def responds(url: str):
    try:
        return requests.get(url, timeout=1).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # not up yet, or slow on a loaded machine: poll again
        return False


def refused(url: str) -> bool:
    """Nothing listens there any more (a slow answer is still an answer)."""
    try:
        requests.get(url, timeout=10)
    except requests.ConnectionError:
        return True
    return False


def test_sandbox_mode_runs_end_to_end_and_stops_cleanly(tmp_path):
    bridge_port, sandbox_port = free_port(), free_port()
    # BRIDGE_SANDBOX_HOST as the image sets it (the test still talks to 127.0.0.1 only).
    env = clean_env(BRIDGE_SANDBOX=1, BRIDGE_SANDBOX_PORT=sandbox_port, BRIDGE_BIND=f"127.0.0.1:{bridge_port}",
                    BRIDGE_SANDBOX_HOST="0.0.0.0",
                    BRIDGE_STORE_URL=f"sqlite:///{tmp_path}/bridge.db", BRIDGE_POLL_INTERVAL=0.1,
                    BRIDGE_WEB_WORKERS=2)
    process = gunicorn(env)
    try:
        bridge_url, sandbox_url = f"http://127.0.0.1:{bridge_port}", f"http://127.0.0.1:{sandbox_port}"
        wait_for(lambda: responds(f"{bridge_url}/readyz") and responds(f"{sandbox_url}/api/v2/health"),
                 what="bridge and sandbox to answer")
        sent = subprocess.run([sys.executable, "-m", "bridge", "send", "stripe", str(SUBSCRIPTION),
                               "--url", bridge_url], cwd=ROOT, env=clean_env(), capture_output=True, text=True)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.startswith("202 ")

        def stage():
            response = requests.get(f"{sandbox_url}/api/v2/opportunity/{OPP}",
                                    headers={"Authorization": f"Bearer {SANDBOX_KEY}"}, timeout=2)
            return response.json()["data"]["attributes"]["stage"]["value"]["api_name"] == "closed_won"
        wait_for(stage, what="the opportunity to reach closed_won")
        github = ROOT / "tests/fixtures/github/production-deployed"
        sent = subprocess.run([sys.executable, "-m", "bridge", "send", "github", str(github / "payload.json"),
                               "--headers", str(github / "headers.json"), "--url", bridge_url],
                              cwd=ROOT, env=clean_env(), capture_output=True, text=True)
        delivery_id = json.loads((github / "headers.json").read_text())["X-GitHub-Delivery"]
        assert sent.stdout.startswith("202 ") and delivery_id in sent.stdout, sent.stdout + sent.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert "SANDBOX MODE" in output
    assert f"Reevo sandbox listening on http://0.0.0.0:{sandbox_port}" in output
    assert "Sandbox opportunities" in output and OPP in output and "closed_lost = Closed Lost" in output
    assert refused(f"{sandbox_url}/api/v2/health"), "the sandbox child stops with the bridge"


@pytest.mark.parametrize("env,message", [
    ({}, "REEVO_API_KEY is not set"),
    ({"BRIDGE_SANDBOX": "maybe"}, "BRIDGE_SANDBOX='maybe' is not a boolean"),
    ({"REEVO_API_KEY": "k", "BRIDGE_STORE_URL": "memory://", "BRIDGE_WEB_WORKERS": "2"}, "memory://"),
    ({"REEVO_API_KEY": "k", "BRIDGE_MAPPINGS_DIR": "BAD"}, "bad.yaml: line 2, column 1: not valid YAML"),
    ({"REEVO_API_KEY": "k", "BRIDGE_WEB_WORKERS": "abc"}, "BRIDGE_WEB_WORKERS='abc' is not a whole number"),
    ({"REEVO_API_KEY": "k", "BRIDGE_WEB_THREADS": "0"}, "BRIDGE_WEB_THREADS='0' must be at least 1"),
    ({"REEVO_API_KEY": "k", "BRIDGE_LEASE_SECONDS": "nan"}, "BRIDGE_LEASE_SECONDS='nan' is not a finite number"),
])
def test_refuses_to_start_with_a_clear_message(tmp_path, env, message):
    if env.get("BRIDGE_MAPPINGS_DIR") == "BAD":
        (tmp_path / "bad.yaml").write_text("verify: [unclosed\n")
        env = {**env, "BRIDGE_MAPPINGS_DIR": str(tmp_path)}
    process = gunicorn(clean_env(BRIDGE_BIND=f"127.0.0.1:{free_port()}", **env))
    output = process.communicate(timeout=30)[0]
    assert process.returncode != 0
    assert message in output


def test_migrations_run_once_in_the_master_and_a_failed_one_stops_the_start(tmp_path):
    """Workers never migrate (their boot must not need the write lock); the master does, before forking."""
    import sqlite3
    newer = tmp_path / "newer.db"
    with sqlite3.connect(newer) as db:  # a store written by a later version of the bridge
        db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        db.execute("INSERT INTO schema_version VALUES (99)")
    process = gunicorn(clean_env(REEVO_API_KEY="k", BRIDGE_BIND=f"127.0.0.1:{free_port()}",
                                 BRIDGE_STORE_URL=f"sqlite:///{newer}"))
    output = process.communicate(timeout=30)[0]
    assert process.returncode != 0 and "Booting worker" not in output, "no worker was started"
    assert "store error" in output and "schema version 99, newer than this bridge knows" in output
    fresh = tmp_path / "fresh.db"
    port = free_port()
    process = gunicorn(clean_env(REEVO_API_KEY="k", BRIDGE_BIND=f"127.0.0.1:{port}",
                                 BRIDGE_STORE_URL=f"sqlite:///{fresh}"))
    try:
        wait_for(lambda: responds(f"http://127.0.0.1:{port}/readyz"), what="the bridge on a fresh store")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    from bridge.store.sqlite_schema import SCHEMA_VERSION
    with sqlite3.connect(fresh) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == \
            [(version,) for version in range(1, SCHEMA_VERSION + 1)], "the master migrated the fresh store"


def test_a_reload_then_a_stop_leaves_no_sandbox_running(tmp_path):
    """Issue 15 bug 2: the master re-executes gunicorn.conf.py on SIGHUP; the sandbox handle survives it."""
    bridge_port, sandbox_port = free_port(), free_port()
    log_path = tmp_path / "gunicorn.log"
    env = clean_env(BRIDGE_SANDBOX=1, BRIDGE_SANDBOX_PORT=sandbox_port, BRIDGE_BIND=f"127.0.0.1:{bridge_port}",
                    BRIDGE_STORE_URL=f"sqlite:///{tmp_path}/bridge.db", BRIDGE_WEB_WORKERS=1)
    with open(log_path, "w") as log:
        process = gunicorn(env, output=log)
    try:
        wait_for(lambda: responds(f"http://127.0.0.1:{bridge_port}/healthz")
                 and responds(f"http://127.0.0.1:{sandbox_port}/api/v2/health"), what="bridge and sandbox")
        process.send_signal(signal.SIGHUP)
        booted = lambda: re.findall(r"Booting worker with pid: (\d+)", log_path.read_text())  # noqa: E731
        wait_for(lambda: len(booted()) == 2, what="the worker started by the reload")
        wait_for(lambda: responds(f"http://127.0.0.1:{bridge_port}/healthz"), what="the reloaded worker")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        orphans = kill_sandboxes_on(sandbox_port)
    assert not orphans, "the sandbox child stopped with the bridge, reload or not"


def kill_sandboxes_on(port: int) -> list[int]:
    """Kill what a failed stop left behind: sandbox processes started for this test's port."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"sandbox" in argv and str(port).encode() in argv:
            found.append(int(entry))
            os.kill(int(entry), signal.SIGKILL)
    return found
