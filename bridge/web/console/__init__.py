"""The operator console at /console/: server-rendered pages over the store and the ops functions.

Off unless BRIDGE_ADMIN_TOKEN is set. `install` registers the blueprint and its per-app state;
the pages call the store and bridge.ops directly and hold no queries of their own.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from bridge.config import Settings
from bridge.web.console import actions, event_pages, issue_pages, mapping_pages, signin  # noqa: F401 - routes
from bridge.web.console.access import Access
from bridge.web.console.blueprint import blueprint
from bridge.web.console.filters import install_filters
from bridge.web.console.throttle import SignInThrottle


@dataclass
class ConsoleState:
    """What the console keeps per app: the token checks and the sign-in throttle."""

    access: Access
    throttle: SignInThrottle


def install(app: Flask, settings: Settings, clock) -> None:
    """Register the console on `app` (its guard answers 404 while no admin token is set)."""
    app.extensions["console"] = ConsoleState(
        Access(settings.admin_token, settings.viewer_token, settings.console_session_hours * 3600, clock),
        SignInThrottle(clock))
    install_filters(app)
    app.register_blueprint(blueprint)
