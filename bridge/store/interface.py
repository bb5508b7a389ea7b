"""The one contract every backend keeps (memory://, sqlite:///…, redis://…).

`tests/store/` runs the same suite against all three. Times are epoch seconds passed
in by the caller (`now`): a backend never reads the clock to decide anything.

Lifecycle of a delivery:

    queued ─claim→ delivering ─complete→ delivered
                              ─supersede→ superseded
                              ─retry_at→ retrying ─claim→ delivering …
                              ─dead→ dead
    (a lease that expires makes `delivering` claimable again)
    replay: dead | delivered | superseded | retrying → queued (attempts 0, due now)
    rebuild: dead and unresolved (a mapping failure, no target) → queued, or dead with the new reason

Every finishing call (complete, retry_at, dead, supersede) takes the lease token the
claim handed out: it returns False when the lease was lost to another worker, and True
again when repeated with the same token for the same outcome (a retried command).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from bridge.store import AcceptResult, Completion, DeliveryRecord, EventRecord, NewDelivery

T = TypeVar("T")

# Keys a list/replay filter may hold (see `list_deliveries`).
FILTER_KEYS = ("status", "source", "route", "opportunity", "event_id", "received_from", "received_to")


class Store(Protocol):
    """What the accept pipeline, the delivery workers, the admin API and the CLI use."""

    # ---- accept ----------------------------------------------------------------------
    def accept(self, event: EventRecord, deliveries: list[NewDelivery], now: float) -> AcceptResult:
        """Store an event and its deliveries atomically: "accepted", "duplicate" or "conflict".

        Deduplicates on (source, event id). The same id with another body hash is a
        "conflict": counted on the stored event (`get_event(...)["conflicts"]`), not applied;
        the same body again is a "duplicate", counted too (`["duplicates"]`).
        """

    # ---- the queue ---------------------------------------------------------------------
    def claim(self, limit: int, lease_seconds: float, now: float,
              token: str | None = None, hold_seconds: float = 0.0) -> list[DeliveryRecord]:
        """Lease up to `limit` due deliveries until now + lease_seconds; never two for one opportunity.

        An opportunity is not free while one of its deliveries is leased, until `hold_seconds`
        after that lease ends (its worker may have died mid-request), nor while a hold set by
        `retry_at`/`dead` lasts. A caller-chosen `token` makes a retried claim return the same deliveries.
        """

    def complete(self, delivery_id: int, token: str, now: float, opportunity_id: str | None = None,
                 applied: dict[str, str] | None = None, attempt: dict | None = None) -> bool:
        """Mark delivered and, in the same atomic step, raise each applied field's time.

        `applied` maps field → occurred_at text (ISO UTC, so text order is time order);
        the store keeps the max of the stored and the given time per (opportunity, field).
        Every finishing call appends `attempt` (when given) to the delivery's attempt log,
        in the same atomic step; the log keeps the newest ATTEMPT_LOG_SIZE entries.
        """

    def complete_many(self, completions: list[Completion], now: float) -> list[bool]:
        """`complete` for each, in order, each atomic on its own; one write for all where the backend can."""

    def retry_at(self, delivery_id: int, token: str, when: float, error: dict | None, now: float,
                 count_attempt: bool = True, attempt: dict | None = None, hold_until: float | None = None) -> bool:
        """Make the delivery due again at `when`; `count_attempt=False` gives the attempt back.

        `hold_until` (after a request whose result is unknown): in the same atomic step, no
        delivery of this opportunity is claimed before then.
        """

    def dead(self, delivery_id: int, token: str, error: dict, now: float, attempt: dict | None = None,
             hold_until: float | None = None) -> bool:
        """Give up on the delivery, keeping why (`hold_until` as for `retry_at`)."""

    def supersede(self, delivery_id: int, token: str, now: float, reason: dict, attempt: dict | None = None) -> bool:
        """Finish a delivery that newer events made pointless (a finished state like delivered)."""

    def field_times(self, opportunity_id: str, fields: list[str]) -> dict[str, str]:
        """The last applied occurred_at per field, only for fields that have one."""

    # ---- the shared pace toward Reevo (bridge/delivery/pace.py) ------------------------
    def update_pace(self, transition: Callable[[dict | None], tuple[dict, T]]) -> T:
        """Replace the shared pace state by `transition(state)[0]` atomically; return `[1]`.

        `transition` is pure and may run more than once (optimistic backends retry it on a race).
        """

    def read_pace(self) -> dict | None:
        """The shared pace state (None before the first update)."""

    # ---- operators -------------------------------------------------------------------
    def replay(self, ids: list[int] | None = None, filter: dict | None = None, *, now: float) -> int:
        """Put dead/delivered/superseded/retrying deliveries back to queued, due `now`; how many.

        Attempts restart at 0; the previous status, attempts and error are appended to the
        delivery's history (`extra["history"]`) and last_error is cleared. Deliveries that died
        before they had a target (mapping failures) cannot be replayed and are skipped: `rebuild`
        gives them a new rendering.
        """

    def retarget(self, delivery_id: int, target: dict, now: float) -> bool:
        """Send a dead delivery's PATCH to another opportunity: atomically, a dead delivery that had a
        target gets `target` (e.g. {"id": uuid}), queued, attempts 0, due `now`, last_error cleared; what it
        was is appended to its history as `replay` does, with `retargeted_from` and `retargeted_to`.
        Anything else (not dead, unresolved, unknown id): False, nothing written.
        """

    def rebuild(self, source: str, event_id: str, deliveries: list[NewDelivery], now: float) -> int:
        """Apply a new rendering of a stored event in one atomic step; how many deliveries were inserted or replaced.

        For each given delivery (one per route): a route the event has no delivery for is
        inserted (queued, or dead with its error; received_at and occurred_at are the event's);
        a delivery of that route that is dead and unresolved (target_key "unresolved": it died
        before it had a target) gets the new target, attributes, status and error, attempts 0,
        due `now`, and what it was is appended to its history as `replay` does, with
        `"rebuilt": true`; any other delivery (resolved, pending or finished) is left alone.
        An event stored as "ignored" that now has a delivery becomes "accepted" (reason cleared).
        An event that is not stored: 0, nothing written.
        """

    def list_deliveries(self, filter: dict, limit: int,
                        cursor: str | None = None) -> tuple[list[DeliveryRecord], str | None]:
        """One page of deliveries in received (id) order, and the cursor of the next page (or None).

        `filter` keys: status (one or a list), source, route, opportunity (an opportunity id
        or a target key), event_id, received_from (inclusive), received_to (exclusive).
        """

    def purge(self, now: float, finished_before: float | None = None, dead: bool = False) -> int:
        """Delete what is finished before `finished_before` (default: now); how many records went.

        Delivered and superseded deliveries go; dead ones only with `dead=True`. Events
        (the dedupe keys) go once received before the cut and left with no delivery; the
        stale-guard field times go once not raised since the cut. Pending work never goes.
        """

    # ---- reading ---------------------------------------------------------------------
    def get_delivery(self, delivery_id: int) -> DeliveryRecord | None:
        """One delivery by id."""

    def deliveries_for_event(self, source: str, event_id: str) -> list[DeliveryRecord]:
        """Every delivery of one event, in id order."""

    def list_events(self, filter: dict, limit: int, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of stored events, newest first, and the next page's cursor (None at the end).

        `filter` keys (`events_query.EVENT_FILTER_KEYS`): received_from (inclusive), received_to
        (exclusive), source, type, status (accepted/ignored, one or a list), opportunity,
        delivery_status (one or a list: events with a delivery in it), q (case-insensitive text
        in the event id or the stored body). Each row (`events_query.event_row`): source, event_id,
        type, occurred_at, received_at, status, reason, id_source, duplicates, conflicts,
        deliveries (total and per status), opportunities. At most SCAN_BUDGET events are examined
        per call: a short (even empty) page with a cursor means "go on from there".
        """

    def deliveries_for_opportunity(self, opportunity: str, limit: int = 10_000) -> list[DeliveryRecord]:
        """Every delivery that targeted an opportunity (its id, a target key, or resolved to it), in id order."""

    def attempt_log(self, delivery_id: int) -> list[dict]:
        """The delivery's newest attempts (what the finishing calls were given), oldest first."""

    def issue_groups(self, retrying_before: float) -> list[dict]:
        """Dead deliveries and those retrying that were received before `retrying_before`, grouped by
        (source, route, reason) as `events_query.group_issues` groups `problem_deliveries`; largest first."""

    def problem_deliveries(self, retrying_before: float, source: str | None = None,
                           route: str | None = None) -> list[tuple]:
        """Dead deliveries and those retrying that were received before `retrying_before`, in id order.

        Each: (id, source, route, status, last_error, updated_at, event_id) — what
        `events_query.group_issues` groups.
        """

    def get_event(self, source: str, event_id: str) -> dict | None:
        """The stored event: source, event_id, type, occurred_at, outcome, reason, received_at, conflicts,
        duplicates (how many identical re-sends were answered as duplicates), data, id_source ("sender",
        or "content_hash" when the mapping read no id and the content hash is the id).

        `data` is the event as received (the sender's payload for this event), or None when it was
        not stored (events from before it was kept).
        """

    def counts(self) -> dict[str, int]:
        """Number of deliveries per status (statuses with none are left out)."""

    def oldest_queued_at(self) -> float | None:
        """received_at of the earliest-accepted delivery not yet finished (queued/retrying/delivering)."""

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""

    def close(self) -> None:
        """Release connections."""
