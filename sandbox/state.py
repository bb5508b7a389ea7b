"""The per-app sandbox state shared by the API and control endpoints."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, UTC
from collections.abc import Callable

from flask import current_app

from .auth import Authenticator
from .cursor import CursorCodec
from .faults import FaultQueue
from .requestlog import RequestLog
from .store import Store
from .timestamps import format_timestamp, utc_now

EXTENSION_KEY = "reevo_sandbox"


@dataclass
class SandboxState:
    """Everything one sandbox instance holds."""

    store: Store
    faults: FaultQueue
    log: RequestLog
    auth: Authenticator
    codec: CursorCodec
    clock: Callable[[], datetime | float] = utc_now
    sleep: Callable[[float], None] = time.sleep

    def now(self) -> str:
        """The clock's current time as ``YYYY-MM-DDTHH:MM:SSZ``."""
        moment = self.clock()
        if isinstance(moment, (int, float)):
            moment = datetime.fromtimestamp(moment, UTC)
        return format_timestamp(moment)

    def reset(self) -> None:
        """Reload the seed and forget faults and logged requests."""
        self.store.reset()
        self.faults.clear()
        self.log.clear()


def get_state() -> SandboxState:
    """The state of the sandbox app handling the current request."""
    return current_app.extensions[EXTENSION_KEY]
