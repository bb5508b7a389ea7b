"""Send a dead delivery's PATCH to another opportunity: one entry point for the CLI and the admin API.

A delivery can die with a valid but wrong target (the opportunity was merged or deleted in Reevo,
or the sender carried a stale id). Replaying it resends to the same opportunity; retargeting
queues the same PATCH for another one, and the delivery's history records the change.
"""
from __future__ import annotations

from bridge.mapping.reevo_fields import is_uuid
from bridge.store import DEAD, UNRESOLVED, DeliveryRecord, target_key
from bridge.store.interface import Store
from bridge.reasons import Refused


class RetargetError(Exception):
    """The delivery cannot be retargeted. `reason`: not_found, invalid_target, not_dead or unresolved."""

    def __init__(self, reason: Refused, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def retarget(store: Store, delivery_id: int, opportunity_id: str, now: float, dry_run: bool = False) -> DeliveryRecord:
    """Queue dead delivery `delivery_id` again for opportunity `opportunity_id`; the record as it now is.

    With `dry_run`, only checks and returns the record unchanged. Raises RetargetError.
    """
    record = store.get_delivery(delivery_id)
    if record is None:
        raise RetargetError(Refused.NOT_FOUND, f"no delivery {delivery_id}")
    if not (is_uuid(opportunity_id) and len(opportunity_id) == 36):  # the canonical form only
        raise RetargetError(Refused.INVALID_TARGET, f"opportunity id {opportunity_id[:60]!r} is not a UUID")
    if target_key(record.target) == UNRESOLVED:
        raise RetargetError(Refused.UNRESOLVED,
                            f"delivery {delivery_id} has no PATCH (its mapping could not build one): "
                            "fix the mapping and replay it, which rebuilds it")
    if record.status != DEAD:
        raise RetargetError(Refused.NOT_DEAD,
                            f"delivery {delivery_id} is {record.status}; only a dead delivery is retargeted")
    if dry_run:
        return record
    if not store.retarget(delivery_id, {"id": opportunity_id}, now):
        raise RetargetError(Refused.NOT_DEAD, f"delivery {delivery_id} changed meanwhile; look at it again")
    updated = store.get_delivery(delivery_id)
    if updated is None:  # purged by retention in between
        raise RetargetError(Refused.NOT_FOUND, f"no delivery {delivery_id}")
    return updated
