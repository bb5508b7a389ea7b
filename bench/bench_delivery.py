"""Delivery drain with and without a shared rate: delivered PATCH/s at the upstream.

A backlog is stored first (SQLite, one delivery per event, each for its own opportunity),
then one `python -m bridge worker` process (the shipped thread count) drains it into
bench/upstream.py. Runs: no rate (BRIDGE_REEVO_RATE=0: only the concurrency and breaker
bookkeeping), and rates of 20/s (the default) and 100/s. The no-rate run is the baseline;
with a rate the result should sit just under that rate (the pace admits at most rate·t + 1
requests in t seconds). Each backlog is sized to drain in about 3 s, so the bench stays short.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_http import call, free_port, wait_until  # noqa: E402
from bench_store import ATTRIBUTES, event  # noqa: E402

from bridge.store import PENDING, NewDelivery, open_store  # noqa: E402
RUNS = (("no rate (baseline)", "0", 600), ("rate 20/s (default)", "20", 60), ("rate 100/s", "100", 300))


def seed(url: str, count: int) -> None:
    store = open_store(url)
    try:
        now = time.time()
        for i in range(count):
            store.accept(event(i), [NewDelivery("r", {"id": f"opp-{i}"}, ATTRIBUTES)], now)
    finally:
        store.close()


def drain(folder: Path, upstream_port: int, rate: str, count: int) -> dict:
    """Seed `count` deliveries, run one worker process until they are delivered; the upstream's stats."""
    url = f"sqlite:///{folder}/drain-{rate}.db"
    seed(url, count)
    call(upstream_port, "POST", "/_bench/reset")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BRIDGE_", "REEVO_", "SENTRY_"))}
    env.update(REEVO_API_URL=f"http://127.0.0.1:{upstream_port}", REEVO_API_KEY="sandbox-key", BRIDGE_STORE_URL=url,
               BRIDGE_MAPPINGS_DIR=str(ROOT / "mappings"), BRIDGE_REEVO_RATE=rate, BRIDGE_POLL_INTERVAL="0.05")
    worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = open_store(url)
    try:
        wait_until(lambda: not any(store.counts().get(s) for s in PENDING), 120, f"the drain at rate {rate}", 0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        store.close()
    status, stats = call(upstream_port, "GET", "/_bench/stats")
    if status != 200 or stats["patches"] != count or stats["distinct_keys"] != count:
        raise SystemExit(f"delivery bench: the upstream saw {stats}, expected {count} distinct PATCHes")
    stats["per_s"] = (count - 1) / max(stats["last"] - stats["first"], 1e-9)  # between the first and last PATCH
    return stats


def main() -> dict:
    """Print delivered/s per run and its ratio to the no-rate baseline."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="bridge-bench-delivery-") as folder:
        port = free_port()
        upstream = subprocess.Popen([sys.executable, str(ROOT / "bench/upstream.py"), "--port", str(port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: call(port, "GET", "/api/v2/health")[0] == 200, 15, "the bench upstream")
            for name, rate, count in RUNS:
                results[name] = drain(Path(folder), port, rate, count)
        finally:
            upstream.terminate()
            upstream.wait(timeout=10)
    baseline = results[RUNS[0][0]]["per_s"]
    for name, rate, count in RUNS:
        per_s = results[name]["per_s"]
        limit = f"  (limit {rate}/s: {per_s / float(rate):.2f} of it)" if rate != "0" else ""
        print(f"  {name:<22} {count:4d} deliveries  {per_s:7.1f} delivered/s  ratio to no rate {per_s / baseline:5.2f}"
              f"{limit}")
    return results


if __name__ == "__main__":
    main()
