"""`python -m bridge replay` and `python -m bridge purge`: operators' hands on the store.

Both read BRIDGE_STORE_URL (and BRIDGE_REDIS_PREFIX, BRIDGE_RETENTION_DAYS), so they run
wherever the store is reachable, without a Reevo key. Replay also reads the mapping files
(BRIDGE_MAPPINGS_DIR, or --mappings) when something has to be rebuilt from its stored event:
a delivery the mapping could not build, or an event named with --rebuild-event.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime, UTC

from bridge.ops import rebuild, replay
from bridge.ops import replay_report as report
from bridge.config import ConfigError, load_store_settings
from bridge.accept import Source
from bridge.mapping.loader import load_mappings
from bridge.mapping.model import MappingError
from bridge.store import DEAD, REPLAYABLE, open_store
from bridge.ops.retention import DAY

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY}


def parse_time(text: str, now: float) -> float:
    """Epoch seconds from `1714557600`, `2024-05-01`, `2024-05-01T10:00:00Z` or an age such as `36h`, `7d`."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        return now - float(relative.group(1)) * _UNITS[relative.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a time: use 2024-05-01, 2024-05-01T10:00:00Z, epoch seconds, "
                          "or an age like 36h") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    """The replay subcommand's options."""
    parser.add_argument("ids", nargs="*", type=int, help="delivery ids to replay")
    parser.add_argument("--status", help="comma-separated statuses to replay (default with no ids: dead); "
                                         "any of " + ", ".join(REPLAYABLE))
    parser.add_argument("--source", help="only deliveries of this source")
    parser.add_argument("--route", help="only deliveries of this route")
    parser.add_argument("--opportunity", help="only deliveries for this opportunity id (or target key)")
    parser.add_argument("--event-id", help="only deliveries of this event")
    parser.add_argument("--since", help="received at or after (2024-05-01, ISO time, epoch seconds, or 36h/7d ago)")
    parser.add_argument("--until", help="received before (same forms as --since)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be replayed; change nothing")
    parser.add_argument("--rebuild-event", action="append", metavar="SOURCE:EVENT_ID",
                        help="render this stored event again with the current mappings: routes it has no delivery "
                             "for are added (how an ignored event gets a route added since), deliveries the mapping "
                             "could not build are rebuilt, the others are left alone; repeatable")


def add_purge_arguments(parser: argparse.ArgumentParser) -> None:
    """The purge subcommand's options."""
    parser.add_argument("--older-than", type=float, metavar="DAYS",
                        help="purge what finished more than DAYS ago (default: BRIDGE_RETENTION_DAYS)")
    parser.add_argument("--dead", action="store_true", help="also purge dead deliveries (never purged otherwise)")


def replay_filter(args, now: float) -> dict:
    """The store filter the replay options describe (status defaults to dead when no ids are given)."""
    filter = {"source": args.source, "route": args.route, "opportunity": args.opportunity,
              "event_id": args.event_id}
    if args.since:
        filter["received_from"] = parse_time(args.since, now)
    if args.until:
        filter["received_to"] = parse_time(args.until, now)
    statuses = [s.strip() for s in args.status.split(",")] if args.status else ([] if args.ids else [DEAD])
    bad = [s for s in statuses if s not in REPLAYABLE]
    if bad:
        raise ConfigError(f"--status {','.join(bad)}: only {', '.join(REPLAYABLE)} can be replayed")
    if statuses:
        filter["status"] = statuses
    return {k: v for k, v in filter.items() if v is not None}


def replay_command(args, out) -> int:
    """Replay deliveries by id or by filter, rebuilding mapping failures; --dry-run only lists them.

    Deliveries that had a target are queued again; those that died before one (the mapping
    could not build their PATCH) are rendered again from their stored event with the current
    mappings. --rebuild-event renders whole events again. Mapping problems or a source
    without a mapping: exit 1, nothing changed.
    """
    now = time.time()
    try:
        if args.rebuild_event:
            return _rebuild_events(args, out, now)
        return _replay(args, out, now)
    except MappingError as exc:
        print("replay: the mapping files have problems; nothing was changed", file=sys.stderr)
        print("\n".join(exc.problems), file=sys.stderr)
    except rebuild.RebuildError as exc:
        print(f"replay: {exc.detail}; nothing was changed", file=sys.stderr)
    return 1


def _replay(args, out, now: float) -> int:
    filter = replay_filter(args, now)
    store = _open()
    try:
        chosen = replay.plan(store, args.ids or None, filter)
        sources = load_store_sources(args.mappings) if chosen.rebuild else {}
        if args.dry_run:
            previews = replay.preview(chosen, sources, store)
            for line in report.dry_run_lines(chosen, previews):
                print(line, file=out)
            print(report.summary(replay.counts(chosen, previews, len(chosen.replay), applied=False), dry_run=True),
                  file=out)
            return 0
        print(report.summary(replay.run(chosen, sources, store, filter, now)), file=out)
        return 0
    finally:
        store.close()


def _rebuild_events(args, out, now: float) -> int:
    """--rebuild-event SOURCE:EVENT_ID …: every event is read and rendered first, then each is applied."""
    if args.ids or any(getattr(args, name) for name in _FILTER_OPTIONS):
        raise ConfigError("--rebuild-event renders whole events again; give it without delivery ids or filters")
    events = [_event_ref(text) for text in args.rebuild_event]
    sources = load_store_sources(args.mappings)
    store = _open()
    try:
        prepared = [rebuild.prepare(sources, store, source, event_id) for source, event_id in events]
        for item in prepared:
            if not args.dry_run:
                rebuild.apply(store, item, now)
            for line in report.event_lines(item, args.dry_run):
                print(line, file=out)
        return 0
    finally:
        store.close()


def load_store_sources(directory: str) -> dict[str, Source]:
    """The mappings in `directory` as sources to render with; MappingError lists every problem."""
    mappings, problems = load_mappings(directory)
    if problems:
        raise MappingError(problems)
    return {name: Source(mapping) for name, mapping in mappings.items()}


_FILTER_OPTIONS = ("status", "source", "route", "opportunity", "event_id", "since", "until")


def _event_ref(text: str) -> tuple[str, str]:
    source, _, event_id = text.partition(":")
    if not source or not event_id:
        raise ConfigError(f"--rebuild-event {text!r}: give SOURCE:EVENT_ID, e.g. stripe:evt_1MqqbKLt4dXK03v5qaIbiNCC")
    return source, event_id


def purge_command(args, out) -> int:
    """Delete finished records older than --older-than days (default: the retention setting)."""
    settings = load_store_settings()
    days = settings.retention_days if args.older_than is None else args.older_than
    if days < 0:
        raise ConfigError(f"--older-than {days:g}: must be 0 or more days")
    now = time.time()
    cutoff = now - days * DAY
    store = _open()
    try:
        removed = store.purge(now, finished_before=cutoff, dead=args.dead)
    finally:
        store.close()
    what = "delivered, superseded" + (" and dead" if args.dead else "")
    print(f"purged {removed} record(s): {what} deliveries finished before "
          f"{datetime.fromtimestamp(cutoff, UTC):%Y-%m-%dT%H:%M:%SZ}, and their events", file=out)
    return 0


def _open():
    settings = load_store_settings()
    return open_store(settings.store_url, redis_prefix=settings.redis_prefix)
