"""The local durable spool: what a call wrote while Redis was down, kept in SQLite until it can be replayed.

One file in the data directory (`spool.sqlite3`), WAL journal with `synchronous=FULL`, so every append is on disk
(fsync'd) before the call goes on. It holds caller numbers, so the database and its WAL are 0600, deleted rows are
zeroed (`secure_delete`) and a replay ends with a checkpoint that truncates the WAL. Two tables hold the work:
- `entries`: writes waiting for Redis, replayed in insertion order (`seq`);
- `states`: the newest engine state of calls that ran while Redis was down (versioned, see store.sessions).
One process replays at a time: it holds an OS file lock beside the database (store.file_lock), which the kernel
drops when the holder exits, however it exits, so a dead replayer never delays the next one.
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
from pathlib import Path
from typing import Callable

from ivr.store import UNAVAILABLE
from ivr.store.file_lock import FileLock

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, kind TEXT NOT NULL,
                                    data TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS states (call_id TEXT PRIMARY KEY, version INTEGER NOT NULL, blob TEXT NOT NULL,
                                   updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY, id TEXT, kind TEXT, data TEXT, error TEXT, at REAL);
DROP TABLE IF EXISTS locks;  -- an older version's lock rows: the replay lock is a file lock now
"""


class Spool:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _make_private(self.path)
        self._replay_lock = FileLock(self.path.with_name(self.path.name + ".replay-lock"))
        self._mutex = threading.Lock()  # one sqlite connection shared by this process's threads
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync on every commit: a spooled write survives a crash
        self._db.execute("PRAGMA secure_delete=ON")  # a replayed entry's caller number does not linger on disk
        self._db.executescript(SCHEMA)
        self._empty_at: int | None = None  # data_version at which the spool was last seen empty

    def close(self) -> None:
        self._replay_lock.release()
        with self._mutex:
            self._db.close()

    def is_empty(self) -> bool:
        """Nothing spooled: no entries and no states (by any process using this file)."""
        with self._mutex:
            # data_version changes when another connection commits; this connection's own writes reset _empty_at
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if self._empty_at == version:
                return True
            empty = not self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM entries) OR EXISTS (SELECT 1 FROM states)"
            ).fetchone()[0]
            self._empty_at = version if empty else None
            return empty

    # entries
    def append(self, entry_id: str, kind: str, data: dict) -> None:
        with self._mutex:
            self._empty_at = None
            self._db.execute(
                "INSERT INTO entries (id, kind, data, created_at) VALUES (?, ?, ?, ?)",
                (entry_id, kind, json.dumps(data), time.time()),
            )

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
                (call_id, int(blob["version"]), json.dumps(blob), time.time()),
            )

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
    def acquire(self) -> bool:
        """Take the replay lock (False if any holder has it, this spool included)."""
        return self._replay_lock.acquire()

    def release(self) -> None:
        self._replay_lock.release()

    def replay(
        self,
        apply_entry: Callable[[str, str, dict], None],
        apply_state: Callable[[dict], bool] | None = None,
        batch: int = 200,
        budget: float | None = None,
    ) -> int:
        """Apply spooled entries in order (then spooled states), deleting each once applied.

        Returns how many entries were applied; stops quietly if Redis goes away again, another process holds
        the replay lock, or `budget` seconds have passed. `apply_entry(entry_id, kind, data)` must be idempotent
        per entry id.
        """
        deadline = None if budget is None else time.monotonic() + budget
        if not self.acquire():
            return 0
        applied = states_saved = 0
        try:
            applied, all_done = self._replay_entries(apply_entry, batch, deadline)
            if all_done and apply_state is not None:
                states_saved = self._replay_states(apply_state)
            return applied
        finally:
            try:
                if applied or states_saved:
                    self._truncate_wal()
            finally:
                self.release()

    def _replay_entries(self, apply_entry, batch: int, deadline: float | None) -> tuple[int, bool]:
        """(entries applied, whether none is left)."""
        applied = 0
        while True:
            with self._mutex:
                rows = self._db.execute(
                    "SELECT seq, id, kind, data FROM entries ORDER BY seq LIMIT ?", (batch,)
                ).fetchall()
            if not rows:
                return applied, True
            for seq, entry_id, kind, data in rows:
                try:
                    apply_entry(entry_id, kind, json.loads(data))
                except UNAVAILABLE:
                    return applied, False
                except Exception as exc:  # a broken entry must not block the ones behind it
                    with self._mutex:
                        self._db.execute(
                            "INSERT OR REPLACE INTO dead VALUES (?, ?, ?, ?, ?, ?)",
                            (seq, entry_id, kind, data, f"{type(exc).__name__}: {exc}", time.time()),
                        )
                with self._mutex:
                    self._db.execute("DELETE FROM entries WHERE seq = ?", (seq,))
                applied += 1
                if deadline is not None and time.monotonic() > deadline:
                    return applied, False

    def _replay_states(self, apply_state) -> int:
        saved = 0
        for blob in self.states():
            try:
                apply_state(blob)
            except UNAVAILABLE:
                break
            self.drop_state(blob["call_id"], blob["version"])
            saved += 1
        return saved

    def _truncate_wal(self) -> None:
        """Copy the WAL into the database and empty it: replayed caller numbers do not stay in the WAL."""
        with self._mutex:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _make_private(path: Path) -> None:
    """Create the database 0600 (SQLite gives its -wal and -shm files the database's mode); an older, readable
    spool and its side files are made private too."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        try:
            os.chmod(path.with_name(name), 0o600)
        except FileNotFoundError:
            pass
