"""Sentry: errors and alerts (dead deliveries, pauses), scrubbed before they leave the process.

Off unless SENTRY_DSN is set. `before_send` drops request bodies (webhook payloads)
and cookies and runs every string through the log scrubber, so no secret, signature
or Authorization value reaches Sentry.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from bridge import __version__
from bridge.telemetry.logs import SCRUBBER, Scrubber

if TYPE_CHECKING:
    from sentry_sdk.types import Event

Level = Literal["fatal", "critical", "error", "warning", "info", "debug"]

_enabled = False


def scrub_event(event: Event, scrubber: Scrubber = SCRUBBER) -> Event:
    """Sentry's `before_send`: no payload, no cookies, no secret anywhere in the event."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "query_string"):  # payloads; PandaDoc signs in the query string
            request.pop(key, None)
    return scrubber.data(event)


def init_sentry(dsn: str, environment: str, scrubber: Scrubber = SCRUBBER) -> bool:
    """Start Sentry with the Flask integration when a DSN is configured; True if started."""
    global _enabled
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    sentry_sdk.init(
        dsn=dsn, release=f"reevo-bridge@{__version__}", environment=environment,
        integrations=[FlaskIntegration(), LoggingIntegration(level=logging.INFO, event_level=None)],
        data_collection={"user_info": False, "http_bodies": [], "stack_frame_variables": False},
        traces_sample_rate=0, before_send=lambda event, hint: scrub_event(event, scrubber),
        before_breadcrumb=lambda crumb, hint: scrubber.data(crumb),
    )
    _enabled = True
    return True


def report(message: str, level: Level = "error", **tags) -> None:
    """Send one alert with tags (source, route, reason …) when Sentry is on; otherwise nothing."""
    if not _enabled:
        return
    import sentry_sdk
    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            if value is not None:
                scope.set_tag(key, str(value))
        sentry_sdk.capture_message(message, level=level)


def flush(timeout: float = 5.0) -> None:
    """Send what is queued (at shutdown, and in tests)."""
    if _enabled:
        import sentry_sdk
        sentry_sdk.flush(timeout=timeout)
