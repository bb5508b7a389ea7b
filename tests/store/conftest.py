"""The store contract runs against every backend; the Redis one is a private redis-server."""
import uuid

import pytest

from bridge.store import open_store
from redis_server import RedisServer
from store_samples import store_for_a_process

BACKENDS = ["memory", "sqlite", "redis"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server for the whole session (each test uses its own key prefix)."""
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own, which the test may kill and restart."""
    servers = []

    def start(*options, **kwargs) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", *options, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class Backend:
    """How a test reaches one backend: its URL and prefix, and fresh stores on it."""

    def __init__(self, name: str, url: str, prefix: str = "bridge:"):
        self.name, self.url, self.prefix = name, url, prefix
        self.opened = []

    def open(self):
        store = open_store(self.url, redis_prefix=self.prefix)
        self.opened.append(store)
        return store

    def close_all(self):
        for store in self.opened:
            store.close()


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param == "memory":
        backend = Backend("memory", "memory://")
    elif request.param == "sqlite":
        backend = Backend("sqlite", f"sqlite:///{tmp_path}/store.db")
    else:
        server = request.getfixturevalue("redis_server")
        backend = Backend("redis", server.url, prefix=f"test-{uuid.uuid4().hex[:8]}:")
    yield backend
    backend.close_all()


@pytest.fixture
def store(backend):
    return backend.open()


@pytest.fixture(params=["sqlite", "redis"])
def shared(request, tmp_path):
    """A store this test fills and the CLI process opens through BRIDGE_STORE_URL (no Reevo key set)."""
    store, env = store_for_a_process(request.param, request, tmp_path)
    yield store, env
    store.close()
