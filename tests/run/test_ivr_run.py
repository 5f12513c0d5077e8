"""`ivr run` as a user starts it: embedded Redis and every part come up; nothing survives its death."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from tests.procs import alive, children

ROOT = Path(__file__).resolve().parents[2]


def _start(tmp_path, extra_env=None):
    env = dict(os.environ, IVR_DATA_DIR=str(tmp_path / "var"), IVR_WEB_PORT="0", IVR_SIP_PORT="0")
    env.pop("REDIS_URL", None)
    env.update(extra_env or {})
    return subprocess.Popen([sys.executable, "-m", "ivr", "run", "--without", "sip", "--without", "web"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


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
    deadline = time.monotonic() + 10
    while any(alive(c) for c in parts) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(c) for c in parts)


def test_no_orphan_when_ivr_run_is_killed(tmp_path):
    proc = _start(tmp_path)
    _wait_for_socket(tmp_path / "var" / "redis" / "redis.sock")
    time.sleep(0.5)  # let the supervised parts start too
    parts = children(proc.pid)
    assert parts
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(alive(c) for c in parts) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(c) for c in parts), "a child of ivr run outlived it"


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
        deadline = time.monotonic() + 10
        while not conn.exists(keys.user("admin")) and time.monotonic() < deadline:
            time.sleep(0.1)
        # The file is written whole before the account exists.
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"
        assert oct(password_file.parent.stat().st_mode & 0o777) == "0o700"  # var/ itself (issue 12 item 8)
        password = password_file.read_text().strip()
        assert password
        assert [p.name for p in password_file.parent.iterdir() if "initial-admin-password" in p.name] == [
            "initial-admin-password"]  # no temporary file left behind
        stored = conn.hget(keys.user("admin"), "password_hash")
        assert stored and check_password_hash(stored.decode(), password)
        assert oct(old_recording.stat().st_mode & 0o777) == "0o600"
        assert oct(old_recording.parent.stat().st_mode & 0o777) == "0o700"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
