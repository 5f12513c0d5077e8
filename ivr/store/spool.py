"""The local durable spool: what a call wrote while Redis was down, kept in SQLite until it can be replayed.

One file in the data directory (`spool.sqlite3`), WAL journal with `synchronous=FULL`, so every append is on disk
(fsync'd) before the call goes on. Three tables:
- `entries`: writes waiting for Redis, replayed in insertion order (`seq`);
- `states`: the newest engine state of calls that ran while Redis was down (versioned, see store.sessions);
- `locks`: one row per lock name; a replayer holds it (holder + expiry) so two processes never replay at once.
Entries that fail for a reason other than Redis being down move to `dead` with the error, so one bad entry
never blocks the rest. `is_empty()` is cheap enough for every call turn: it reads no table unless some connection
changed the file since it last found the spool empty (SQLite's `data_version`).
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

from ivr.store import UNAVAILABLE

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, kind TEXT NOT NULL,
                                    data TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS states (call_id TEXT PRIMARY KEY, version INTEGER NOT NULL, blob TEXT NOT NULL,
                                   updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY, id TEXT, kind TEXT, data TEXT, error TEXT, at REAL);
"""


class Spool:
    def __init__(self, path: Path | str, lock_ttl: float = 30.0, holder: str | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_ttl = lock_ttl
        self.holder = holder or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._mutex = threading.Lock()  # one sqlite connection shared by this process's threads
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync on every commit: a spooled write survives a crash
        self._db.executescript(SCHEMA)
        self._empty_at: int | None = None  # data_version at which the spool was last seen empty

    def close(self) -> None:
        with self._mutex:
            self._db.close()

    def is_empty(self) -> bool:
        """Nothing spooled: no entries and no states (by any process using this file)."""
        with self._mutex:
            # data_version changes when another connection commits; this connection's own writes reset _empty_at
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if self._empty_at == version:
                return True
            empty = not self._db.execute("SELECT EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM states)"
                                         ).fetchone()[0]
            self._empty_at = version if empty else None
            return empty

    # entries
    def append(self, entry_id: str, kind: str, data: dict) -> None:
        with self._mutex:
            self._empty_at = None
            self._db.execute("INSERT INTO entries (id, kind, data, created_at) VALUES (?, ?, ?, ?)",
                             (entry_id, kind, json.dumps(data), time.time()))

    def pending(self) -> int:
        with self._mutex:
            return self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]

    def dead(self) -> list[dict]:
        with self._mutex:
            rows = self._db.execute("SELECT seq, id, kind, error FROM dead ORDER BY seq").fetchall()
        return [{"seq": s, "id": i, "kind": k, "error": e} for s, i, k, e in rows]

    # states
    def save_state(self, blob: dict) -> None:
        """Keep a call's state blob (`call_id`, int `version`); an older version never replaces a newer one."""
        call_id = blob["call_id"]
        with self._mutex:
            self._empty_at = None
            self._db.execute(
                "INSERT INTO states (call_id, version, blob, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(call_id) DO UPDATE SET version=excluded.version, blob=excluded.blob, "
                "updated_at=excluded.updated_at WHERE excluded.version > states.version",
                (call_id, int(blob["version"]), json.dumps(blob), time.time()))

    def load_state(self, call_id: str) -> dict | None:
        with self._mutex:
            row = self._db.execute("SELECT blob FROM states WHERE call_id = ?", (call_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def states(self) -> list[dict]:
        with self._mutex:
            rows = self._db.execute("SELECT blob FROM states ORDER BY updated_at").fetchall()
        return [json.loads(r[0]) for r in rows]

    def drop_state(self, call_id: str, version: int) -> None:
        """Forget a spooled state once Redis holds this version (or a newer one)."""
        with self._mutex:
            self._db.execute("DELETE FROM states WHERE call_id = ? AND version <= ?", (call_id, int(version)))

    # replay
    def acquire(self, name: str = "replay") -> bool:
        now = time.time()
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")  # takes SQLite's write lock: no other process between read+write
            try:
                row = self._db.execute("SELECT holder, expires_at FROM locks WHERE name = ?", (name,)).fetchone()
                if row is not None and row[0] != self.holder and row[1] > now:
                    self._db.execute("COMMIT")
                    return False
                self._db.execute("INSERT OR REPLACE INTO locks (name, holder, expires_at) VALUES (?, ?, ?)",
                                 (name, self.holder, now + self.lock_ttl))
                self._db.execute("COMMIT")
                return True
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def release(self, name: str = "replay") -> None:
        with self._mutex:
            self._db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, self.holder))

    def replay(self, apply_entry: Callable[[str, str, dict], None],
               apply_state: Callable[[dict], bool] | None = None, batch: int = 200,
               budget: float | None = None) -> int:
        """Apply spooled entries in order (then spooled states), deleting each once applied.

        Returns how many entries were applied; stops quietly if Redis goes away again, another process holds
        the replay lock, or `budget` seconds have passed. `apply_entry(entry_id, kind, data)` must be idempotent
        per entry id.
        """
        deadline = None if budget is None else time.monotonic() + budget
        if not self.acquire():
            return 0
        applied = 0
        try:
            while True:
                with self._mutex:
                    rows = self._db.execute("SELECT seq, id, kind, data FROM entries ORDER BY seq LIMIT ?",
                                            (batch,)).fetchall()
                if not rows:
                    break
                for seq, entry_id, kind, data in rows:
                    try:
                        apply_entry(entry_id, kind, json.loads(data))
                    except UNAVAILABLE:
                        return applied
                    except Exception as exc:  # a broken entry must not block the ones behind it
                        with self._mutex:
                            self._db.execute("INSERT OR REPLACE INTO dead VALUES (?, ?, ?, ?, ?, ?)",
                                             (seq, entry_id, kind, data, f"{type(exc).__name__}: {exc}",
                                              time.time()))
                    with self._mutex:
                        self._db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
                    applied += 1
                    if deadline is not None and time.monotonic() > deadline:
                        return applied
                self.acquire()  # extend our hold while there is more to do
            if apply_state is not None:
                for blob in self.states():
                    try:
                        apply_state(blob)
                    except UNAVAILABLE:
                        return applied
                    self.drop_state(blob["call_id"], blob["version"])
            return applied
        finally:
            self.release()
