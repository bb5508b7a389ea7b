"""Which opportunity a delivery is for: an id from the event, or a `_query` match.

Matches are cached for a while (a hit saves a Reevo round trip per delivery); a
miss is never cached, because the CRM record may be created any moment now.
"""
from __future__ import annotations

import threading

from bridge.delivery import reevo_client
from bridge.store import DeliveryRecord


class TargetResolver:
    """Resolves delivery targets to opportunity ids through Reevo's `_query`."""

    def __init__(self, client: reevo_client.ReevoClient, cache_seconds: float, target_wait: float):
        self.client = client
        self.cache_seconds = cache_seconds
        self.target_wait = target_wait
        self._cache: dict = {}
        self._lock = threading.Lock()

    def resolve(self, record: DeliveryRecord, now: float) -> tuple[str | None, reevo_client.Outcome | None, bool]:
        """(opportunity id, None, queried) or (None, an outcome saying why there is no id yet, queried).

        `queried` is True when a `_query` request was sent to Reevo to find the id.
        """
        if "id" in record.target:
            return record.target["id"], None, False
        match = record.target["match"]
        key = (match["field"], repr(match["value"]))
        cached = self._cached(key, now)
        if cached:
            return cached, None, False
        outcome, found = self.client.find_opportunities(match["field"], match["value"], now)
        if outcome.kind != reevo_client.DELIVERED:
            return None, outcome, True
        described = f"{match['field']} = {match['value']!r}"
        if len(found) > 1:
            return None, reevo_client.Outcome(reevo_client.DEAD, code="ambiguous_match",
                                              message=f"several opportunities have {described}"), True
        if not found:
            return None, self._not_found(record, now, described), True
        opportunity_id = found[0].get("id")
        with self._lock:
            self._cache[key] = (opportunity_id, now + self.cache_seconds)
        return opportunity_id, None, True

    def known(self, record: DeliveryRecord, now: float) -> str | None:
        """The opportunity id if it is known without asking Reevo (an id target, or a cached match)."""
        if "id" in record.target:
            return record.target["id"]
        match = record.target["match"]
        return self._cached((match["field"], repr(match["value"])), now)

    def _not_found(self, record: DeliveryRecord, now: float, described: str) -> reevo_client.Outcome:
        if now - record.received_at >= self.target_wait:
            return reevo_client.Outcome(reevo_client.DEAD, code="target_not_found",
                                 message=f"no opportunity has {described} after waiting {self.target_wait:.0f}s")
        return reevo_client.Outcome(reevo_client.RETRY, code="target_not_found",
                             message=f"no opportunity has {described} yet; will look again")

    def _cached(self, key, now: float) -> str | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry and entry[1] > now:
                return entry[0]
            self._cache.pop(key, None)
            return None

    def forget(self, record: DeliveryRecord) -> None:
        """Drop a cached match (e.g. the id it gave no longer exists)."""
        if "match" in record.target:
            match = record.target["match"]
            with self._lock:
                self._cache.pop((match["field"], repr(match["value"])), None)
