"""Shared test fixtures: a real redis-server started by the tests themselves.

Tests never touch the machine's own Redis on 6379. One `redis-server` runs per test session on a unix socket in
a temporary directory; `redis_conn` is flushed before each test. `redis_server.stop()` / `.start()` simulate
Redis going down and coming back (the data survives, as with a real restart: `SHUTDOWN SAVE` then reload).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from tests.procs import reap, stop_process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real redis-server child on a unix socket (and a loopback TCP port, for tools that need one)."""

    def __init__(self, directory: Path, executable: str = "redis-server"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.executable = shutil.which(executable) or executable
        self.socket_path = self.dir / "redis.sock"
        self.port = _free_port()
        self.url = f"unix://{self.socket_path}?db=0"
        self.tcp_url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        if self.running:
            return
        listen = ["--port", str(self.port), "--bind", "127.0.0.1", "--unixsocket", str(self.socket_path)]
        files = ["--unixsocketperm", "700", "--dir", str(self.dir), "--dbfilename", "dump.rdb"]
        no_persistence = ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        logs = ["--loglevel", "warning", "--logfile", str(self.dir / "redis.log")]
        args = [self.executable, *listen, *files, *no_persistence, *logs]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1, retry=None).ping()
                return
            except (redis.ConnectionError, FileNotFoundError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {self.dir}/redis.log")
                time.sleep(0.02)
        raise RuntimeError("redis-server did not answer within 10 s")

    def stop(self) -> None:
        """Shut Redis down (saving its data to dump.rdb so `start()` brings it back, like a real restart)."""
        if not self.running:
            return
        try:
            redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5, retry=None).shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        reap(self.proc)
        self.proc = None

    def kill(self) -> None:
        """Stop without saving (tear-down)."""
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)
        self.proc = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis.from_url(self.url, **kwargs)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    # Unix socket paths are limited to ~107 bytes; pytest's tmp dirs stay well below that.
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_conn(redis_server):
    """A client of the session's redis-server, flushed before each test (restarted first if a test stopped it)."""
    redis_server.start()
    conn = redis_server.client()
    conn.flushall()
    yield conn
    conn.close()


@pytest.fixture
def redis_url(redis_server) -> str:
    return redis_server.url


def pytest_configure(config):
    # Subprocesses started by tests must not inherit a REDIS_URL pointing at the machine's shared Redis.
    os.environ.pop("REDIS_URL", None)


# Local stand-ins for outside services (real servers on loopback); see tests/fakes/.
@pytest.fixture
def twilio_api():
    from tests.fakes.twilio_api import FakeTwilioAPI

    with FakeTwilioAPI() as server:
        yield server


@pytest.fixture
def smtp_sink():
    from tests.fakes.smtp_sink import SmtpSink

    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def webhook_receiver():
    from tests.fakes.webhook_receiver import WebhookReceiver

    with WebhookReceiver(secret="test-webhook-secret") as receiver:
        yield receiver
