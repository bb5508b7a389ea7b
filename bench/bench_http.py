"""HTTP ingest and delivery: the bridge under gunicorn next to a bare Flask app, same settings.

Starts, on free 127.0.0.1 ports in a temporary folder:
  - bench/upstream.py, a minimal fast Reevo stand-in that answers PATCH with 200 and counts;
  - four apps, each under the SAME gunicorn.conf.py and environment (workers, threads,
    gthread, timeouts, logging): the bare Flask app (bench/bare_flask.py), the Stripe
    handler one would write by hand with a durable SQLite INSERT (bench/handwritten_flask.py),
    the bridge with no delivery threads (ingest alone: verify, map, durable SQLite accept),
    and the bridge delivering to the upstream while it ingests (the default deployment);
and drives each with wrk (bench/webhooks.lua): same connections, same duration, after a
short warm-up. Every request to the bridge is a distinct, validly signed Stripe
`customer.subscription.updated` event for its own opportunity, signed just before its
run; a run where fewer than 99% of the answers are 202 is refused as meaningless.

Reports requests/s of each and the ratios to bare Flask (and the bridge's to the
hand-written handler), ack latency p50/p99, the CPU the
workers spent per request, delivered PATCH/s at the upstream (first PATCH to last, after
the backlog drained) and its ratio to the ingest rate that produced them, and peak RSS
(VmHWM) of each gunicorn worker. The ratios are measured in one run on one machine, so
they compare across machines; the absolute numbers do not.

    .venv/bin/python bench/bench_http.py [--duration 10] [--connections 16] [--workers 2] [--threads 4]
        [--delivery-threads N] [--profile DIR] [--json FILE]
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FIXTURE = ROOT / "tests/fixtures/stripe/subscription-active/payload.json"
SECRET = "whsec_bench_" + "b" * 32  # a bench value, not a real secret
INGEST_TARGET, DELIVERY_TARGET = 0.50, 0.80
MIN_ACCEPTED = 0.99


class BenchError(Exception):
    """The bench could not produce a meaningful result (the message says why)."""


# ---- processes ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.05):
    """Call `check` until it returns something truthy; BenchError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class Server:
    """A subprocess with its output in a log file; stopped (and killed if need be) on exit."""

    def __init__(self, name: str, cmd: list[str], env: dict, folder: Path, port: int | None = None):
        self.name, self.port = name, port
        self.log_path = folder / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        if not self._log.closed:
            self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM, then SIGKILL for this process and any worker it left behind."""
        children = worker_pids(self.pid) if self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the processes whose parent is the master."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            pids.append(int(entry.name))
    return sorted(pids)


def peak_rss_mib(pid: int) -> float | None:
    """VmHWM (the process's peak resident set) in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def loaded(port: int, bodies: Path, args, pids: list[int], duration: float) -> dict:
    """One measured wrk run, with the CPU the gunicorn workers spent during it."""
    cpu = cpu_seconds(pids)
    result = run_wrk(port, bodies, duration, args.connections, args.wrk_threads)
    result["cpu_before"] = cpu
    result["cpu_s"] = cpu_seconds(pids) - cpu
    result["cpu_ms_per_request"] = result["cpu_s"] * 1000 / max(result["requests"], 1)
    return result


def call(port: int, method: str, path: str, timeout: float = 2.0) -> tuple[int, dict]:
    """One request to 127.0.0.1:port; (status, JSON body) or (0, {}) when nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body else {}
    except (OSError, ValueError, http.client.HTTPException):
        return 0, {}
    finally:
        conn.close()


def start_gunicorn(name: str, app: str, env: dict, port: int, folder: Path, workers: int) -> Server:
    env = dict(env, BRIDGE_BIND=f"127.0.0.1:{port}")
    cmd = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--pythonpath", str(BENCH), app]
    server = Server(name, cmd, env, folder, port)
    try:
        def booted():
            server.check_alive()
            return call(port, "GET", "/healthz")[0] == 200 and len(worker_pids(server.pid)) == workers
        wait_until(booted, 30, f"{name} to answer /healthz")
    except BaseException:
        server.stop()
        raise
    return server


# ---- load --------------------------------------------------------------------------------------
def stripe_signature(body: bytes, timestamp: int) -> str:
    """`Stripe-Signature` as Stripe computes it (HMAC-SHA256 of `{t}.{body}`), not with the bridge's code."""
    digest = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def write_bodies(path: Path, count: int, tag: str) -> None:
    """`count` distinct Stripe events (own id, own opportunity), each signed now, one per line."""
    event = json.loads(FIXTURE.read_text())
    now = int(time.time())
    event["created"] = now
    metadata = event["data"]["object"].setdefault("metadata", {})
    with open(path, "w") as out:
        for i in range(count):
            event["id"] = f"evt_bench_{tag}_{i:07d}"
            metadata["reevo_opportunity_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{tag}/{i}"))
            body = json.dumps(event, separators=(",", ":")).encode()
            out.write(f"{stripe_signature(body, now)}\t{body.decode()}\n")


def run_wrk(port: int, bodies: Path, duration: float, connections: int, threads: int) -> dict:
    threads = min(threads, connections)
    duration = max(1, round(duration))  # wrk takes whole seconds
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
           "-s", str(BENCH / "webhooks.lua"), f"http://127.0.0.1:{port}/webhooks/stripe", "--",
           str(bodies), str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if done.returncode != 0 or not lines:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    result = json.loads(lines[-1].split(" ", 1)[1])
    seconds = result["duration_us"] / 1e6
    answers = {int(k): v for k, v in result["answers"].items()}
    result.update(seconds=seconds, rps=result["requests"] / seconds, answers=answers,
                  accepted=answers.get(202, 0))
    result["accepted_share"] = result["accepted"] / max(result["requests"], 1)
    return result


# ---- the apps under load ------------------------------------------------------------------------
def combine(runs: list[dict]) -> dict:
    """Several wrk runs of one app as one: totals, and the worst round's latency percentiles."""
    total = {"requests": sum(r["requests"] for r in runs), "seconds": sum(r["seconds"] for r in runs),
             "cpu_s": sum(r["cpu_s"] for r in runs), "wrapped": sum(r["wrapped"] for r in runs),
             "rounds": len(runs), "answers": {}}
    for r in runs:
        for status, count in r["answers"].items():
            total["answers"][status] = total["answers"].get(status, 0) + count
    total["latency_us"] = {k: max(r["latency_us"][k] for r in runs) for k in ("p50", "p90", "p99", "max")}
    total["accepted"] = total["answers"].get(202, 0)
    total["accepted_share"] = total["accepted"] / max(total["requests"], 1)
    total["rps"] = total["requests"] / total["seconds"]
    total["cpu_ms_per_request"] = total["cpu_s"] * 1000 / max(total["requests"], 1)
    return total


def check_accepted(name: str, load: dict, server: Server, distinct: bool = True) -> None:
    """Refuse a run whose answers are not (almost) all 202: it would measure 401s or duplicates."""
    if (distinct and load["wrapped"]) or load["accepted_share"] < MIN_ACCEPTED:
        raise BenchError(f"only {load['accepted_share']:.1%} of {name}'s answers were 202 ({load['answers']}, "
                         f"{load['wrapped']} times wrk ran out of distinct events): see {server.log_path}\n"
                         f"{server.tail(10)}")


def fresh_bodies(folder: Path, name: str, rate: float, duration: float) -> Path:
    """Enough distinct events for `duration` seconds at twice `rate`, signed now."""
    path = folder / f"{name}.txt"
    write_bodies(path, int(max(rate, 100) * duration * 2) + 1000, name)
    return path


def measure_ingest(env: dict, folder: Path, args) -> dict[str, dict]:
    """Bare Flask, the hand-written handler and the bridge without delivery threads, all up at once,
    measured in turns.

    Each gets `args.rounds` runs of duration/rounds seconds, alternating, so a change in
    what else the machine is doing falls on all alike.
    """
    bridge_env = dict(env, BRIDGE_STORE_URL=f"sqlite:///{folder}/ingest.db", BRIDGE_DELIVERY_THREADS="0")
    apps = {"bare": ("bare_flask:app", env),
            "handwritten": ("handwritten_flask:app", dict(env, HANDWRITTEN_DB=str(folder / "handwritten.db"))),
            "ingest": (args.app, bridge_env)}
    with ExitStack() as stack:
        servers = {name: stack.enter_context(start_gunicorn(name, app, app_env, free_port(), folder, args.workers))
                   for name, (app, app_env) in apps.items()}
        bare_bodies = folder / "bare.txt"
        write_bodies(bare_bodies, 2000, "bare")  # the bare app reads and drops them: repeats cost the same
        run_wrk(servers["bare"].port, bare_bodies, args.warmup, args.connections, args.wrk_threads)
        rates = {name: run_wrk(servers[name].port, fresh_bodies(folder, f"{name}-warm", 1000, args.warmup),
                               args.warmup, args.connections, args.wrk_threads)["rps"]
                 for name in ("handwritten", "ingest")}
        pids = {name: worker_pids(server.pid) for name, server in servers.items()}
        seconds = args.duration / args.rounds
        runs = {name: [] for name in apps}
        for round_ in range(args.rounds):
            for name, server in servers.items():
                bodies = bare_bodies if name == "bare" else fresh_bodies(folder, f"{name}-{round_}", rates[name],
                                                                         seconds)
                runs[name].append(loaded(server.port, bodies, args, pids[name], seconds))
                if name != "bare":
                    check_accepted(name, runs[name][-1], server)
        results = {name: combine(r) for name, r in runs.items()}
        for name, server in servers.items():
            server.check_alive()
            results[name]["rss_mib"] = [peak_rss_mib(p) for p in worker_pids(server.pid)]
        check_accepted("bare Flask", results["bare"], servers["bare"], distinct=False)
    return results


def measure_delivering(env: dict, folder: Path, args, upstream_port: int) -> dict:
    """The bridge as deployed (delivery threads on) under load; then wait until all is delivered."""
    from bridge.store import open_store
    env = dict(env, BRIDGE_STORE_URL=f"sqlite:///{folder}/bridge.db",
               BRIDGE_DELIVERY_THREADS=str(args.delivery_threads))
    with ExitStack() as stack:
        server = stack.enter_context(start_gunicorn("bridge", args.app, env, free_port(), folder, args.workers))
        store = open_store(env["BRIDGE_STORE_URL"])  # only read here: counts per status
        stack.callback(store.close)
        warm = run_wrk(server.port, fresh_bodies(folder, "bridge-warm", 1000, args.warmup), args.warmup,
                       args.connections, args.wrk_threads)
        wait_until(lambda: _drained(store), 60, "the warm-up's deliveries", interval=0.2)
        call(upstream_port, "POST", "/_bench/reset")
        bodies = fresh_bodies(folder, "bridge-run", warm["rps"], args.duration)
        pids = worker_pids(server.pid)
        profilers = start_profilers("bridge", pids, args) if args.profile else []
        load = combine([loaded(server.port, bodies, args, pids, args.duration)])
        load_end = time.time()
        server.check_alive()
        check_accepted("the bridge", load, server)
        # Wait until nothing is queued, retrying or in flight. Requests wrk cut off at the end
        # were stored too, so the upstream may count a few more PATCHes than wrk saw 202s.
        load["store_counts"] = wait_until(lambda: _drained(store), 90, "the load's deliveries", interval=0.2)
        stats = upstream_stats(upstream_port)
        load["rss_mib"] = [peak_rss_mib(p) for p in worker_pids(server.pid)]
        for profiler in profilers:
            profiler.wait(timeout=30)
    if not stats["patches"] or stats["bad"] or stats["distinct_keys"] != stats["patches"]:
        raise BenchError(f"the upstream saw {stats}: expected one good PATCH per accepted event")
    load.update(upstream=stats, delivered_per_s=stats["patches"] / max(stats["last"] - stats["first"], 1e-9),
                drain_s=max(0.0, stats["last"] - load_end))
    return load


def _drained(store) -> dict | None:
    """The store's counts per status once nothing is queued, retrying or in flight."""
    from bridge.store import PENDING
    counts = store.counts()
    return counts if not any(counts.get(s) for s in PENDING) else None


def start_profilers(name: str, pids: list[int], args) -> list[subprocess.Popen]:
    """py-spy (a dev tool, not a requirement) sampling each worker's threads for the load's duration.

    Raw collapsed stacks, one file per worker. By default samples of threads asleep
    (waiting for a lock or a socket) are left out, so the files show where CPU and disk
    waits go; `--profile-wall` keeps them, to show where the wall-clock time goes.
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    wall = ["--idle"] if args.profile_wall else []
    return [subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(int(args.duration)), "-r", "200", *wall,
                              "-f", "raw", "--nonblocking", "--threads", "-o", str(out / f"{name}-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in pids]


def upstream_stats(port: int) -> dict:
    status, body = call(port, "GET", "/_bench/stats")
    if status != 200:
        raise BenchError("the bench upstream does not answer")
    return body


# ---- the whole bench ---------------------------------------------------------------------------
def bench_env(folder: Path, upstream_port: int, args) -> dict:
    """The one environment both apps run in (nothing of the caller's BRIDGE_*/REEVO_* leaks in)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRIDGE_", "REEVO_", "STRIPE_", "SENTRY_", "PROMETHEUS_"))}
    env.update(
        REEVO_API_URL=f"http://127.0.0.1:{upstream_port}", REEVO_API_KEY="sandbox-key",
        STRIPE_WEBHOOK_SECRET=SECRET, BRIDGE_MAPPINGS_DIR=str(ROOT / "mappings"),
        BRIDGE_WEB_WORKERS=str(args.workers), BRIDGE_WEB_THREADS=str(args.threads),
        BRIDGE_POLL_INTERVAL=str(args.poll_interval), BRIDGE_GRACEFUL_TIMEOUT="5", PYTHONUNBUFFERED="1",
        PROMETHEUS_MULTIPROC_DIR=str(folder / "metrics"),
        # The bridge's own delivery speed: no shared rate ceiling (bench_delivery measures that).
        BRIDGE_REEVO_RATE="0",
    )
    return env


def main(argv: list[str] | None = None) -> dict:
    """Run the bench and print the report; exit 1 with the reason when it is not meaningful."""
    try:
        return run(parse_args(argv or []))
    except BenchError as exc:
        print(f"http bench failed: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def run(args: argparse.Namespace) -> dict:
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    if not args.delivery_threads:
        from bridge.config import Settings
        args.delivery_threads = Settings.delivery_threads  # the deployment as shipped
    started, where, stolen = time.monotonic(), machine(), cpu_ticks()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bridge-bench-")))
        upstream_port = free_port()
        upstream = stack.enter_context(Server("upstream", [sys.executable, str(BENCH / "upstream.py"),
                                                           "--port", str(upstream_port)], dict(os.environ), folder))
        wait_until(lambda: upstream.check_alive() or call(upstream_port, "GET", "/api/v2/health")[0] == 200,
                   15, "the bench upstream")
        env = bench_env(folder, upstream_port, args)
        ingest_runs = measure_ingest(env, folder, args)
        full = None if args.ingest_only else measure_delivering(env, folder, args, upstream_port)
    bare, ingest, handwritten = ingest_runs["bare"], ingest_runs["ingest"], ingest_runs["handwritten"]
    result = {"machine": where, "bare": bare, "handwritten": handwritten, "ingest": ingest, "bridge": full,
              "settings": vars(args), "ingest_ratio": ingest["rps"] / bare["rps"],
              "handwritten_ratio": handwritten["rps"] / bare["rps"], "elapsed_s": time.monotonic() - started,
              "steal_share": steal_share(stolen, cpu_ticks())}
    if full:
        result.update(ingest_ratio_delivering=full["rps"] / bare["rps"],
                      delivery_ratio=full["delivered_per_s"] / (full["accepted"] / full["seconds"]))
    report(result)
    print(f"http bench took {result['elapsed_s']:.0f}s; the hypervisor took {result['steal_share']:.0%} "
          "of this machine's CPU time meanwhile (steal: work on other machines, which slows both apps)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str))
    return result


def cpu_ticks() -> tuple[int, int]:
    """(all CPU ticks, stolen ticks) since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]), fields[7] if len(fields) > 7 else 0


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total else 0.0


def machine() -> str:
    """CPU model, cores, Python, and the load average when the bench started (other work on the box)."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return (f"{model}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
            f"load average {os.getloadavg()[0]:.1f} at start")


def report(r: dict) -> None:
    bare, ingest, full, s = r["bare"], r["ingest"], r["bridge"], r["settings"]
    handwritten = r["handwritten"]
    print(f"machine: {r['machine']}")
    print(f"gunicorn gthread, {s['workers']} workers x {s['threads']} threads (all apps); bridge with "
          f"{s['delivery_threads']} delivery thread(s)/worker, poll {s['poll_interval']:g}s; wrk {s['connections']} "
          f"connections, {s['duration']:g}s per app after a {s['warmup']:g}s warm-up (bare, hand-written and "
          f"ingest-only in {s['rounds']} alternating turns; latency: the worse turn)")
    rows = (("bare Flask (reads the body, answers 202)", bare),
            ("hand-written (verify, durable INSERT)", handwritten),
            ("bridge, ingest only (no delivery threads)", ingest),
            ("bridge, ingest while delivering", full))
    for name, run in filter(lambda row: row[1], rows):
        lat = run["latency_us"]
        print(f"  {name:<42} {run['rps']:6.0f} req/s  ack p50 {lat['p50'] / 1000:5.1f} ms  "
              f"p99 {lat['p99'] / 1000:6.1f} ms  CPU {run['cpu_ms_per_request']:4.2f} ms/req "
              f"({run['cpu_s'] / run['seconds']:.2f} cores)  peak RSS/worker "
              f"{'/'.join(f'{m:.0f}' for m in run['rss_mib'])} MiB  answers {dict(sorted(run['answers'].items()))}")
    ok = lambda met: "ok" if met else "MISSED"  # noqa: E731
    reference = (f"ratio durable  hand-written / bare Flask   : {r['handwritten_ratio']:5.2f}  (a textbook durable "
                 f"SQLite accept and nothing else); bridge / hand-written: {ingest['rps'] / handwritten['rps']:.2f}")
    if not full:
        print(f"ratio ingest   bridge / bare Flask req/s   : {r['ingest_ratio']:5.2f}  "
              f"(target >= {INGEST_TARGET:.2f}: {ok(r['ingest_ratio'] >= INGEST_TARGET)})")
        print(reference)
        return
    up = full["upstream"]
    print(f"  {'delivered to the upstream':<42} {full['delivered_per_s']:6.0f} PATCH/s  ({up['patches']} PATCHes, "
          f"one per event, none bad; the last {full['drain_s']:.1f}s after the load stopped; store "
          f"{full['store_counts']})")
    print(f"ratio ingest   bridge / bare Flask req/s   : {r['ingest_ratio']:5.2f}  "
          f"(target >= {INGEST_TARGET:.2f}: {ok(r['ingest_ratio'] >= INGEST_TARGET)}); "
          f"while delivering: {r['ingest_ratio_delivering']:.2f}")
    print(reference)
    print(f"ratio delivery delivered/s / its ingest/s  : {r['delivery_ratio']:5.2f}  "
          f"(target >= {DELIVERY_TARGET:.2f}: {ok(r['delivery_ratio'] >= DELIVERY_TARGET)}; "
          f"ingest {full['accepted'] / full['seconds']:.0f} events/s)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="bridge vs bare Flask under gunicorn, driven by wrk")
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 10)))
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2, help="turns bare/bridge take within --duration")
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", 16)))
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 4)))
    parser.add_argument("--delivery-threads", type=int, default=int(os.environ.get("BENCH_DELIVERY_THREADS", 0))
                        or None, help="per worker; default: the bridge's own default")
    parser.add_argument("--app", default="app:app", help="the bridge's WSGI app (a variant to compare)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy each bridge worker during the load, into DIR")
    parser.add_argument("--profile-wall", action="store_true", help="with --profile: keep waiting threads too")
    parser.add_argument("--json", metavar="FILE", help="also write every number to FILE")
    parser.add_argument("--ingest-only", action="store_true", help="bare Flask and ingest only, no delivering run")
    parser.add_argument("--poll-interval", type=float, default=float(os.environ.get("BENCH_POLL_INTERVAL", 0.1)))
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
