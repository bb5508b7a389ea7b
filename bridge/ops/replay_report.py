"""How `python -m bridge replay` reports: one line per delivery or route, then a summary line."""
from __future__ import annotations

from datetime import datetime, UTC

from bridge.ops import rebuild
from bridge.ops.replay import ReplayPlan
from bridge.store import DEAD, DeliveryRecord, NewDelivery

_ACTIONS = {rebuild.INSERT: "added", rebuild.REPLACE: "rebuilt", rebuild.KEEP: "left alone"}


def outcome(delivery: NewDelivery) -> str:
    """What a rendered delivery becomes: queued for its target, or still dead and why."""
    if delivery.status == DEAD:
        error = delivery.error or {}
        return f"still dead: {error.get('code')} ({error.get('message')})"
    target = delivery.target.get("id") or delivery.target.get("match")
    return f"queued for {target}"


def event_lines(item: rebuild.Rebuild, dry_run: bool) -> list[str]:
    """--rebuild-event: one line per rendered route (added, rebuilt or left alone), then the count."""
    name = f"{item.source}:{item.event_id}"
    lines = []
    for delivery in item.deliveries:
        action = item.actions[delivery.route]
        result = ("it has a delivery with a target (replay that one instead)" if action == rebuild.KEEP
                  else outcome(delivery))
        lines.append(f"{name}\t{delivery.route}\t{_ACTIONS[action]}\t{result}")
    if not item.deliveries:
        lines.append(f"{name}\tno route of the current mapping matches this event")
    count = len(item.changing) if dry_run else item.rebuilt
    dead = f" ({item.still_dead} still dead)" if item.still_dead else ""
    lines.append(f"{'would rebuild' if dry_run else 'rebuilt'} {count} delivery(ies) of {name} "
                 f"with the current mappings{dead}")
    return lines


def dry_run_lines(chosen: ReplayPlan, previews: list[rebuild.Rebuild]) -> list[str]:
    """--dry-run: one line per delivery a replay takes; those to rebuild say what they would become."""
    rendered = {(p.source, p.event_id, d.route): (p.actions[d.route], d) for p in previews for d in p.deliveries}
    lines = [line(record) for record in chosen.replay]
    for record in chosen.rebuild:
        action, delivery = rendered.get((record.source, record.event_id, record.route), (None, None))
        if delivery is not None and action in (rebuild.INSERT, rebuild.REPLACE):
            lines.append(f"{line(record)}\trebuild → {outcome(delivery)}")
        else:
            lines.append(f"{line(record)}\tnot rebuilt: the current mapping makes no delivery for this route")
    return lines


def summary(counts: dict, dry_run: bool = False) -> str:
    """The last line: how many were (or would be) replayed, rebuilt, still dead, not rebuilt."""
    text = (f"would replay {counts['replayed']} delivery(ies) and rebuild {counts['rebuilt']}" if dry_run else
            f"replayed {counts['replayed']} delivery(ies): queued again, due now; rebuilt {counts['rebuilt']}")
    if counts["rebuilt"] or counts["not_rebuilt"]:
        text += " from their stored events with the current mappings"
    if counts["still_dead"]:
        text += f" ({counts['still_dead']} still dead)"
    if counts["not_rebuilt"]:
        text += f"; {counts['not_rebuilt']} not rebuilt: the current mappings make no delivery for their route"
    return text


def line(record: DeliveryRecord) -> str:
    """One delivery, tab-separated: id, status, source, event, route, target, attempts, received, error."""
    error = (record.last_error or {}).get("code") or (record.last_error or {}).get("status") or ""
    received = datetime.fromtimestamp(record.received_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    target = record.target.get("id") or record.target.get("match")
    return (f"{record.id}\t{record.status}\t{record.source}\t{record.event_id}\t{record.route}\t{target}\t"
            f"attempts={record.attempts}\treceived={received}\terror={error}")
