"""`ivr run` as a user starts it: embedded Redis and every part come up; nothing survives its death."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.procs import alive, children, wait_until

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path, extra_env=None):
    env = dict(os.environ, IVR_DATA_DIR=str(tmp_path / "var"), IVR_WEB_PORT="0", IVR_SIP_PORT="0")
    env.pop("REDIS_URL", None)
    env.update(extra_env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "ivr", "run", "--without", "sip", "--without", "web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _wait_for_socket(path: Path, timeout=20.0) -> redis.Redis:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            conn = redis.Redis(unix_socket_path=str(path))
            try:
                if conn.ping():
                    return conn
            except redis.ConnectionError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"no redis at {path}")


def _wait_until(condition, timeout: float = 20.0) -> bool:
    return wait_until(condition, timeout, interval=0.1)


def _worker_is_up(conn: redis.Redis, run_pid: int) -> bool:
    """The supervised worker, a child of `ivr run`, has registered with RQ (so it runs, not only exists)."""
    from rq import Worker

    return any(w.pid in children(run_pid) for w in Worker.all(connection=conn))


def test_embedded_redis_serves_a_private_socket_and_stops_with_sigterm(tmp_path):
    proc = _start(tmp_path)
    try:
        socket_path = tmp_path / "var" / "redis" / "redis.sock"
        conn = _wait_for_socket(socket_path)
        assert oct(os.stat(socket_path.parent).st_mode & 0o777) == "0o700"
        assert conn.config_get("appendonly")["appendonly"] == "yes"
        parts = children(proc.pid)
        assert parts
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert _wait_until(lambda: not any(alive(c) for c in parts), timeout=10)


def test_no_orphan_when_ivr_run_is_killed(tmp_path):
    proc = _start(tmp_path)
    conn = _wait_for_socket(tmp_path / "var" / "redis" / "redis.sock")
    assert _wait_until(lambda: _worker_is_up(conn, proc.pid)), "the supervised worker never came up"
    parts = children(proc.pid)
    assert len(parts) >= 2  # the embedded redis-server and the worker
    proc.kill()
    proc.wait(10)
    assert _wait_until(lambda: not any(alive(c) for c in parts), timeout=10), "a child of ivr run outlived it"


def test_first_start_creates_the_admin_account_with_a_private_password_file(tmp_path):
    from werkzeug.security import check_password_hash

    (tmp_path / "var" / "recordings").mkdir(parents=True)  # as an older version left them: 0755 and 0644
    (tmp_path / "var").chmod(0o755)
    old_recording = tmp_path / "var" / "recordings" / "call-1.wav"
    old_recording.write_bytes(b"RIFF")
    old_recording.chmod(0o644)
    proc = _start(tmp_path)
    try:
        conn = _wait_for_socket(tmp_path / "var" / "redis" / "redis.sock")
        from ivr.store import keys

        password_file = tmp_path / "var" / "initial-admin-password"
        assert _wait_until(lambda: conn.exists(keys.user("admin")), timeout=10), "no admin account"
        # The file is written whole before the account exists.
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"
        assert oct(password_file.parent.stat().st_mode & 0o777) == "0o700"  # var/ itself (issue 12 item 8)
        password = password_file.read_text().strip()
        assert password
        assert [p.name for p in password_file.parent.iterdir() if "initial-admin-password" in p.name] == [
            "initial-admin-password"
        ]  # no temporary file left behind
        stored = conn.hget(keys.user("admin"), "password_hash")
        assert stored and check_password_hash(stored.decode(), password)
        assert oct(old_recording.stat().st_mode & 0o777) == "0o600"
        assert oct(old_recording.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
