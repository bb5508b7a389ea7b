"""`python -m bridge events` and `python -m bridge show SOURCE:EVENT_ID`: the console's list and detail in a terminal.

Both read the store named by BRIDGE_STORE_URL (and BRIDGE_REDIS_PREFIX), so they run wherever
the store is reachable, without a Reevo key; `show` also reads the mapping files to say
which routes matched. `--json` prints what the admin API answers.
"""
from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from datetime import datetime, UTC

from bridge.cli.store_commands import load_store_sources, parse_time
from bridge.config import ConfigError, load_store_settings
from bridge.mapping.model import MappingError
from bridge.ops.event_detail import event_detail
from bridge.store import STATUSES, open_store
from bridge.store.events_query import EVENT_STATUSES, ID_CONTENT_HASH, MAX_EVENT_LIMIT

_COLUMNS = ("RECEIVED", "SOURCE", "TYPE", "EVENT ID", "ID", "STATUS", "DELIVERIES", "OPPORTUNITIES")
_SUMMARY_ORDER = ("delivered", "queued", "delivering", "retrying", "dead", "superseded")


def add_events_arguments(parser: argparse.ArgumentParser) -> None:
    """The events subcommand's filters and paging."""
    parser.add_argument("--source", help="only events of this source (mapping file name)")
    parser.add_argument("--type", help="only events of this type, e.g. invoice.paid")
    parser.add_argument("--status", help="comma-separated: " + ", ".join(EVENT_STATUSES))
    parser.add_argument("--opportunity", help="only events with a delivery for this opportunity id (or target key)")
    parser.add_argument("--delivery-status", help="comma-separated: events with a delivery in one of "
                                                  + ", ".join(STATUSES))
    parser.add_argument("--since", help="received at or after (2024-05-01, ISO time, epoch seconds, or 36h/7d ago)")
    parser.add_argument("--until", help="received before (same forms as --since)")
    parser.add_argument("-q", "--search", help="text in the event id or body (case-insensitive)")
    parser.add_argument("--limit", type=int, default=50, help=f"events per page, 1–{MAX_EVENT_LIMIT} (default 50)")
    parser.add_argument("--cursor", help="the page after the one that printed this cursor")
    parser.add_argument("--json", action="store_true", help="print the page as JSON (as GET /admin/events)")


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    """The show subcommand's argument."""
    parser.add_argument("event", metavar="SOURCE:EVENT_ID", help="e.g. stripe:evt_1MqqbKLt4dXK03v5qaIbiNCC")
    parser.add_argument("--json", action="store_true", help="print the detail as JSON (as GET /admin/events/…)")


def events_filter(args, now: float) -> dict:
    """The store's event filter the options describe."""
    found = {"source": args.source, "type": args.type, "opportunity": args.opportunity, "q": args.search}
    for key, raw in (("status", args.status), ("delivery_status", args.delivery_status)):
        if raw:
            found[key] = [s.strip() for s in raw.split(",") if s.strip()]
    if args.since:
        found["received_from"] = parse_time(args.since, now)
    if args.until:
        found["received_to"] = parse_time(args.until, now)
    return {k: v for k, v in found.items() if v}


def events_command(args, out, store=None) -> int:
    """Print one page of events, newest first, and how to get the next one (`store`: default BRIDGE_STORE_URL's)."""
    with _store(store) as opened:
        rows, cursor = opened.list_events(events_filter(args, time.time()), args.limit, args.cursor)
    if args.json:
        print(json.dumps({"data": rows, "next_cursor": cursor}, indent=2), file=out)
        return 0
    for line in table([_COLUMNS] + [event_cells(row) for row in rows]):
        print(line, file=out)
    if not rows:
        print("no events on this page" + (" (the search goes on: use the cursor below)" if cursor else ""), file=out)
    if cursor:
        print(f"more: add --cursor {cursor}", file=out)
    return 0


def event_cells(row: dict) -> tuple:
    """One event as table cells."""
    return (utc(row["received_at"]), row["source"], row["type"] or "-", row["event_id"],
            "hash" if row["id_source"] == ID_CONTENT_HASH else "sender",
            row["status"] + _counted(row), delivery_summary(row["deliveries"]),
            ", ".join(row["opportunities"]) or "-")


def _counted(row: dict) -> str:
    extra = [f"{row[k]} {k}" for k in ("duplicates", "conflicts") if row[k]]
    return f" ({', '.join(extra)})" if extra else ""


def delivery_summary(counts: dict) -> str:
    """`2 delivered, 1 dead` (or `-` when the event has no delivery)."""
    return ", ".join(f"{counts[s]} {s}" for s in _SUMMARY_ORDER if counts.get(s)) or "-"


def table(rows: list[tuple]) -> list[str]:
    """Rows as left-aligned columns two spaces apart."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def show_command(args, out, store=None) -> int:
    """Print one event: its fields, routes, deliveries with their attempts, and its body; exit 1 if not stored."""
    source, _, event_id = args.event.partition(":")
    if not source or not event_id:
        raise ConfigError(f"show {args.event!r}: give SOURCE:EVENT_ID, e.g. stripe:evt_1MqqbKLt4dXK03v5qaIbiNCC")
    try:
        sources = load_store_sources(args.mappings)
    except MappingError:
        sources = {}  # the routes are then unknown; the stored event is still shown
    with _store(store) as opened:
        detail = event_detail(opened, sources, source, event_id)
    if detail is None:
        print(f"no event {event_id} from {source} is stored", file=out)
        return 1
    if args.json:
        print(json.dumps(detail, indent=2), file=out)
        return 0
    for line in detail_lines(detail, source in sources):
        print(line, file=out)
    return 0


def detail_lines(detail: dict, mapping_loaded: bool) -> list[str]:
    """The detail as text: header, routes, deliveries (PATCH, attempts, history), then the body."""
    lines = [f"{detail['source']}:{detail['event_id']}  {detail['type'] or '-'}  {detail['status']}"
             + (f" ({detail['reason']})" if detail.get("reason") else ""),
             f"  received {utc(detail['received_at'])}   occurred {detail['occurred_at'] or '-'}",
             f"  id from {'the content hash' if detail['id_source'] == ID_CONTENT_HASH else 'the sender'}"
             f"   duplicates {detail['duplicates']}   conflicts {detail['conflicts']}", "routes"]
    for route in detail["routes"]:
        lines.append(f"  {route['route']}  " + _route_state(route))
    if not mapping_loaded:
        lines.append(f"  (no mapping {detail['source']}.yaml loaded here: routes without a delivery are unknown)")
    lines.append("deliveries" if detail["deliveries"] else "deliveries: none")
    for delivery in detail["deliveries"]:
        lines += delivery_lines(delivery)
    lines.append("body")
    body = json.dumps(detail["data"], indent=2, ensure_ascii=False) if detail["data"] is not None else "(not stored)"
    lines += ["  " + line for line in body.splitlines()]
    return lines


def _route_state(route: dict) -> str:
    state = f"matched: delivery {route['delivery_id']}" if route["matched"] else "not matched"
    if route["matches_now"] is not None and route["matches_now"] != route["matched"]:
        state += f"  (the current mapping {'matches' if route['matches_now'] else 'does not match'}: rebuild?)"
    if not route["in_mapping"]:
        state += "  (no longer in the mapping)"
    return state + (f"  when: {route['when']}" if route.get("when") else "")


def delivery_lines(delivery: dict) -> list[str]:
    """One delivery: status, target, the PATCH, the attempt timeline, next attempt, replay history."""
    request = delivery["request"]
    path = request["path"] or f"(the opportunity found by {json.dumps(request['target'])})"
    lines = [f"  #{delivery['id']} {delivery['route']}  {delivery['status']}  attempts {delivery['attempts']}",
             f"    {request['method']} {path}  Idempotency-Key: {request['headers']['Idempotency-Key']}",
             f"    {json.dumps(request['body'], ensure_ascii=False)}"]
    if delivery.get("last_error"):
        lines.append(f"    last error: {json.dumps(delivery['last_error'], ensure_ascii=False)}")
    for attempt in delivery.get("attempt_log") or []:
        lines.append("    " + attempt_line(attempt))
    if delivery["next_attempt"] is not None:
        lines.append(f"    next attempt {utc(delivery['next_attempt'])}")
    for entry in delivery.get("history") or []:
        what = "rebuilt" if entry.get("rebuilt") else "replayed"
        code = (entry.get("last_error") or {}).get("code")
        lines.append(f"    {what} {utc(entry['replayed_at'])}: was {entry['status']} after {entry['attempts']} "
                     f"attempt(s)" + (f" ({code})" if code else ""))
    return lines


def attempt_line(attempt: dict) -> str:
    """`2024-05-01T10:00:00Z  #1  retrying  HTTP 503  service_unavailable  12.5 ms  message`."""
    parts = [utc(attempt["at"]), f"#{attempt.get('attempt', '?')}", attempt.get("outcome", "?")]
    if attempt.get("http_status"):
        parts.append(f"HTTP {attempt['http_status']}")
    if attempt.get("code"):
        parts.append(attempt["code"])
    if attempt.get("latency_ms") is not None:
        parts.append(f"{attempt['latency_ms']:g} ms")
    if attempt.get("skipped"):
        parts.append("skipped " + ",".join(attempt["skipped"]))
    if attempt.get("message"):
        parts.append(attempt["message"])
    return "  ".join(parts)


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _store(given):
    """The given store (left open), or the one BRIDGE_STORE_URL names (BRIDGE_REDIS_PREFIX), closed after."""
    if given is not None:
        yield given
        return
    settings = load_store_settings()
    store = open_store(settings.store_url, redis_prefix=settings.redis_prefix)
    try:
        yield store
    finally:
        store.close()
