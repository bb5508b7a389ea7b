"""``create_app``: the Flask app of the Reevo sandbox."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from collections.abc import Callable

from flask import Flask, current_app, g, jsonify
from werkzeug.exceptions import HTTPException

from . import api, control
from .auth import Authenticator
from .cursor import CursorCodec
from .errors import ApiError, error_body
from .faults import FaultQueue
from .hooks import after_api_request, before_api_request
from .requestlog import RequestLog
from .state import EXTENSION_KEY, SandboxState
from .store import Store
from .timestamps import utc_now

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def create_app(seed_path: str | Path | None = None, api_keys=("sandbox-key",),
               read_only_keys=("sandbox-readonly-key",), clock: Callable | None = None,
               sleep: Callable[[float], None] | None = None) -> Flask:
    """Build a sandbox app with its own in-memory state.

    ``clock`` returns the current time (aware datetime or epoch seconds);
    ``sleep`` is used for fault delays. Both default to real time.
    """
    auth = Authenticator(tuple(api_keys), tuple(read_only_keys))
    state = SandboxState(store=Store(seed_path), faults=FaultQueue(), log=RequestLog(auth.secrets()),
                         auth=auth, codec=CursorCodec(secrets.token_bytes(32)),
                         clock=clock or utc_now, sleep=sleep or time.sleep)
    app = Flask("sandbox")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # Flask's documented switch
    app.extensions[EXTENSION_KEY] = state
    app.before_request(before_api_request)
    app.after_request(after_api_request)
    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    _register_error_handlers(app)
    return app


def _register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


def _api_error(exc: ApiError):
    g.error_code = exc.code
    return jsonify(exc.body()), exc.status


def _http_error(exc: HTTPException):
    code = _HTTP_CODES.get(exc.code or 500, "http_error")
    g.error_code = code
    return jsonify(error_body(code, exc.description or exc.name)), exc.code


def _unexpected_error(exc: Exception):
    current_app.logger.exception("sandbox internal error")
    g.error_code = "internal_error"
    return jsonify(error_body("internal_error", f"{type(exc).__name__}: {exc}")), 500
