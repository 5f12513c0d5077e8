"""A lock between processes that dies with its holder: `flock` on a file, which the kernel drops on exit.

A lock recorded in a table outlives a holder that exits without releasing it (a daemon thread cut off at
exit, a SIGKILL), and everyone else waits for it to expire. An OS file lock cannot outlive its process. The lock
is held by an open file description, so a forked child closes its copy: it must not keep its parent's lock alive.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from pathlib import Path

_HELD: weakref.WeakSet[FileLock] = weakref.WeakSet()


class FileLock:
    """Non-blocking and not re-entrant: `acquire()` is False while anyone, this object included, holds it."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def acquire(self) -> bool:
        with self._mutex:
            if self._fd is not None:
                return False
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            _HELD.add(self)
            return True

    def release(self) -> None:
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)  # the last descriptor of the lock's open file: the kernel drops the lock
                self._fd = None
                _HELD.discard(self)

    def _forget_in_child(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing (not LOCK_UN) leaves the parent's hold untouched
            self._fd = None
        self._mutex = threading.Lock()


def _after_fork_in_child() -> None:
    for lock in list(_HELD):
        lock._forget_in_child()
    _HELD.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
