"""What the operator console reads from Redis: the event list, attempts, opportunities, problems.

A mixin of RedisStore. The indexes are kept by the Lua scripts in the same atomic step as the
data (see lua/common.lua): ev:all, ev:src:<source>, ev:out:<outcome> order the events by
received_at; dopp:<target key> holds the deliveries of one opportunity; att:<id> one
delivery's attempts. Events stored before those indexes existed are indexed when a store
opens (lua/index.lua, in batches). Paging and the scan budget: `bridge.store.events_query`.
"""
from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from bridge.store import DEAD, RETRYING, DeliveryRecord
from bridge.store.events_query import (SCAN_BUDGET, check_event_filter, check_event_limit, decode_event_cursor,
                                       encode_event_cursor, event_row, issue_order, opportunity_of, sparse_statuses,
                                       text_matches)
from bridge.store.query import opportunity_keys

_PAGE = 200  # index entries (and event hashes) read per round trip
_CANDIDATE_PAGE = 2000  # deliveries read per round trip to find their events
_ISSUE_SLICE = 2000  # problem deliveries one issues script groups
_EVENT_FIELDS = ("source", "event_id", "type", "occurred_at", "outcome", "reason", "received_at", "conflicts",
                 "duplicates", "deliveries", "id_source")
_DELIVERY_FIELDS = ("status", "target_key", "opportunity_id")
# Above this many deliveries in the asked statuses, their events are found by walking the events instead.
_SPARSE_LIMIT = 20_000
_INDEX_BATCH = 500
_INDEXED_MARK = "console-indexed:2"  # :2 added ev:type and the deliveries' imember


class RedisConsoleQueries:
    """list_events, deliveries_for_opportunity, attempt_log and problem_deliveries for RedisStore."""

    scan_budget = SCAN_BUDGET  # events one list_events call examines at most (see events_query)

    if TYPE_CHECKING:  # what the mixin uses of RedisStore
        client: Any  # redis.Redis decoding replies to str, which redis-py's types cannot express

        def _calling(self) -> AbstractContextManager[Any]: ...
        def _key(self, *parts: str) -> str: ...
        def _run(self, name: str, args: list, keys: list | None = None) -> Any: ...
        def _event_member(self, source: str, event_id: str) -> str: ...
        def _pipeline_records(self, ids: list[int]) -> list[tuple[DeliveryRecord, str]]: ...

    def index_old_events(self) -> int:
        """Index events stored before the console's indexes (once per store; harmless when repeated)."""
        with self._calling():
            if self.client.get(self._key(_INDEXED_MARK)):
                return 0
        offset, total = 0, 0
        while True:
            scanned, indexed = self._run("index", [offset, _INDEX_BATCH])
            offset, total = offset + scanned, total + indexed
            if scanned < _INDEX_BATCH:
                break
        with self._calling():
            self.client.set(self._key(_INDEXED_MARK), "1")
        return total

    # ---- the event list ---------------------------------------------------------------
    def list_events(self, filter: dict, limit: int, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of events, newest first, and the next page's cursor (None on the last page)."""
        checked, limit = check_event_filter(filter), check_event_limit(limit)
        after = decode_event_cursor(cursor)
        index, served = self._index_for(checked)
        found = self._candidates(checked, after)
        if found is None and "q" in checked:
            found = self._search(index, served, checked, after, limit)
        if found is not None:  # a short list of events, all of them read below
            candidates, resume = found
            stream, budget = iter(candidates), float("inf")
        else:
            stream, resume = self._walk(index, checked, after), None
            budget = self.scan_budget if _budgeted(checked, served, False) else float("inf")
        page: list[dict] = []
        examined, last = 0, None
        while examined < budget:
            size = _PAGE if examined else limit + 1  # the first read is one page: most pages end there
            batch = _take(stream, int(min(size, budget - examined)))
            if not batch:
                return page, _cursor_after(resume)
            for (score, seq, _), found in zip(batch, self._rows([m for _, _, m in batch], "q" in checked),
                                              strict=True):
                if found is not None and _matches(found, checked):
                    if len(page) == limit:  # one more than the page holds: there is a next page
                        return page, _cursor_after(last)
                    page.append(found[0])
                examined, last = examined + 1, (score, seq)
        return page, _cursor_after(last)

    def _index_for(self, filter: dict) -> tuple[str, str | None]:
        """The index to walk and the filter key it serves (type, then source, then one status)."""
        if "type" in filter:
            return self._key("ev", "type", filter["type"]), "type"
        if "source" in filter:
            return self._key("ev", "src", filter["source"]), "source"
        if len(filter.get("status", ())) == 1:
            return self._key("ev", "out", filter["status"][0]), "status"
        return self._key("ev", "all"), None

    def _walk(self, index: str, filter: dict, after: tuple[float, int] | None):
        """(received_at, seq, member) of the index's events newest first, within the time range, after the cursor."""
        top = f"({filter['received_to']!r}" if "received_to" in filter else "+inf"
        if after is not None and ("received_to" not in filter or after[0] < filter["received_to"]):
            top = repr(after[0])
        bottom = repr(filter["received_from"]) if "received_from" in filter else "-inf"
        offset = 0
        while True:
            with self._calling():
                batch = self.client.zrange(index, top, bottom, desc=True, byscore=True, offset=offset, num=_PAGE,
                                           withscores=True)
            for member, score in batch:
                seq = int(member[:16])
                if after is None or (score, seq) < after:
                    yield score, seq, member
            if len(batch) < _PAGE:
                return
            offset += len(batch)

    def _candidates(self, filter: dict, after) -> tuple[list, tuple | None] | None:
        """The events of an opportunity or of sparse delivery statuses, newest first, at most scan_budget of
        them, and where to resume when there were more; None to walk an index instead (lua/candidates.lua)."""
        if "opportunity" in filter:
            keys = [self._key("dopp", k) for k in opportunity_keys(filter["opportunity"])]
        elif statuses := sparse_statuses(filter):
            keys = [self._key("status", s) for s in statuses]
            with self._calling():
                if sum(self.client.zcard(k) for k in keys) > _SPARSE_LIMIT:
                    return None
        else:
            return None
        bounds = [repr(filter[k]) if k in filter else "" for k in ("received_from", "received_to")]
        total, *flat = self._run("candidates", [*_cursor_args(after), *bounds, self.scan_budget, *keys])
        found = [(float(at), int(im[:16]), im) for im, at in zip(flat[::2], flat[1::2], strict=True)]
        return found, (found[-1][:2] if total > len(found) else None)

    def _search(self, index: str, served: str | None, filter: dict, after, limit: int) -> tuple[list, tuple | None]:
        """The index's events holding the text, newest first, looking at scan_budget events at most
        (lua/search.lua: the bodies are read where they are), and where to resume; None at the end."""
        top = f"({filter['received_to']!r}" if "received_to" in filter else "+inf"
        bottom = repr(filter["received_from"]) if "received_from" in filter else "-inf"
        others = {k: v for k, v in filter.items() if k not in ("q", "received_from", "received_to", served)}
        want = limit + 1 if not others else self.scan_budget  # other filters may turn matches down
        stop, last, last_at, *flat = self._run("search", [index, top, bottom, *_cursor_args(after),
                                                          self.scan_budget, want, filter["q"].lower()])
        found = [(float(at), int(im[:16]), im) for im, at in zip(flat[::2], flat[1::2], strict=True)]
        resume = (float(last_at), int(last[:16])) if stop != "end" else None
        return found, resume

    def _rows(self, imembers: list[str], with_data: bool) -> list:
        """(row, data text) per index member (None for an event purged meanwhile); two round trips."""
        fields = _EVENT_FIELDS + (("data",) if with_data else ())
        with self._calling():
            pipe = self.client.pipeline(transaction=False)
            for imember in imembers:
                pipe.hmget(self._key("e", imember[16:]), *fields)
            events = [dict(zip(fields, values, strict=True)) for values in pipe.execute()]
            pipe = self.client.pipeline(transaction=False)
            for event in events:
                for delivery_id in (event["deliveries"] or "").split(","):
                    if delivery_id:
                        pipe.hmget(self._key("d", delivery_id), *_DELIVERY_FIELDS)
            deliveries = iter(pipe.execute())
        rows: list[tuple | None] = []
        for event in events:
            mine = [next(deliveries) for i in (event["deliveries"] or "").split(",") if i]
            if event["source"] is None:
                rows.append(None)
                continue
            event["received_at"] = float(event["received_at"])
            live = [tuple(d) for d in mine if d[0] is not None]
            rows.append((event_row(event, live), event.get("data"), live))
        return rows

    # ---- one opportunity, one delivery, the problems ------------------------------------
    def deliveries_for_opportunity(self, opportunity: str, limit: int = 10_000) -> list:
        """Every delivery that targeted one opportunity, oldest first.

        By the opportunity's id, its target key, or the id a match resolved to.
        """
        with self._calling():
            ids = sorted({int(m) for k in opportunity_keys(opportunity)
                          for m in self.client.zrange(self._key("dopp", k), 0, -1)})
        return [record for record, _ in self._pipeline_records(ids[:limit])]

    def attempt_log(self, delivery_id: int) -> list[dict]:
        """The newest attempts of one delivery, oldest first (see ATTEMPT_LOG_SIZE)."""
        with self._calling():
            return [json.loads(entry) for entry in self.client.lrange(self._key("att", str(delivery_id)), 0, -1)]

    def issue_groups(self, retrying_before: float) -> list[dict]:
        """Problem deliveries grouped by (source, route, reason), as `events_query.group_issues` groups them.

        A script groups one slice of the dead (then retrying) deliveries at a time (lua/issues.lua),
        so Redis is never held for long and only the groups cross the network.
        """
        merged: dict[tuple, dict] = {}
        for status in (DEAD, RETRYING):
            offset = 0
            while True:
                scanned, *flat = self._run("issues", [status, offset, _ISSUE_SLICE, repr(float(retrying_before))])
                for group in _chunks(flat, 11):
                    _merge_issue(merged, group)
                offset += scanned
                if scanned < _ISSUE_SLICE:
                    break
        return sorted(merged.values(), key=issue_order)

    def problem_deliveries(self, retrying_before: float, source: str | None = None,
                           route: str | None = None) -> list[tuple]:
        """Dead deliveries and those retrying since before `retrying_before`, as issue rows (see group_issues)."""
        with self._calling():
            ids = sorted({int(m) for s in (DEAD, RETRYING) for m in self.client.zrange(self._key("status", s), 0, -1)})
        rows = []
        for chunk in _chunks(ids, _CANDIDATE_PAGE):
            with self._calling():
                pipe = self.client.pipeline(transaction=False)
                for delivery_id in chunk:
                    pipe.hmget(self._key("d", str(delivery_id)), "source", "route", "status", "last_error",
                               "updated_at", "event_id", "received_at")
                found = pipe.execute()
            for delivery_id, (s, r, status, error, updated, event_id, received) in zip(chunk, found, strict=True):
                if s is None or (source is not None and s != source) or (route is not None and r != route):
                    continue
                if status == DEAD or (status == RETRYING and float(received) < retrying_before):
                    rows.append((delivery_id, s, r, status, json.loads(error) if error else None, float(updated),
                                 event_id))
        return rows


def _merge_issue(merged: dict[tuple, dict], group: list[str]) -> None:
    """Add one slice's group to the groups found so far (the sample: the delivery that failed last)."""
    source, route, reason, count, dead, retrying, first, last, delivery_id, event_id, error = group
    sample = {"delivery_id": int(delivery_id), "event_id": event_id, "error": json.loads(error) if error else None}
    known = merged.setdefault((source, route, reason), {
        "source": source, "route": route, "reason": reason, "count": 0, "statuses": {DEAD: 0, RETRYING: 0},
        "first_seen": float(first), "last_seen": float(last), "sample": sample})
    known["count"] += int(count)
    known["statuses"][DEAD] += int(dead)
    known["statuses"][RETRYING] += int(retrying)
    known["first_seen"] = min(known["first_seen"], float(first))
    if (float(last), sample["delivery_id"]) > (known["last_seen"], known["sample"]["delivery_id"]):
        known["last_seen"], known["sample"] = float(last), sample


def _budgeted(filter: dict, served: str | None, by_candidates: bool) -> bool:
    """Whether some filter is checked event by event on what the index gives (so the scan budget applies)."""
    if "q" in filter or ("delivery_status" in filter and not by_candidates):
        return True
    if by_candidates:
        return False  # the candidates are few; the other filters are checked on them
    return any(key in filter and key != served for key in ("source", "type", "status"))


def _matches(found: tuple, filter: dict) -> bool:
    """Whether one event (row, data text, deliveries) passes every filter (the index may have served some)."""
    row, data, deliveries = found
    if "source" in filter and row["source"] != filter["source"]:
        return False
    if "status" in filter and row["status"] not in filter["status"]:
        return False
    if "type" in filter and row["type"] != filter["type"]:
        return False
    if not filter.get("received_from", float("-inf")) <= row["received_at"] < filter.get("received_to", float("inf")):
        return False
    if "delivery_status" in filter and not any(d[0] in filter["delivery_status"] for d in deliveries):
        return False
    if "opportunity" in filter:
        wanted = filter["opportunity"]
        keys = opportunity_keys(wanted)
        if not any(d[1] in keys or d[2] == wanted or opportunity_of(d[1], None) == wanted for d in deliveries):
            return False
    return "q" not in filter or text_matches(filter["q"], row["event_id"], data)


def _take(stream, count: int) -> list:
    batch = []
    for item in stream:
        batch.append(item)
        if len(batch) >= count:
            break
    return batch


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _cursor_args(after: tuple[float, int] | None) -> list[str]:
    """The cursor as two script arguments (empty for the first page)."""
    return [repr(after[0]), str(after[1])] if after is not None else ["", ""]


def _cursor_after(last: tuple[float, int] | None) -> str | None:
    """The cursor of the page after the event at `last` (None when no event was examined)."""
    return encode_event_cursor(*last) if last is not None else None
