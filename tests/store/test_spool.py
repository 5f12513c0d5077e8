"""The SQLite spool: durable entries replayed in order, one replayer at a time, bad entries set aside."""
import sqlite3

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


def test_only_one_holder_replays_and_an_expired_lock_is_taken_over(tmp_path):
    a = Spool(tmp_path / "s.db", lock_ttl=30)
    b = Spool(tmp_path / "s.db", lock_ttl=30)
    a.append("e1", "turn", {})
    assert a.acquire()
    assert b.replay(lambda *args: None) == 0  # a holds the lock
    assert b.pending() == 1
    a.release()
    assert b.replay(lambda *args: None) == 1
    dead_holder = Spool(tmp_path / "s.db", lock_ttl=-1)  # its lock is already expired, as if it had crashed
    assert dead_holder.acquire()
    b.append("e2", "turn", {})
    assert b.replay(lambda *args: None) == 1


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
