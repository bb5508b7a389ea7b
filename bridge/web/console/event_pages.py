"""Events: the list (filters in the URL, pages, live rows) and one event's detail."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template, request

from bridge.ops.event_detail import event_detail
from bridge.store import REPLAYABLE, STATUSES, InvalidQuery, StoreUnavailable
from bridge.store.events_query import EVENT_STATUSES
from bridge.web.console.blueprint import blueprint, identity, page, refuse, runtime
from bridge.reasons import Refused

PAGE_SIZE = 50
_TEXT_FILTERS = ("source", "type", "status", "delivery_status", "opportunity", "q")
_TIME_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends; read as UTC


def _epoch(name: str, text: str) -> float:
    try:
        parsed = datetime.strptime(text, _TIME_FORMAT if len(text) == 16 else _TIME_FORMAT + ":%S")
    except ValueError:
        raise InvalidQuery(f"{name}: expected a time like 2026-12-01T09:30 (UTC), not {text!r}") from None
    return parsed.replace(tzinfo=UTC).timestamp()


def filters_from(args) -> tuple[dict, dict]:
    """(the form's values as given, the store filter); raises InvalidQuery on a value it cannot use."""
    form = {key: args.get(key, "").strip() for key in _TEXT_FILTERS + ("from", "to")}
    store_filter = {key: form[key] for key in _TEXT_FILTERS if form[key]}
    if form["from"]:
        store_filter["received_from"] = _epoch("from", form["from"])
    if form["to"]:
        store_filter["received_to"] = _epoch("to", form["to"])
    return form, store_filter


def _page_of_events(args) -> dict:
    """The rows of one page and what the template needs around them (the error, if the filter was refused)."""
    form: dict[str, str] = {}
    cursor = args.get("cursor") or None
    try:
        form, store_filter = filters_from(args)
        rows, next_cursor = runtime().store.list_events(store_filter, PAGE_SIZE, cursor)
    except InvalidQuery as exc:
        return {"form": form or {k: args.get(k, "") for k in _TEXT_FILTERS}, "rows": [], "next_cursor": None,
                "error": str(exc), "cursor": cursor}
    return {"form": form, "rows": rows, "next_cursor": next_cursor, "error": "", "cursor": cursor}


@blueprint.get("/")
@blueprint.get("/events")
def events():
    """Every stored event, newest first; the filters are the URL, so a view can be bookmarked or shared."""
    try:
        found = _page_of_events(request.args)
    except StoreUnavailable as exc:
        return refuse(503, Refused.STORE_UNAVAILABLE, f"the store did not answer: {exc}")
    if request.args.get("fragment") == "rows":
        # The live mode's poll: the newest rows only, rendered by the same template as the table.
        return render_template("console/event_rows.html", rows=found["rows"])
    query = {k: v for k, v in request.args.items() if k not in ("cursor", "fragment", "live") and v}
    return page("events.html", 400 if found["error"] else 200, **found, query=query,
                sources=sorted(runtime().pipeline.sources), event_statuses=EVENT_STATUSES,
                delivery_statuses=STATUSES, live=request.args.get("live") == "1" and not found["cursor"])


@blueprint.get("/events/<source>/<path:event_id>", endpoint="event_detail")
def event_detail_page(source: str, event_id: str):
    """One event: its body, its routes matched or not, each delivery with its PATCH, attempts and history."""
    bridge = runtime()
    try:
        event = event_detail(bridge.store, bridge.pipeline.sources, source, event_id)
    except StoreUnavailable as exc:
        return refuse(503, Refused.STORE_UNAVAILABLE, f"the store did not answer: {exc}")
    if event is None:
        return refuse(404, Refused.NOT_FOUND, f"no event {event_id!r} from {source!r} is stored")
    replayable = [d["id"] for d in event["deliveries"] if d["status"] in REPLAYABLE]
    return page("event.html", event=event, replayable=replayable, now=bridge.clock(),
                can_act=identity().can_act)
