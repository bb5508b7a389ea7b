"""A store opened later: calls fail fast as StoreUnavailable until the store answers, then pass through."""
import pytest

from bridge.store import ACCEPTED, StoreUnavailable
from bridge.store.deferred import DeferredStore, open_store_later
from helpers import Clock, free_port
from store_samples import T0, delivery, event


class FlakyOpener:
    """Opens an in-memory store once `down` is False; counts every attempt."""

    def __init__(self):
        self.down, self.attempts = True, 0

    def __call__(self):
        from bridge.store import open_store
        self.attempts += 1
        if self.down:
            raise StoreUnavailable("cannot reach Redis: refused")
        return open_store("memory://")


def test_calls_fail_until_the_store_answers_and_reopening_is_rate_limited():
    clock, opener = Clock(0.0), FlakyOpener()
    store = DeferredStore(opener, "cannot reach Redis: refused", retry_seconds=1.0, clock=clock)
    with pytest.raises(StoreUnavailable, match="refused"):
        store.ping()
    assert opener.attempts == 0, "within retry_seconds of the failed first open, no new attempt"
    clock.advance(1.0)
    with pytest.raises(StoreUnavailable):
        store.accept(event(), [delivery()], T0)
    assert opener.attempts == 1
    opener.down = False
    with pytest.raises(StoreUnavailable):
        store.ping()
    assert opener.attempts == 1, "the next attempt waits its turn"
    clock.advance(1.0)
    assert store.accept(event(), [delivery()], T0) == ACCEPTED
    store.ping()
    assert opener.attempts == 2, "opened once, then every call passes through"
    store.close()


def test_a_store_that_answers_is_returned_as_it_is_and_an_unreachable_one_deferred(tmp_path):
    opened = open_store_later(f"sqlite:///{tmp_path}/s.db", redis_prefix="bridge:")
    assert not isinstance(opened, DeferredStore)
    opened.close()
    deferred = open_store_later(f"redis://127.0.0.1:{free_port()}/0", redis_prefix="bridge:")
    assert isinstance(deferred, DeferredStore) and "cannot reach Redis" in deferred.error
    with pytest.raises(StoreUnavailable):
        deferred.counts()
    deferred.close()
