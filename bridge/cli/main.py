"""`python -m bridge check|preview|send|sandbox|worker`."""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from bridge.config import SANDBOX_DEMO_SECRET, ConfigError, Settings, load_settings, read_secret
from bridge.cli.samples import sample_warnings
from bridge.mapping.loader import load_mapping, load_mappings, trust_warnings
from bridge.mapping.preview import preview_events
from bridge.store import InvalidQuery, StoreConfigError, StoreUnavailable


def cmd_check(args) -> int:
    """Lint every mapping file; list every problem; exit 1 if any (warnings alone exit 0)."""
    mappings, problems = load_mappings(args.mappings)
    for line in problems:
        print(line)
    for _, mapping in sorted(mappings.items()):
        for line in trust_warnings(mapping):
            print(line)
        unset = [n for n in mapping.secret_names if not _secret(n)]
        if mapping.scheme != "none" and len(unset) == len(mapping.secret_names):
            print(f"{mapping.path}: note: none of {', '.join(unset)} is set here; "
                  f"the source stays disabled until one is")
    if args.samples:
        for line in sample_warnings(mappings, args.samples):
            print(line)
    if args.live and not problems:
        problems = _live_problems(mappings)
        for line in problems:
            print(line)
    print(f"{len(mappings)} mapping file(s) OK, {len(problems)} problem(s)")
    return 1 if problems else 0


def _secret(name: str) -> str:
    """NAME or the content of NAME_FILE here; "" when unset or unreadable (check notes it as unset)."""
    try:
        return read_secret(os.environ, name)
    except ConfigError as exc:
        print(f"note: {exc}", file=sys.stderr)
        return ""


def _live_problems(mappings) -> list[str]:
    """Check the mappings against Reevo's `_schema` (REEVO_API_URL / REEVO_API_KEY, or the sandbox)."""
    from bridge.ops.live_check import live_problems
    from bridge.delivery.reevo_client import ReevoClient, ReevoError
    settings = load_settings()
    client = ReevoClient(settings.reevo_api_url, settings.reevo_api_key, settings.connect_timeout,
                         settings.read_timeout)
    try:
        schema = client.get_schema("opportunity")
    except ReevoError as exc:
        return [f"check --live: {exc}"]
    finally:
        client.close()
    print(f"checked against {settings.reevo_api_url}/api/v2/_schema/opportunity")
    return live_problems(mappings, schema)


def _load_one(mappings_dir: str, source: str):
    mapping, problems = load_mapping(Path(mappings_dir) / f"{source}.yaml")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        raise SystemExit(1)
    return mapping


def cmd_preview(args) -> int:
    """Show what each event in a payload would become; sends nothing, needs no secret."""
    mapping = _load_one(args.mappings, args.source)
    body = json.loads(Path(args.payload).read_text())
    headers = json.loads(Path(args.headers).read_text()) if args.headers else {}
    events = preview_events(mapping, body, headers)
    for line in (warning for item in events for warning in item.get("warnings", [])):
        print(line, file=sys.stderr)
    print(json.dumps(events, indent=2))
    return 0


def cmd_send(args) -> int:
    """Sign a payload with the source's configured secret and POST it to a running bridge."""
    import requests

    from bridge.signatures import sign_request
    mapping = _load_one(args.mappings, args.source)
    secret = next((value for value in map(_secret, mapping.secret_names) if value), None)
    if secret is None:
        print(f"note: {', '.join(mapping.secret_names) or 'no secret'} unset here; "
              "signing with the sandbox demo secret", file=sys.stderr)
        secret = SANDBOX_DEMO_SECRET
    body = Path(args.payload).read_bytes()
    extra = json.loads(Path(args.headers).read_text()) if args.headers else {}
    signed = sign_request(mapping.scheme, body, secret, int(time.time()),
                          url=f"{args.url.rstrip('/')}/webhooks/{args.source}",
                          headers={"Content-Type": "application/json", **extra}, options=mapping.verify_options)
    response = requests.post(signed.url, data=body, headers=dict(signed.headers), timeout=10)
    print(response.status_code, response.text.strip())
    return 0 if response.ok else 1


def cmd_sandbox(args) -> int:
    """Run the bundled Reevo stand-in; --list only prints what it holds."""
    from sandbox.listing import describe
    if args.list:
        print(describe(args.seed))
        return 0
    from sandbox.server import serve
    if args.show:
        print(f"{describe(args.seed)}\n(again any time: python -m bridge sandbox --list)", flush=True)
    serve(host=args.host, port=args.port, seed_path=args.seed)
    return 0


def cmd_worker(args) -> int:
    """Deliver stored events without serving HTTP (a separate worker container)."""
    from bridge.delivery.worker import WorkerPool
    from bridge.web.factory import build_worker, setup_process
    from bridge.store import open_store
    settings = load_settings()
    setup_process(settings, {})
    from bridge.ops.retention import start_retention
    store = open_store(settings.store_url, redis_prefix=settings.redis_prefix)
    worker = build_worker(settings, store, time.time)
    pool = WorkerPool(worker, max(1, settings.delivery_threads), settings.poll_interval).start()
    retention = start_retention(store, settings.retention_days, time.time)
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    pool.stop(timeout=settings.lease_seconds)
    retention.stop()
    return 0


def cmd_replay(args) -> int:
    """Queue deliveries again (by id, or by status/source/route/time); --dry-run lists them."""
    from bridge.cli.store_commands import replay_command
    return replay_command(args, sys.stdout)


def cmd_purge(args) -> int:
    """Delete finished records older than the retention time; dead ones only with --dead."""
    from bridge.cli.store_commands import purge_command
    return purge_command(args, sys.stdout)


def cmd_events(args) -> int:
    """List stored events, newest first (ignored ones too), with filters."""
    from bridge.cli.event_commands import events_command
    return events_command(args, sys.stdout)


def cmd_show(args) -> int:
    """One stored event: its body, routes, deliveries and their attempts."""
    from bridge.cli.event_commands import show_command
    return show_command(args, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bridge")
    parser.add_argument("--mappings", default=os.environ.get("BRIDGE_MAPPINGS_DIR") or Settings.mappings_dir,
                        help="mappings folder (default: $BRIDGE_MAPPINGS_DIR or ./mappings)")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="lint every mapping file")
    check.add_argument("--live", action="store_true",
                       help="also check fields against Reevo's GET /api/v2/_schema/opportunity")
    check.add_argument("--samples", metavar="DIR",
                       help="also warn where a sample (DIR/<source>/<case>/payload.json and headers.json) "
                            "lacks the id or type its mapping reads")
    check.set_defaults(func=cmd_check)
    preview = sub.add_parser("preview", help="show the PATCHes a payload would produce")
    preview.add_argument("source")
    preview.add_argument("payload")
    preview.add_argument("--headers", help="JSON file of request headers")
    preview.set_defaults(func=cmd_preview)
    send = sub.add_parser("send", help="sign a payload and post it to a running bridge")
    send.add_argument("source")
    send.add_argument("payload")
    send.add_argument("--url", default="http://127.0.0.1:8080")
    send.add_argument("--headers", help="JSON file of extra request headers (e.g. X-GitHub-Delivery)")
    send.set_defaults(func=cmd_send)
    sandbox = sub.add_parser("sandbox", help="run the bundled Reevo stand-in")
    sandbox.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (0.0.0.0 inside a container, to reach it from the host)")
    sandbox.add_argument("--list", action="store_true",
                         help="print the seeded opportunities (ids, names, stages) and stage api_names, and exit")
    sandbox.add_argument("--show", action="store_true",
                         help="print the same list, then serve (what sandbox mode's banner shows)")
    sandbox.add_argument("--port", type=int, default=8090)
    sandbox.add_argument("--seed", help="seed data file (default: the bundled one)")
    sandbox.set_defaults(func=cmd_sandbox)
    sub.add_parser("worker", help="run delivery workers only").set_defaults(func=cmd_worker)
    from bridge.cli.store_commands import add_purge_arguments, add_replay_arguments
    replay = sub.add_parser("replay", help="queue dead (or other finished) deliveries again")
    add_replay_arguments(replay)
    replay.set_defaults(func=cmd_replay)
    purge = sub.add_parser("purge", help="delete finished records older than the retention time")
    add_purge_arguments(purge)
    purge.set_defaults(func=cmd_purge)
    from bridge.cli.event_commands import add_events_arguments, add_show_arguments
    events = sub.add_parser("events", help="list stored events, newest first, with filters (ignored ones too)")
    add_events_arguments(events)
    events.set_defaults(func=cmd_events)
    show = sub.add_parser("show", help="one stored event: body, routes, deliveries and their attempts")
    add_show_arguments(show)
    show.set_defaults(func=cmd_show)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except (StoreConfigError, StoreUnavailable, InvalidQuery) as exc:
        print(f"store error: {exc}", file=sys.stderr)
        return 2
