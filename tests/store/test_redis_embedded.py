"""The embedded redis-server: unix socket mode 700, AOF persistence, SIGTERM stop, and no orphan after SIGKILL."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ivr.store import connect
from ivr.store.embedded import EmbeddedRedis
from tests.procs import alive

ROOT = Path(__file__).resolve().parents[2]


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_data_dir_and_every_redis_file_are_private(tmp_path):
    """Issue 12 item 8: var/ was 0755 and Redis's AOF and log 0644; an older install is tightened at start."""
    (tmp_path / "redis").mkdir(mode=0o755)
    old_log = tmp_path / "redis" / "redis.log"
    old_log.write_text("left by an older version\n")
    old_log.chmod(0o644)
    tmp_path.chmod(0o755)
    with EmbeddedRedis(tmp_path) as server:
        connect(server.url).set("caller", "+15551234567")
        assert stat.S_IMODE(os.stat(tmp_path).st_mode) == 0o700
        files = [p for p in server.dir.rglob("*") if not p.is_socket()]
        assert any("aof" in p.name for p in files) and old_log in files
        for path in files:
            wanted = 0o700 if path.is_dir() else 0o600
            assert stat.S_IMODE(path.stat().st_mode) == wanted, path


def test_socket_mode_aof_and_restart_keeps_data(tmp_path):
    server = EmbeddedRedis(tmp_path)
    with server:
        mode = stat.S_IMODE(os.stat(server.socket_path).st_mode)
        assert mode == 0o700
        assert stat.S_IMODE(os.stat(server.dir).st_mode) == 0o700
        conn = connect(server.url)
        assert conn.config_get("appendonly")["appendonly"] == "yes"
        assert conn.config_get("port")["port"] == "0"  # no TCP listener at all
        conn.set("kept", "yes")
        pid = server.pid
    assert _wait_gone(pid)
    with EmbeddedRedis(tmp_path) as again:
        assert connect(again.url).get("kept") == b"yes"


def test_refuses_to_start_a_second_server_on_the_same_socket(tmp_path):
    with EmbeddedRedis(tmp_path), pytest.raises(RuntimeError, match="already serves"):
        EmbeddedRedis(tmp_path).start()


def test_stale_socket_file_is_replaced(tmp_path):
    server = EmbeddedRedis(tmp_path)
    server.dir.mkdir(parents=True)
    server.socket_path.write_text("")  # left behind by a crash
    with server:
        assert connect(server.url).ping()


def test_no_orphan_when_the_owner_is_sigkilled(tmp_path):
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys, time
            from ivr.store.embedded import EmbeddedRedis
            server = EmbeddedRedis({str(tmp_path)!r}).start()
            print(server.pid, flush=True)
            time.sleep(120)
        """),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        redis_pid = int(owner.stdout.readline())
        assert alive(redis_pid)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        assert _wait_gone(redis_pid), "redis-server outlived its SIGKILLed owner"
    finally:
        owner.kill()
        owner.wait()
