"""A faithful local stand-in of the Reevo Public API v2 (opportunities).

It imports nothing from ``bridge``, so it can catch the bridge's
mistakes. Entry points: ``create_app`` (Flask app), ``SandboxServer`` (real
HTTP server in a thread), ``serve`` (blocking). Every undocumented behaviour
is decided in ``errors.py`` (``CHOICES``), listed in docs/sandbox.md.
"""

from .app import create_app
from .server import SandboxServer, serve

__all__ = ["create_app", "SandboxServer", "serve"]
