"""Building is not starting: create_app only wires; Runtime.start does the rest, once asked."""
import atexit
import logging
import re
import threading

import pytest

from bridge.telemetry.logs import SCRUBBER
from helpers import ROOT

ADMIN_TOKEN = "admin-token-seen-only-after-start"


def bridge_threads() -> set:
    return {t.name for t in threading.enumerate() if t.name.startswith("bridge-")}


@pytest.fixture(autouse=True)
def bridge_logger_restored():
    """start() configures process-wide logging; later tests expect pytest's own capture."""
    logger = logging.getLogger("bridge")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


def test_building_an_app_starts_nothing_and_start_does_it_all(make_bridge):
    handlers = list(logging.getLogger("bridge").handlers)
    exit_callbacks = atexit._ncallbacks()
    bridge = make_bridge(BRIDGE_DELIVERY_THREADS=2, BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN)
    assert bridge_threads() == set(), "no delivery or retention thread"
    assert logging.getLogger("bridge").handlers == handlers, "process-wide logging untouched"
    assert ADMIN_TOKEN not in SCRUBBER.secrets, "the global scrubber untouched"
    assert atexit._ncallbacks() == exit_callbacks
    assert bridge.runtime.pool is None

    bridge.runtime.start()
    try:
        assert bridge_threads() == {"bridge-delivery-0", "bridge-delivery-1", "bridge-retention"}
        assert ADMIN_TOKEN in SCRUBBER.secrets
        assert logging.getLogger("bridge").handlers != handlers
    finally:
        assert bridge.runtime.stop(timeout=10), "the threads stop when asked"
    assert bridge_threads() == set()
    assert atexit._ncallbacks() == exit_callbacks, "stopping is explicit, not left to atexit"


def test_a_started_bridge_without_delivery_threads_still_sets_up_the_process(make_bridge):
    bridge = make_bridge(BRIDGE_DELIVERY_THREADS=0, BRIDGE_ADMIN_TOKEN=ADMIN_TOKEN + "-2")
    bridge.runtime.start()
    assert bridge_threads() == set() and bridge.runtime.pool is None
    assert ADMIN_TOKEN + "-2" in SCRUBBER.secrets
    assert bridge.runtime.stop(timeout=1)


def test_no_state_reaches_workers_through_environment_variables():
    """The master's state is module state the workers inherit; the one variable written is
    prometheus-client's own PROMETHEUS_MULTIPROC_DIR, which that library reads."""
    written = set()
    for path in [ROOT / "gunicorn.conf.py", *sorted((ROOT / "bridge").rglob("*.py"))]:
        text = path.read_text()
        written |= set(re.findall(r"os\.environ\[([^\]]+)\]\s*=", text))
        written |= set(re.findall(r"os\.environ\.(?:setdefault|update)\(([^,)]*)", text))
    assert written == {'"PROMETHEUS_MULTIPROC_DIR"'}, written
