"""`ivr run` as a user starts it: embedded Redis and every part come up; nothing survives its death."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]


def _children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


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
        children = _children_of(proc.pid)
        assert children
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in children)


def test_no_orphan_when_ivr_run_is_killed(tmp_path):
    proc = _start(tmp_path)
    _wait_for_socket(tmp_path / "var" / "redis" / "redis.sock")
    time.sleep(0.5)  # let the supervised parts start too
    children = _children_of(proc.pid)
    assert children
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 10
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(c) for c in children), "a child of ivr run outlived it"


def test_first_start_creates_the_admin_account_with_a_private_password_file(tmp_path):
    from werkzeug.security import check_password_hash
    proc = _start(tmp_path)
    try:
        conn = _wait_for_socket(tmp_path / "var" / "redis" / "redis.sock")
        password_file = tmp_path / "var" / "initial-admin-password"
        deadline = time.monotonic() + 10
        while not password_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"
        password = password_file.read_text().strip()
        from ivr.store import keys
        stored = conn.hget(keys.user("admin"), "password_hash")
        assert stored and check_password_hash(stored.decode(), password)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
