"""The Reevo webhook bridge: signed webhooks in, Reevo opportunity PATCHes out."""
from __future__ import annotations

__version__ = "0.1.0"


def create_app(config=None, clock=None, *, mappings_fallback: str | None = None, migrate_store: bool = True):
    """Build the Flask app, without starting anything: no threads, no process-wide set-up.

    `config` is a Settings, a dict of environment values, or None (os.environ);
    `mappings_fallback` is a folder of mapping files to use when the configured ones have
    problems (the last good copy gunicorn's master keeps across reloads); `migrate_store`
    False leaves the store's schema to gunicorn's master, which migrated it once. Serving calls
    `app.extensions["bridge"].start()` (gunicorn's worker hook does, see bridge.web.server).
    """
    from bridge.web.factory import build_app
    return build_app(config, clock, mappings_fallback, migrate_store)
