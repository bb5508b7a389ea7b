"""The header strip on every console page: paused or not, queue depth, oldest queued age, dead, store."""
from __future__ import annotations

from dataclasses import dataclass

from bridge.store import DEAD, PENDING


@dataclass
class Strip:
    """What the strip shows; the counts are None when the store did not answer."""

    store_ok: bool
    paused: bool
    queued: int | None = None
    oldest_age: float | None = None  # seconds the oldest unfinished delivery has waited
    dead: int | None = None
    store_error: str = ""


def header_strip(runtime) -> Strip:
    """Read the strip's facts from the store and this process's delivery worker; never raises."""
    paused = bool(getattr(runtime.worker, "paused", False))
    try:
        runtime.store.ping()
        counts = runtime.store.counts()
        oldest = runtime.store.oldest_queued_at()
    except Exception as exc:  # a store blip must not take the console down: the strip says so instead
        return Strip(store_ok=False, paused=paused, store_error=type(exc).__name__)
    age = max(0.0, runtime.clock() - oldest) if oldest else None
    return Strip(store_ok=True, paused=paused, queued=sum(counts.get(s, 0) for s in PENDING),
                 oldest_age=age, dead=counts.get(DEAD, 0))
