"""Run the sandbox on a real threaded HTTP server.

``serve`` blocks (for ``python -m bridge sandbox``); ``SandboxServer`` runs it in a
background thread on a free port, for tests and demos.
"""

from __future__ import annotations

import threading
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_READ_ONLY_KEY = "sandbox-readonly-key"


class QuietRequestHandler(WSGIRequestHandler):
    """A request handler that does not print one line per request."""

    def log_request(self, code="-", size="-") -> None:  # noqa: D102 - silence access log
        return None


def serve(host: str = "127.0.0.1", port: int = 8090, seed_path: str | Path | None = None,
          api_keys=(DEFAULT_API_KEY,), read_only_keys=(DEFAULT_READ_ONLY_KEY,)) -> None:
    """Serve the sandbox until interrupted (Ctrl-C). Port 0 picks a free port."""
    app = create_app(seed_path=seed_path, api_keys=api_keys, read_only_keys=read_only_keys)
    server = make_server(host, port, app, threaded=True)
    print(f"Reevo sandbox listening on http://{host}:{server.server_port} (API key: {api_keys[0]})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class SandboxServer:
    """The sandbox on a real HTTP server in a background thread.

    Use as a context manager (or call ``start``/``stop``). ``url`` is the base URL,
    e.g. ``http://127.0.0.1:54321``; ``app`` the Flask app; ``api_key`` the write key.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed_path: str | Path | None = None,
                 api_keys=(DEFAULT_API_KEY,), read_only_keys=(DEFAULT_READ_ONLY_KEY,), clock=None,
                 sleep=None, quiet: bool = True):
        self.host = host
        self.app = create_app(seed_path=seed_path, api_keys=api_keys, read_only_keys=read_only_keys,
                              clock=clock, sleep=sleep)
        self.api_key = api_keys[0]
        self.read_only_key = read_only_keys[0] if read_only_keys else None
        handler = QuietRequestHandler if quiet else None
        self._server = make_server(host, port, self.app, threaded=True, request_handler=handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The TCP port actually bound."""
        return self._server.server_port

    @property
    def url(self) -> str:
        """Base URL, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def state(self):
        """The sandbox state (store, faults, log) for in-process inspection."""
        return self.app.extensions["reevo_sandbox"]

    def start(self) -> SandboxServer:
        """Start serving in a daemon thread; return self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"reevo-sandbox-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def reset(self) -> None:
        """Reload the seed and clear faults and the request log (same as POST /_sandbox/reset)."""
        self.state.reset()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
