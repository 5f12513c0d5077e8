"""Process helpers for tests that start real processes: who a process's children are, whether one still runs,
stopping one (politely first), and waiting on a condition (never on a fixed sleep)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def children(pid: int) -> set[int]:
    """Direct children of `pid`, from /proc (works for any parent, not only this test's own processes)."""
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


def alive(pid: int) -> bool:
    """Running (a zombie has exited already)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def reap(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Wait up to `timeout` seconds for `proc` (already asked to stop) to exit; then SIGKILL it and wait."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after `timeout` seconds."""
    proc.terminate()
    reap(proc, timeout)


def wait_until(condition, timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Poll `condition()` every `interval` seconds until it holds (True) or `timeout` passed (its last answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())
