"""`make bench`: every benchmark, each reported as a ratio to a baseline measured in the same run."""
import platform
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_render  # noqa: E402
import bench_store  # noqa: E402
import bench_events  # noqa: E402
import bench_http  # noqa: E402
import bench_tricks  # noqa: E402
import bench_delivery  # noqa: E402


def machine() -> str:
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{python}, {os.cpu_count()} CPUs, {platform.machine()}"


if __name__ == "__main__":
    print(f"machine: {machine()}")
    print("== mapping render ==")
    bench_render.main()
    print("== store: accept, claim+complete per backend ==")
    bench_store.main()
    print("== speed tricks that reach into library internals, each against the code without it ==")
    bench_tricks.main(["reevo", "logging"])
    print("== console: the event list and its queries on a store of 200,000 events ==")
    bench_events.main()
    print("== HTTP: the bridge and a bare Flask app under the same gunicorn, driven by wrk ==")
    bench_http.main()
    print("== delivery: a backlog drained by one worker process, without and with a shared rate ==")
    bench_delivery.main()
