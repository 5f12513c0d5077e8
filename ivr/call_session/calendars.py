"""The CalendarSource that flows load with: the last good copies of holiday calendar feeds, never a fetch.

The worker fetches feeds (ivr/jobs/calendars.py); a process running calls only reads the copies, from Redis or,
while Redis is down, from the file copy in `<data_dir>/calendars/`, and keeps each in memory for
`refresh_seconds`, so a turn costs no read. FlowRepository rebuilds a flow whose feed copy changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis

from ivr.store.calendars import CalendarCopies


class StoredCalendars:
    def __init__(
        self,
        conn: redis.Redis | None,
        data_dir: Path | str,
        refresh_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.copies = CalendarCopies(conn, data_dir)
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._memory: dict[str, tuple[float, str | None]] = {}

    def text(self, url: str) -> str | None:
        """The feed's last good copy (the one in memory when neither Redis nor the file has one)."""
        cached = self._memory.get(url)
        if cached is not None and self.clock() - cached[0] < self.refresh_seconds:
            return cached[1]
        copy = self.copies.get(url)
        text = copy.text if copy is not None and copy.text else (cached[1] if cached else None)
        self._memory[url] = (self.clock(), text)
        return text
