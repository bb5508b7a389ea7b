"""Mappings: each source's file, scheme, secrets (set or not, never values), load errors and routes;
the playground (`python -m bridge preview` in a form) and the backtest over stored events."""
from __future__ import annotations

import json

from flask import request

from bridge.mapping.loader import load_mappings
from bridge.mapping.preview import preview_events
from bridge.ops.backtest import MAX_EVENTS, run_backtest
from bridge.store import InvalidQuery, StoreUnavailable
from bridge.web.console.blueprint import blueprint, page, runtime

DEFAULT_BACKTEST = 50


def _target_text(route) -> str:
    target = route.target
    if target.id is not None:
        return f"id = {target.id.expression}"
    return f"match {target.match_field} = {getattr(target.match_value, 'expression', target.match_value)}"


def _source_view(name: str, source) -> dict:
    mapping = source.mapping
    routes = [{"name": r.name, "when": r.condition.describe(), "target": _target_text(r),
               "fields": sorted(r.fields)} for r in mapping.routes]
    return {"name": name, "file": mapping.path, "scheme": mapping.scheme,
            "secrets": [(n, source.secret_set.get(n, False)) for n in mapping.secret_names],
            "enabled": not source.missing, "demo": source.demo, "routes": routes}


@blueprint.get("/mappings")
def mappings():
    """Every source in use, what the last reload said, and what `check` finds in the files now."""
    bridge = runtime()
    sources = [_source_view(n, s) for n, s in sorted(bridge.pipeline.sources.items())]
    _, disk_problems = load_mappings(bridge.settings.mappings_dir)
    return page("mappings.html", sources=sources, reload=bridge.reload_status, disk_problems=disk_problems,
                mappings_dir=bridge.settings.mappings_dir)


def _parse_headers(text: str) -> dict:
    """Headers as a JSON object, or as `Name: value` lines (as copied from a request log)."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        found = json.loads(text)
        if not isinstance(found, dict):
            raise ValueError("headers must be a JSON object")
        return {str(k): str(v) for k, v in found.items()}
    headers = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ValueError(f"header line {number} is not `Name: value`")
            headers[name.strip()] = value.strip()
    return headers


def _preview(source, payload: str, headers_text: str) -> tuple[list | None, str]:
    """(the preview, "") or (None, why the input could not be previewed)."""
    try:
        body = json.loads(payload)
    except RecursionError:
        return None, "the payload is nested too deeply"
    except ValueError as exc:
        return None, f"the payload is not valid JSON: {exc}"
    try:
        headers = _parse_headers(headers_text)
    except (ValueError, RecursionError) as exc:
        return None, f"the headers could not be read: {exc}"
    return preview_events(source.mapping, body, headers), ""


@blueprint.route("/mappings/playground", methods=["GET", "POST"])
def playground():
    """A pasted payload (and headers) through a source's mapping in use: what would be sent, nothing sent."""
    sources = runtime().pipeline.sources
    chosen = request.values.get("source") or next(iter(sorted(sources)), "")
    payload, headers_text = request.form.get("payload", ""), request.form.get("headers", "")
    result, error = None, ""
    if request.method == "POST":
        if chosen not in sources:
            error = f"no mapping named {chosen!r} is loaded"
        else:
            result, error = _preview(sources[chosen], payload, headers_text)
    shown = json.dumps(result, indent=2, ensure_ascii=False, default=str) if result is not None else ""
    return page("playground.html", sources=sorted(sources), chosen=chosen, payload=payload,
                headers_text=headers_text, result=result, result_json=shown, error=error,
                status_code=422 if error else 200)


@blueprint.get("/mappings/backtest")
def backtest():
    """The current mapping of a source over its last N stored events: where the PATCH would differ."""
    bridge = runtime()
    sources = bridge.pipeline.sources
    chosen = request.args.get("source", "")
    try:
        count = int(request.args.get("n", DEFAULT_BACKTEST))
    except ValueError:
        count = DEFAULT_BACKTEST
    count = max(1, min(count, MAX_EVENTS))
    outcome, error = None, ""
    if chosen:
        if chosen not in sources:
            error = f"no mapping named {chosen!r} is loaded"
        else:
            try:
                outcome = run_backtest(sources, bridge.store, chosen, count)
            except (StoreUnavailable, InvalidQuery) as exc:
                error = f"the store could not answer: {exc}"
    return page("backtest.html", sources=sorted(sources), chosen=chosen, count=count, max_count=MAX_EVENTS,
                outcome=outcome, error=error)
