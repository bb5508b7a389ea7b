"""Signing in and out of the console."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request, url_for

from bridge.telemetry.logs import log_state
from bridge.web.console.access import COOKIE, SIGNIN_COOKIE, SIGNIN_FORM_SECONDS
from bridge.web.console.blueprint import blueprint, client_address, console_state, log
from bridge.reasons import Refused


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if (target and target.startswith("/console/") and not urlsplit(target).netloc and "\\" not in target
            and ".." not in target):
        return target
    return url_for("console.events")


def _set_cookie(response, name: str, value: str, max_age: float) -> None:
    response.set_cookie(name, value, max_age=int(max_age), path="/console/", httponly=True,
                        samesite="Strict", secure=request.is_secure)


def _form(status_code: int = 200, error: str = "", retry_after: float = 0.0):
    """The sign-in page with a fresh login-CSRF nonce (cookie + hidden field)."""
    cookie, nonce = console_state().access.signin_nonce()
    html = render_template("console/signin.html", me=None, error=error, nonce=nonce,
                           next=_safe_next(request.values.get("next")), status_code=status_code)
    response = make_response(html, status_code)
    _set_cookie(response, SIGNIN_COOKIE, cookie, SIGNIN_FORM_SECONDS)
    if retry_after:
        response.headers["Retry-After"] = str(int(retry_after + 0.999))
    return response


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """GET: the form. POST: check the token; a session cookie on success, a counted failure otherwise."""
    if request.method == "GET":
        return _form()
    state, client = console_state(), client_address()
    if not state.access.signin_nonce_ok(request.cookies.get(SIGNIN_COOKIE), request.form.get("nonce")):
        return _form(403, "The sign-in form expired; enter the token again.")
    wait = state.throttle.wait_for(client)
    if wait:
        log_state(log, "console sign-in refused: too many wrong tokens", logging.WARNING, client=client,
                  reason=Refused.LOCKED_OUT, wait=round(wait))
        return _form(429, f"Too many wrong tokens from this address; try again in {int(wait + 0.999)} s.", wait)
    role = state.access.role_for(request.form.get("token", ""))
    if role is None:
        earned = state.throttle.failed(client)
        log_state(log, "console sign-in failed: wrong token", logging.WARNING, client=client,
                  reason=Refused.WRONG_TOKEN, wait=round(earned) or None)
        return _form(401, "That token is not right.", earned)
    state.throttle.succeeded(client)
    log_state(log, "console sign-in", client=client, role=role)
    response = redirect(_safe_next(request.form.get("next")), 303)
    _set_cookie(response, COOKIE, state.access.new_session(role), state.access.session_seconds)
    response.delete_cookie(SIGNIN_COOKIE, path="/console/")
    return response


@blueprint.post("/sign-out")
def sign_out():
    """End the session (the guard has checked its CSRF token)."""
    response = redirect(url_for("console.sign_in"), 303)
    response.delete_cookie(COOKIE, path="/console/", httponly=True, samesite="Strict", secure=request.is_secure)
    return response
