"""Several processes on one store: SQLite shared on one host, Redis shared by any number of hosts."""
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from bridge.store import ACCEPTED, DELIVERED, DUPLICATE, open_store

WORKER = Path(__file__).with_name("store_worker_proc.py")
EVENTS, TARGETS, PROCESSES = 150, 6, 3


@pytest.mark.parametrize("backend_name", ["sqlite", "redis"])
def test_processes_share_a_store_without_losing_or_doubling_work(backend_name, tmp_path, request):
    if backend_name == "sqlite":
        url, prefix = f"sqlite:///{tmp_path}/shared.db", "bridge:"
    else:
        url, prefix = request.getfixturevalue("redis_server").url, "shared-processes:"
    open_store(url, redis_prefix=prefix).close()  # created (and migrated) once, before the race
    locks, go = tmp_path / "in-flight", tmp_path / "go"
    locks.mkdir()
    processes = [subprocess.Popen([sys.executable, str(WORKER), url, prefix, str(EVENTS), str(TARGETS),
                                   str(locks), str(go), str(n), str(PROCESSES)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for n in range(PROCESSES)]
    go.touch()
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        outputs.append(json.loads(stdout))

    accepted = Counter(result for out in outputs for result in out["accepted"])
    assert accepted == {ACCEPTED: EVENTS, DUPLICATE: EVENTS * (PROCESSES - 1)}, "each event stored once"
    claimed = [i for out in outputs for i in out["claimed"]]
    assert len(claimed) == len(set(claimed)) == EVENTS, "every delivery claimed exactly once"
    assert sum(out["overlaps"] for out in outputs) == 0, "never two processes on one opportunity"
    store = open_store(url, redis_prefix=prefix)
    assert store.counts() == {DELIVERED: EVENTS}
    store.close()
