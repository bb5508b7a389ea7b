"""The console's blueprint and the guard every request passes: on/off, who, CSRF, response headers.

Pages are server-rendered with Jinja's autoescaping, so everything from a payload is text.
The one script (static/console.js) and one stylesheet are served from here; the CSP admits
nothing else: no inline script or style, no other origin, no framing.
"""
from __future__ import annotations

import functools
import logging

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, url_for

from bridge.telemetry.logs import log_state
from bridge.web.console import status
from bridge.web.console.access import COOKIE, csrf_ok
from bridge.reasons import Refused

log = logging.getLogger("bridge.console")
blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                      static_folder="static")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_OPEN_ENDPOINTS = ("console.sign_in", "console.static")  # reachable before signing in


def runtime():
    """The bridge's Runtime (store, sources, settings, clock)."""
    return current_app.extensions["bridge"]


def console_state():
    """The console's Access and SignInThrottle for this app."""
    return current_app.extensions["console"]


def identity():
    """The signed-in Identity of this request (set by the guard)."""
    return g.console_identity


def client_address() -> str:
    """The address failed sign-ins are counted under (the peer; a proxy's own address behind one)."""
    return request.remote_addr or "unknown"


@blueprint.before_request
def guard():
    """404 while the console is off; sign-in or 401 without a valid session or Bearer token; CSRF on POST."""
    state = console_state()
    if not state.access.enabled:
        abort(404, "the console is off; set BRIDGE_ADMIN_TOKEN to enable it")
    found = (state.access.from_bearer(request.headers.get("Authorization", ""))
             or state.access.from_cookie(request.cookies.get(COOKIE)))
    g.console_identity = found
    if request.endpoint in _OPEN_ENDPOINTS:
        return None
    if found is None:
        if request.method == "GET" and not request.args.get("fragment"):
            return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
        return refuse(401, Refused.UNAUTHORIZED, "sign in, or send Authorization: Bearer <token>")
    if request.method not in ("GET", "HEAD") and not csrf_ok(found, request.form.get("csrf_token")):
        log_state(log, "console request refused: no valid CSRF token", logging.WARNING,
                  path=request.path, reason=Refused.CSRF_FAILED)
        return refuse(403, Refused.CSRF_FAILED, "this form is missing its CSRF token or it is stale; "
                                          "reload the page and try again")
    return None


def admin_only(view):
    """Refuse (403 read_only) a viewer on a view that changes something."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not identity().can_act:
            log_state(log, "console action refused: viewer token is read-only", logging.WARNING,
                      path=request.path, reason=Refused.READ_ONLY)
            return refuse(403, Refused.READ_ONLY, "the viewer token can look but not change anything")
        return view(*args, **kwargs)
    return wrapped


@blueprint.after_request
def security_headers(response):
    """CSP without inline code, no framing, no sniffing, and no caching of anything but the static files."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def page(template: str, status_code: int = 200, **context):
    """Render a console page with the header strip and the identity it needs."""
    html = render_template(f"console/{template}", me=identity(), strip=status.header_strip(runtime()),
                           **context)
    return make_response(html, status_code)


def refuse(status_code: int, reason: Refused, detail: str):
    """An error page (HTML, with the reason code as text and in a header for scripts)."""
    html = render_template("console/refused.html", me=getattr(g, "console_identity", None), reason=reason,
                           detail=detail, status_code=status_code)
    response = make_response(html, status_code)
    response.headers["X-Console-Reason"] = reason
    return response
