"""The Reevo webhook bridge: signed webhooks in, Reevo opportunity PATCHes out."""
from __future__ import annotations

__version__ = "0.1.0"


def create_app(config=None, clock=None):
    """Build the Flask app. `config` is a Settings, a dict of environment values, or None (os.environ)."""
    from bridge.web.factory import build_app
    return build_app(config, clock)
