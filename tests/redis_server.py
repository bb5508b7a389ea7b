"""A private redis-server for the tests: a free port, a temporary folder, stopped at the end.

Never the system Redis on 6379. `make test` installs redis-server when it is missing
(scripts/ensure-packages); without it these tests fail and say how to get it.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import redis

from helpers import free_port, wait_for


def redis_server_binary() -> str:
    """The redis-server executable, or a test failure saying how to install it."""
    packaged = Path("/usr/bin/redis-server")
    found = shutil.which("redis-server") or (str(packaged) if packaged.exists() else None)
    if not found:
        pytest.fail("redis-server is not installed: run `make test` (it installs it) "
                    "or scripts/ensure-packages redis-server=redis-server")
    return found


class RedisServer:
    """One redis-server process with AOF on (unless told otherwise) in its own folder."""

    def __init__(self, folder: Path, *options: str, port: int | None = None, password: str | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.port = port or free_port()
        self.password = password
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=2)

    def start(self) -> RedisServer:
        command = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "yes", "--dir", str(self.folder), "--logfile", "redis.log", *self.options]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=20, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            log = (self.folder / "redis.log").read_text() if (self.folder / "redis.log").exists() else ""
            raise AssertionError(f"redis-server exited with {self.process.returncode}: {log[-2000:]}")
        try:
            with self.client() as client:
                return client.ping()
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        """SIGKILL: what a crash looks like to the clients."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
