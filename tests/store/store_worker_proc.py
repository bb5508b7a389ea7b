"""One of several processes sharing a store: accept the same events, then claim and complete until done.

usage: python store_worker_proc.py URL PREFIX EVENTS TARGETS LOCKDIR GOFILE NAME PROCESSES
Prints one JSON line: the accept results, the ids it claimed, and how often it found
another process in flight on the same opportunity (must be never).
"""
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bridge.store import PENDING, EventRecord, NewDelivery, open_store  # noqa: E402


def wait_for(paths: list[Path]) -> None:
    deadline = time.monotonic() + 30
    while not all(p.exists() for p in paths) and time.monotonic() < deadline:
        time.sleep(0.005)  # real-time: a barrier with the other processes


def main(url, prefix, events, targets, lock_dir, go, name, processes) -> dict:
    store = open_store(url, redis_prefix=prefix)
    wait_for([Path(go)])
    results = []
    for number in range(int(events)):
        event = EventRecord("stripe", f"evt_{number}", "t", None, "h", data={"n": number})
        target = {"id": f"opp-{number % int(targets)}"}
        results.append(store.accept(event, [NewDelivery("r", target, {"stage": "s"})], time.time()))
    (Path(lock_dir).parent / f"accepted-{name}").touch()
    wait_for([Path(lock_dir).parent / f"accepted-{n}" for n in range(int(processes))])
    claimed, overlaps = [], 0
    while True:
        records = store.claim(3, 60, time.time())
        if not records:
            if not any(store.counts().get(s) for s in PENDING):
                break
            continue
        for record in records:
            marker = Path(lock_dir) / record.target["id"]
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                overlaps += 1
            claimed.append(record.id)
            time.sleep(0.002)  # real-time: a PATCH takes a while, so the processes' claims interleave
            os.remove(marker)
            assert store.complete(record.id, record.lease_token, time.time())
    store.close()
    return {"accepted": results, "claimed": claimed, "overlaps": overlaps}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
