"""Issues (problem deliveries grouped by source, route and reason) and an opportunity's history."""
from __future__ import annotations

from flask import redirect, request, url_for

from bridge.ops.issues import DEFAULT_RETRYING_FOR, issues
from bridge.ops.opportunity_history import opportunity_history
from bridge.store import StoreUnavailable
from bridge.web.console.blueprint import blueprint, identity, page, refuse, runtime
from bridge.reasons import Refused

MAX_OPPORTUNITY_TEXT = 200


@blueprint.get("/issues", endpoint="issues")
def issues_page():
    """Dead and long-retrying deliveries, one row per (source, route, reason), largest group first."""
    bridge = runtime()
    try:
        groups = issues(bridge.store, bridge.clock())
    except StoreUnavailable as exc:
        return refuse(503, Refused.STORE_UNAVAILABLE, f"the store did not answer: {exc}")
    return page("issues.html", groups=groups, retrying_for=DEFAULT_RETRYING_FOR, can_act=identity().can_act)


@blueprint.get("/opportunities")
def opportunity_search():
    """A form asking for an opportunity id (or match key); with one given, its history."""
    wanted = request.args.get("id", "").strip()
    if wanted:
        return redirect(url_for("console.opportunity", opportunity=wanted[:MAX_OPPORTUNITY_TEXT]))
    return page("opportunity_search.html")


@blueprint.get("/opportunities/<path:opportunity>")
def opportunity(opportunity: str):
    """Every delivery that targeted one opportunity, what each set, and the newest applied value per field."""
    try:
        history = opportunity_history(runtime().store, opportunity[:MAX_OPPORTUNITY_TEXT])
    except StoreUnavailable as exc:
        return refuse(503, Refused.STORE_UNAVAILABLE, f"the store did not answer: {exc}")
    return page("opportunity.html", history=history)
