"""Redis backend: several bridge processes on several hosts share one Redis safely.

Every change is one Lua script (bridge/store/lua/, registered once per process), so it
is atomic; reads are plain commands. Keys live under a prefix (BRIDGE_REDIS_PREFIX,
default `bridge:`); the layout is described in lua/common.lua. redis-py resends a command
whose reply was lost: each script carries a token, so a resent accept, claim or finish
reports what the first one did instead of "duplicate" / "taken" / "lease lost".

Durability is Redis's: with `appendonly yes` an acknowledged event survives a Redis
restart (appendfsync everysec: up to about a second may be lost on a machine crash).
This is checked at start (CONFIG GET, where allowed) and a WARNING says what could be lost.
"""
from __future__ import annotations

import json
import logging
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import cast

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from bridge.store import (PENDING, REPLAYABLE, STATUSES, AcceptResult, Completion, DeliveryRecord, DeliveryStatus,
                          EventRecord, InvalidQuery, NewDelivery, StoreConfigError, StoreUnavailable, id_source,
                          target_key)
from bridge.store.events_query import ATTEMPT_LOG_SIZE
from bridge.store.query import check_filter, check_limit, decode_cursor, encode_cursor, matches
from bridge.store.redis_console import RedisConsoleQueries

log = logging.getLogger("bridge.store")
_LUA = Path(__file__).with_name("lua")
_SCRIPTS = ("accept", "claim", "finish", "replay", "rebuild", "retarget", "purge", "index", "pace", "issues",
            "candidates", "search")
_PACE_TRIES = 100  # compare-and-set rounds before a pace update gives up (only under a storm of writers)
_TEMPORARY = ("OOM", "MISCONF", "READONLY", "NOREPLICAS", "MASTERDOWN", "LOADING", "BUSY", "TRYAGAIN")
_PAGE = 200  # records read per round trip when listing
_CLAIM_SCAN = 1000  # due entries a claim looks at, at most, to find free targets
_BATCH = 500  # ids per replay script call


class RedisStore(RedisConsoleQueries):
    """Store on a Redis server (redis://, rediss://; password in the URL)."""

    def __init__(self, url: str, prefix: str, shown: str | None = None):
        self.prefix = prefix
        self.shown = shown or url
        self.purge_batch = 500  # records removed per purge script call, so Redis is never blocked for long
        self.client = _connect(url)
        self._scripts = {name: self.client.register_script(_source(name)) for name in _SCRIPTS}
        try:
            self.client.ping()
        except redis.AuthenticationError as exc:
            raise StoreConfigError(f"Redis refused the credentials ({exc})") from None
        except redis.RedisError as exc:
            raise StoreUnavailable(f"cannot reach Redis: {exc}") from None
        check_durability(self.client, self.shown)
        self.index_old_events()

    # ---- plumbing ---------------------------------------------------------------------
    @contextmanager
    def _calling(self):
        """Connection trouble, timeouts and Redis refusing writes become StoreUnavailable."""
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"Redis {self.shown}: {exc}") from None
        except redis.ResponseError as exc:
            if isinstance(exc, (redis.exceptions.ReadOnlyError, redis.exceptions.OutOfMemoryError)) or any(
                    word in str(exc) for word in _TEMPORARY):
                raise StoreUnavailable(f"Redis {self.shown}: {exc}") from None
            raise

    def _run(self, name: str, args: list, keys: list | None = None):
        with self._calling():
            return self._scripts[name](keys=keys or [], args=[self.prefix, *args])

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _event_member(self, source: str, event_id: str) -> str:
        return json.dumps([source, event_id], separators=(",", ":"))

    # ---- accept ---------------------------------------------------------------------
    def accept(self, event: EventRecord, deliveries: list[NewDelivery], now: float) -> AcceptResult:
        """Store an event and its deliveries atomically; dedupe on (source, event id)."""
        keys, args = self._accept_call(event, deliveries, now)
        return AcceptResult(self._run("accept", args, keys=keys))

    def _accept_call(self, event: EventRecord, deliveries: list[NewDelivery], now: float) -> tuple[list, list]:
        """The accept script's keys and arguments (after the prefix) for one event."""
        member = self._event_member(event.source, event.event_id)
        fields = _pairs(source=event.source, event_id=event.event_id, type=event.type,
                        occurred_at=event.occurred_at, outcome=event.outcome, reason=event.reason,
                        data=event.data_text())
        args = [uuid.uuid4().hex, _num(now), event.body_hash, member, len(fields), *fields]
        for d in deliveries:
            pairs = _pairs(source=event.source, event_id=event.event_id, route=d.route, target=json.dumps(d.target),
                           target_key=target_key(d.target), attributes=json.dumps(d.attributes),
                           occurred_at=event.occurred_at, last_error=_dumps(d.error))
            args += [len(pairs), d.status, *pairs]
        return [self._key("e", member)], args

    # ---- the queue --------------------------------------------------------------------
    def claim(self, limit: int, lease_seconds: float, now: float, token: str | None = None,
              hold_seconds: float = 0.0) -> list[DeliveryRecord]:
        """Lease up to `limit` due deliveries, never two for one opportunity at once, none for a held one."""
        token = token or uuid.uuid4().hex
        rows = self._run("claim", [token, _num(now), _num(now + lease_seconds), limit, max(_CLAIM_SCAN, limit),
                                   _num(hold_seconds)])
        return [_record(id_, _as_dict(flat)) for id_, flat in rows]

    def _finish(self, delivery_id: int, token: str, now: float, status: str, set_: dict, clear=(),
                give_back: bool = False, opportunity_id: str | None = None, applied: dict | None = None,
                attempt: dict | None = None, hold_until: float | None = None) -> bool:
        pairs = _pairs(**set_)
        clear = (*clear, *(name for name, value in set_.items() if value is None))  # None clears, as in SQL
        args = [str(delivery_id), token, _num(now), status, "1" if give_back else "0", opportunity_id or "",
                _dumps(attempt) or "", ATTEMPT_LOG_SIZE, "" if hold_until is None else _num(hold_until),
                len(pairs), *pairs, len(clear), *clear]
        for name, when in (applied or {}).items():
            if when:
                args += [name, when]
        return self._run("finish", args) == 1

    def complete(self, delivery_id: int, token: str, now: float, opportunity_id: str | None = None,
                 applied: dict[str, str] | None = None, attempt: dict | None = None) -> bool:
        """Mark delivered and, in the same script, raise each applied field's occurred_at."""
        set_ = {"opportunity_id": opportunity_id} if opportunity_id else {}
        return self._finish(delivery_id, token, now, "delivered", set_, clear=("last_error",),
                            opportunity_id=opportunity_id, applied=applied if opportunity_id else None,
                            attempt=attempt)

    def complete_many(self, completions: list[Completion], now: float) -> list[bool]:
        """`complete` for each, in order (each its own script: Redis has no fsync to share per call)."""
        return [self.complete(c.delivery_id, c.token, now, c.opportunity_id, c.applied, c.attempt)
                for c in completions]

    def retry_at(self, delivery_id: int, token: str, when: float, error: dict | None, now: float,
                 count_attempt: bool = True, attempt: dict | None = None, hold_until: float | None = None) -> bool:
        """Schedule another attempt at `when`; `count_attempt=False` gives the attempt back (pause)."""
        return self._finish(delivery_id, token, now, "retrying",
                            {"next_attempt_at": _num(when), "last_error": _dumps(error)},
                            give_back=not count_attempt, attempt=attempt, hold_until=hold_until)

    def dead(self, delivery_id: int, token: str, error: dict, now: float, attempt: dict | None = None,
             hold_until: float | None = None) -> bool:
        """Give up on a delivery, keeping why."""
        return self._finish(delivery_id, token, now, "dead", {"last_error": _dumps(error)}, attempt=attempt,
                            hold_until=hold_until)

    def supersede(self, delivery_id: int, token: str, now: float, reason: dict, attempt: dict | None = None) -> bool:
        """Finish a delivery whose every field a newer event has already set."""
        return self._finish(delivery_id, token, now, "superseded", {"last_error": _dumps(reason)}, attempt=attempt)

    def field_times(self, opportunity_id: str, fields: list[str]) -> dict[str, str]:
        """When the newest applied event that set each field occurred (fields never set are absent)."""
        if not fields:
            return {}
        with self._calling():
            values = cast("list[str | None]", self.client.hmget(self._key("f", opportunity_id), fields))
        return {name: value for name, value in zip(fields, values, strict=True) if value is not None}

    # ---- the shared pace ----------------------------------------------------------------
    def update_pace(self, transition):
        """Read the pace state, run `transition`, write back with a compare-and-set script; retry on a race."""
        for _ in range(_PACE_TRIES):
            with self._calling():
                before = self.client.get(self._key("pace")) or ""
            state, result = transition(json.loads(before) if before else None)
            if self._run("pace", [before, json.dumps(state, separators=(",", ":"))]) == 1:
                return result
        raise StoreUnavailable(f"Redis {self.shown}: the pace state changed under {_PACE_TRIES} updates in a row")

    def read_pace(self) -> dict | None:
        """The shared pace state (None before the first update)."""
        with self._calling():
            text = self.client.get(self._key("pace"))
        return json.loads(text) if text else None

    # ---- operators --------------------------------------------------------------------
    def replay(self, ids: list[int] | None = None, filter: dict | None = None, now: float | None = None) -> int:
        """Queue dead/delivered/superseded/retrying deliveries again, due `now`; returns how many."""
        if now is None or (ids is None and filter is None):
            raise InvalidQuery("replay needs `now` and delivery ids or a filter")
        checked = check_filter(filter)
        statuses = [s for s in checked.get("status", REPLAYABLE) if s in REPLAYABLE]
        if not statuses:
            return 0
        wanted = None if ids is None else {int(i) for i in ids}
        chosen = [r.id for r in self._scan({**checked, "status": tuple(statuses)}, wanted)]
        return sum(self._run("replay", [_num(now), *map(str, chosen[i:i + _BATCH])])
                   for i in range(0, len(chosen), _BATCH))

    def retarget(self, delivery_id: int, target: dict, now: float) -> bool:
        """Queue a dead delivery that had a target again for `target`, in one script; False if it cannot be."""
        return self._run("retarget", [str(int(delivery_id)), _num(now), json.dumps(target), target_key(target)]) == 1

    def rebuild(self, source: str, event_id: str, deliveries: list[NewDelivery], now: float) -> int:
        """Insert the event's missing routes and replace its unresolved dead ones, in one script; how many."""
        args = [_num(now)]
        for d in deliveries:
            args += [d.route, d.status, json.dumps(d.target), target_key(d.target), json.dumps(d.attributes),
                     _dumps(d.error) or ""]
        return self._run("rebuild", args, keys=[self._key("e", self._event_member(source, event_id))])

    def list_deliveries(self, filter: dict, limit: int,
                        cursor: str | None = None) -> tuple[list[DeliveryRecord], str | None]:
        """One page in received (id) order and the next page's cursor (None on the last page)."""
        checked, limit = check_filter(filter), check_limit(limit)
        records = []
        for record in self._scan(checked, None, after=decode_cursor(cursor)):
            records.append(record)
            if len(records) > limit:
                return records[:limit], encode_cursor(records[limit - 1].id)
        return records, None

    def _scan(self, filter: dict, ids: set[int] | None, after: int = 0):
        """Matching records in id order, read page by page from the narrowest index."""
        if ids is not None:
            candidates = self._pipeline_records(sorted(i for i in ids if i > after))
            yield from (r for r, target in candidates if matches(r, target, filter))
            return
        index = self._key("status", filter["status"][0]) if len(filter.get("status", ())) == 1 else self._key("all")
        while True:
            with self._calling():
                members = cast("list[str]", self.client.zrangebyscore(index, f"({after}", "+inf", start=0,
                                                                      num=_PAGE))
            if not members:
                return
            for record, target in self._pipeline_records([int(m) for m in members]):
                if matches(record, target, filter):
                    yield record
            after = int(members[-1])

    def _pipeline_records(self, ids: list[int]) -> list[tuple[DeliveryRecord, str]]:
        with self._calling():
            pipe = self.client.pipeline(transaction=False)
            for delivery_id in ids:
                pipe.hgetall(self._key("d", str(delivery_id)))
            found = pipe.execute()
        return [(_record(i, h), h["target_key"]) for i, h in zip(ids, found, strict=True) if h]

    def purge(self, now: float, finished_before: float | None = None, dead: bool = False) -> int:
        """Delete finished deliveries (and dead ones if asked), then orphaned events; returns how many."""
        cutoff = _num(now if finished_before is None else finished_before)
        return sum(self._purge_phase(phase, cutoff, dead) for phase in ("deliveries", "events", "fields"))

    def _purge_phase(self, phase: str, cutoff: str, dead: bool) -> int:
        """Repeat one purge phase in short scripts until a batch comes back short; returns how many went."""
        total, offset = 0, 0
        while True:
            removed, scanned, kept = self._run("purge", [cutoff, "1" if dead else "0", self.purge_batch, offset,
                                                         phase])
            total += removed if phase != "fields" else 0
            offset += kept
            if scanned < self.purge_batch:
                return total

    # ---- reading ----------------------------------------------------------------------
    def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        """One delivery by id."""
        found = self._pipeline_records([int(delivery_id)])
        return found[0][0] if found else None

    def deliveries_for_event(self, source: str, event_id: str) -> list[DeliveryRecord]:
        """Every delivery of one event, in id order."""
        with self._calling():
            ids = cast("str | None", self.client.hget(self._key("e", self._event_member(source, event_id)),
                                                    "deliveries"))
        return [r for r, _ in self._pipeline_records([int(i) for i in (ids or "").split(",") if i])]

    def get_event(self, source: str, event_id: str) -> dict | None:
        """The stored event with its conflict count and its data (the event as received)."""
        with self._calling():
            h = self.client.hgetall(self._key("e", self._event_member(source, event_id)))
        if not h:
            return None
        return {"source": h["source"], "event_id": h["event_id"], "type": h.get("type"),
                "occurred_at": h.get("occurred_at"), "outcome": h["outcome"], "reason": h.get("reason"),
                "received_at": float(h["received_at"]), "conflicts": int(h["conflicts"]),
                "duplicates": int(h.get("duplicates", 0)),
                "data": json.loads(h["data"]) if "data" in h else None, "id_source": id_source(h["event_id"])}

    def counts(self) -> dict[str, int]:
        """Number of deliveries per status."""
        with self._calling():
            pipe = self.client.pipeline(transaction=False)
            for status in STATUSES:
                pipe.zcard(self._key("status", status))
            sizes = pipe.execute()
        return {status: size for status, size in zip(STATUSES, sizes, strict=True) if size}

    def oldest_queued_at(self) -> float | None:
        """received_at of the oldest delivery still waiting or in flight (ids follow received order)."""
        with self._calling():
            firsts = [cast("list[str]", self.client.zrange(self._key("status", s), 0, 0)) for s in PENDING]
        ids = [int(found[0]) for found in firsts if found]
        record = self.get_delivery(min(ids)) if ids else None
        return record.received_at if record else None

    def ping(self) -> None:
        """Raise StoreUnavailable unless Redis answers."""
        with self._calling():
            self.client.ping()

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _connect(url: str) -> redis.Redis:
    """A client with short timeouts and few quick retries: a Redis that is down means 503 fast."""
    retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2)
    try:
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=3,
                                    health_check_interval=15, retry=retry)
    except ValueError as exc:
        raise StoreConfigError(f"cannot be parsed as a Redis URL ({exc})") from None


def check_durability(client: redis.Redis, shown: str) -> dict:
    """Read Redis's persistence settings where CONFIG is allowed; WARN when acknowledged events could be lost."""
    try:
        config = {}
        for name in ("appendonly", "appendfsync", "maxmemory-policy"):
            config.update(client.config_get(name))
    except redis.ResponseError as exc:
        log.warning("cannot read Redis persistence settings (%s) on %s: make sure it runs with appendonly yes "
                    "and maxmemory-policy noeviction, or acknowledged webhooks can be lost on a Redis restart",
                    exc, shown)
        return {}
    if config.get("appendonly") != "yes":
        log.warning("Redis at %s runs with appendonly=%s: acknowledged webhooks not yet in an RDB snapshot "
                    "are LOST if Redis restarts. Set appendonly yes (appendfsync everysec or always).",
                    shown, config.get("appendonly"))
    elif config.get("appendfsync") == "no":
        log.warning("Redis at %s runs with appendfsync=no: a crash of its machine can lose the last ~30 s of "
                    "acknowledged webhooks. Use appendfsync everysec (about 1 s) or always.", shown)
    policy = config.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        log.warning("Redis at %s has maxmemory-policy=%s: when memory runs out Redis may EVICT stored "
                    "webhooks and deliveries. Set maxmemory-policy noeviction.", shown, policy)
    return config


def _source(name: str) -> str:
    return (_LUA / "common.lua").read_text() + "\n" + (_LUA / f"{name}.lua").read_text()


def _pairs(**fields) -> list[str]:
    """Flat field/value strings for HSET, leaving out None."""
    return [item for name, value in fields.items() if value is not None for item in (name, str(value))]


def _as_dict(flat: list) -> dict:
    return dict(zip(flat[::2], flat[1::2], strict=False))


def _record(delivery_id, h: dict) -> DeliveryRecord:
    extra = {"updated_at": float(h["updated_at"]), "history": json.loads(h.get("history") or "[]")}
    if h.get("opportunity_id"):
        extra["opportunity_id"] = h["opportunity_id"]
    return DeliveryRecord(int(delivery_id), h["source"], h["event_id"], h["route"], json.loads(h["target"]),
                          json.loads(h["attributes"]), DeliveryStatus(h["status"]), int(h["attempts"]),
                          float(h["next_attempt_at"]), float(h["received_at"]), h.get("occurred_at"),
                          h.get("lease_token"), json.loads(h["last_error"]) if h.get("last_error") else None, extra)


def _num(value: float) -> str:
    """A float as the exact text Redis and Lua parse back to the same double."""
    return repr(float(value))


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value)

