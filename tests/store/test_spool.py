"""The SQLite spool: durable entries replayed in order, one replayer at a time, bad entries set aside."""

import signal
import sqlite3
import subprocess
import sys

import pytest
import redis

from ivr.store.spool import Spool


def test_entries_replay_in_order_and_are_removed(tmp_path):
    spool = Spool(tmp_path / "s.db")
    for n in range(5):
        spool.append(f"e{n}", "turn", {"n": n})
    seen = []
    assert spool.replay(lambda i, k, d: seen.append((i, d["n"]))) == 5
    assert seen == [(f"e{n}", n) for n in range(5)]
    assert spool.pending() == 0
    assert sqlite3.connect(tmp_path / "s.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_only_one_holder_replays_and_a_released_lock_is_taken_over(tmp_path):
    a = Spool(tmp_path / "s.db")
    b = Spool(tmp_path / "s.db")
    a.append("e1", "turn", {})
    assert a.acquire()
    assert not a.acquire()  # not re-entrant: a second replay in the same process waits its turn too
    assert b.replay(lambda *args: None) == 0  # a holds the lock
    assert b.pending() == 1
    a.release()
    assert b.replay(lambda *args: None) == 1
    a.close()
    assert b.acquire()  # closing a spool drops its lock, as exiting does
    b.release()


HOLD_THE_LOCK = """
import sys
from ivr.store.spool import Spool
spool = Spool(sys.argv[1])
assert spool.acquire()
print("holding", flush=True)
sys.stdin.read()  # until killed
"""


HOLD_THEN_FORK = """
import os, sys, time
from ivr.store.spool import Spool
spool = Spool(sys.argv[1])
assert spool.acquire()
if os.fork() == 0:  # a child that lives on, as RQ's forked scheduler does
    sys.stdin.read()
    os._exit(0)
print("holding", flush=True)
sys.stdin.read()
"""


def spool_and_holder(tmp_path, holder_script: str) -> tuple[Spool, subprocess.Popen]:
    """A spool with one entry, and a process running `holder_script` on its file (it prints "holding" once it
    holds the replay lock, then waits on its stdin)."""
    path = tmp_path / "s.db"
    spool = Spool(path)
    spool.append("e1", "turn", {})
    holder = subprocess.Popen(
        [sys.executable, "-c", holder_script, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return spool, holder


def test_a_forked_child_does_not_keep_its_dead_parents_lock(tmp_path):
    spool, holder = spool_and_holder(tmp_path, HOLD_THEN_FORK)
    try:
        assert holder.stdout.readline() == "holding\n"
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
        assert spool.replay(lambda *args: None) == 1  # the child is still alive, holding stdin open
    finally:
        holder.stdin.close()  # the child exits too
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)


@pytest.mark.parametrize("how", ["SIGKILL", "exit"])
def test_a_lock_holder_that_dies_does_not_block_the_replay(tmp_path, how):
    """The lock is the kernel's (flock): it goes with its holder, even one killed with SIGKILL mid-replay."""
    spool, holder = spool_and_holder(tmp_path, HOLD_THE_LOCK)
    try:
        assert holder.stdout.readline() == "holding\n"
        assert spool.replay(lambda *args: None) == 0  # a live holder is respected
        if how == "SIGKILL":
            holder.send_signal(signal.SIGKILL)
        else:
            holder.stdin.close()  # it exits without releasing anything
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
    assert spool.replay(lambda *args: None) == 1
    assert spool.pending() == 0


def test_redis_down_stops_the_replay_and_keeps_the_rest(tmp_path):
    spool = Spool(tmp_path / "s.db")
    for n in range(3):
        spool.append(f"e{n}", "turn", {"n": n})

    def apply(entry_id, kind, data):
        if data["n"] == 1:
            raise redis.ConnectionError("down")

    assert spool.replay(apply) == 1
    assert spool.pending() == 2


def test_a_broken_entry_is_set_aside_and_does_not_block_the_others(tmp_path):
    spool = Spool(tmp_path / "s.db")
    spool.append("bad", "turn", {})
    spool.append("good", "turn", {})
    applied = []

    def apply(entry_id, kind, data):
        if entry_id == "bad":
            raise KeyError("call_id")
        applied.append(entry_id)

    assert spool.replay(apply) == 2
    assert applied == ["good"]
    assert [d["id"] for d in spool.dead()] == ["bad"]


def test_states_keep_the_newest_version(tmp_path):
    spool = Spool(tmp_path / "s.db")
    spool.save_state({"call_id": "c", "version": 3, "x": 3})
    spool.save_state({"call_id": "c", "version": 2, "x": 2})
    assert spool.load_state("c")["x"] == 3
    spool.drop_state("c", 2)
    assert spool.load_state("c")["x"] == 3
    spool.drop_state("c", 3)
    assert spool.load_state("c") is None


def test_emptiness_is_seen_across_processes_sharing_the_file(tmp_path):
    mine, other = Spool(tmp_path / "s.db"), Spool(tmp_path / "s.db")  # two connections, as two processes
    assert mine.is_empty() and mine.is_empty()
    other.append("e1", "turn", {"n": 1})
    assert not mine.is_empty()
    other.replay(lambda i, k, d: None)
    assert mine.is_empty()
    other.save_state({"call_id": "c", "version": 1})
    assert not mine.is_empty()
    mine.drop_state("c", 1)
    assert mine.is_empty() and other.is_empty()
    mine.append("e2", "turn", {"n": 2})  # its own writes count too
    assert not mine.is_empty() and not other.is_empty()


def test_the_spool_files_are_private(tmp_path):
    path = tmp_path / "s.db"
    spool = Spool(path)
    spool.append("e1", "turn", {"caller": "+15557770001"})
    assert spool.acquire()
    files = [path, tmp_path / "s.db-wal", tmp_path / "s.db-shm", tmp_path / "s.db.replay-lock"]
    assert {f.name: f.stat().st_mode & 0o777 for f in files} == {f.name: 0o600 for f in files}


def test_a_spool_left_readable_by_an_older_version_is_made_private(tmp_path):
    path = tmp_path / "s.db"
    sqlite3.connect(path).execute("PRAGMA journal_mode=WAL").fetchall()
    path.chmod(0o644)
    Spool(path).append("e1", "turn", {})
    assert {f.name: f.stat().st_mode & 0o777 for f in tmp_path.iterdir()} == {
        "s.db": 0o600,
        "s.db-wal": 0o600,
        "s.db-shm": 0o600,
    }


def test_a_replay_leaves_no_caller_number_in_the_files(tmp_path):
    """The WAL is truncated once the spool is replayed, and deleted rows are zeroed (secure_delete)."""
    path = tmp_path / "s.db"
    spool = Spool(path)
    for n in range(20):
        spool.append(f"e{n}", "turn", {"caller": "+15557770123", "n": n})
    spool.save_state({"call_id": "c", "version": 1, "caller": "+15557770123"})
    wal = tmp_path / "s.db-wal"
    assert b"+15557770123" in wal.read_bytes()
    assert spool.replay(lambda *args: None, apply_state=lambda blob: True) == 20
    assert b"+15557770123" not in wal.read_bytes()
    assert b"+15557770123" not in path.read_bytes()


def test_replaying_states_alone_also_truncates_the_wal(tmp_path):
    spool = Spool(tmp_path / "s.db")
    spool.save_state({"call_id": "c", "version": 1, "caller": "+15557770123"})
    assert spool.replay(lambda *args: None, apply_state=lambda blob: True) == 0
    assert spool.states() == []
    assert b"+15557770123" not in (tmp_path / "s.db-wal").read_bytes()
