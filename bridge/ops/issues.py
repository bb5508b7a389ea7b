"""Issues: dead and long-retrying deliveries grouped by (source, route, reason), and replaying a whole group.

Forty deliveries dead of one cause are one problem: a group has its count, its first and
last time seen and a sample. Replaying a group is `bridge.ops.replay` on the group's
delivery ids (those with a target are queued again, mapping failures are rebuilt), with
the same dry run first.
"""
from __future__ import annotations

from bridge.store.interface import Store
from bridge.ops import replay
from bridge.store.events_query import issue_reason

DEFAULT_RETRYING_FOR = 3600.0  # a delivery still retrying this long after it was received is an issue


def issues(store: Store, now: float, retrying_for: float = DEFAULT_RETRYING_FOR) -> list[dict]:
    """The groups, largest first."""
    return store.issue_groups(now - retrying_for)


def group_delivery_ids(store: Store, now: float, source: str, route: str, reason: str,
                       retrying_for: float = DEFAULT_RETRYING_FOR) -> list[int]:
    """The ids of the deliveries in one group, oldest first."""
    rows = store.problem_deliveries(now - retrying_for, source=source, route=route)
    return [row[0] for row in rows if issue_reason(row[4]) == reason]


def replay_ids(store: Store, sources: dict, ids: list[int] | None, filter: dict | None, now: float,
               dry_run: bool) -> dict:
    """Replay (or, with dry_run, count) what had a target and rebuild what the mapping could not build.

    The answer: {"status": "dry_run", "would_replay", "would_rebuild", "still_dead", "not_rebuilt"}
    or {"status": "replayed", "replayed", "rebuilt", "still_dead", "not_rebuilt"}. Raises
    InvalidQuery for a bad filter and RebuildError (unknown_source) before changing anything.
    """
    chosen = replay.plan(store, ids, filter)
    if dry_run:
        counts = replay.counts(chosen, replay.preview(chosen, sources, store), len(chosen.replay), applied=False)
        return {"status": "dry_run", "would_replay": counts["replayed"], "would_rebuild": counts["rebuilt"],
                "still_dead": counts["still_dead"], "not_rebuilt": counts["not_rebuilt"]}
    return {"status": "replayed", **replay.run(chosen, sources, store, filter, now)}


def replay_group(store: Store, sources: dict, now: float, group: dict, dry_run: bool,
                 retrying_for: float = DEFAULT_RETRYING_FOR) -> dict:
    """Replay every delivery of one group ({source, route, reason}); the counts, plus how many the group held."""
    ids = group_delivery_ids(store, now, group["source"], group["route"], group["reason"], retrying_for)
    return {**replay_ids(store, sources, ids, None, now, dry_run), "group_size": len(ids)}
