"""`python -m bridge replay` and `python -m bridge purge`: operators' hands on the store.

Both read only BRIDGE_STORE_URL (and BRIDGE_REDIS_PREFIX, BRIDGE_RETENTION_DAYS), so
they run wherever the store is reachable, without a Reevo key.
"""
from __future__ import annotations

import argparse
import re
import time
from datetime import datetime, timezone

from bridge.config import ConfigError, load_store_settings
from bridge.store import DEAD, REPLAYABLE, DeliveryRecord, open_store, target_key
from bridge.store.query import check_filter, matches
from bridge.retention import DAY

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
        raise ConfigError(
            f"{text!r} is not a time: use 2024-05-01, 2024-05-01T10:00:00Z, epoch seconds, or an age like 36h") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()


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
    """Replay deliveries by id or by filter; with --dry-run only list them."""
    now = time.time()
    filter = replay_filter(args, now)
    store = _open()
    try:
        if args.dry_run:
            found = _would_replay(store, args.ids, filter)
            for record in found:
                print(_line(record), file=out)
            print(f"would replay {len(found)} delivery(ies)", file=out)
            return 0
        count = store.replay(ids=args.ids or None, filter=filter, now=now)
        print(f"replayed {count} delivery(ies): queued again, due now", file=out)
        return 0
    finally:
        store.close()


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
          f"{datetime.fromtimestamp(cutoff, timezone.utc):%Y-%m-%dT%H:%M:%SZ}, and their events", file=out)
    return 0


def _open():
    settings = load_store_settings()
    return open_store(settings.store_url, redis_prefix=settings.redis_prefix)


def _would_replay(store, ids: list[int], filter: dict) -> list[DeliveryRecord]:
    """What store.replay would take: replayable deliveries that had a target, matching the filter."""
    checked = check_filter({**filter, "status": [s for s in filter.get("status", REPLAYABLE) if s in REPLAYABLE]})
    records = [r for r in map(store.get_delivery, ids) if r is not None] if ids else _all(store, checked)
    return [r for r in records if r.target and matches(r, target_key(r.target), checked)]


def _all(store, filter: dict) -> list[DeliveryRecord]:
    found, cursor = [], None
    while True:
        page, cursor = store.list_deliveries(filter, 500, cursor)
        found += page
        if cursor is None:
            return found


def _line(record: DeliveryRecord) -> str:
    error = (record.last_error or {}).get("code") or (record.last_error or {}).get("status") or ""
    received = datetime.fromtimestamp(record.received_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = record.target.get("id") or record.target.get("match")
    return (f"{record.id}\t{record.status}\t{record.source}\t{record.event_id}\t{record.route}\t{target}\t"
            f"attempts={record.attempts}\treceived={received}\terror={error}")
