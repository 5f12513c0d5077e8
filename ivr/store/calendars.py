"""Holiday calendar feeds: the last good copy of each `{ical: URL}` (Redis, and a file copy for Redis-down).

The worker (ivr/jobs/calendars.py) saves a copy only after it parsed as iCalendar, and records every failed try
beside it without touching the copy. Readers (the call session's CalendarSource, the admin) take Redis first,
then the file in `<data_dir>/calendars/`, which the worker writes on the same node.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import redis

from ivr.system.private_files import private_dir, write_private_file

from . import UNAVAILABLE, keys

FOLDER = "calendars"


def digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CalendarCopy:
    url: str
    text: str  # "" when never fetched
    fetched_at: float = 0.0  # the good copy's time
    checked_at: float = 0.0  # the last try's time, good or not
    error: str = ""  # why the last try failed ("" if it did not)

    @property
    def version(self) -> str:
        return digest(self.text) if self.text else ""


class CalendarCopies:
    def __init__(self, conn: redis.Redis | None, data_dir: Path | str):
        self.conn = conn
        self.folder = Path(data_dir) / FOLDER

    def _file(self, url: str) -> Path:
        return self.folder / f"{digest(url)}.json"

    def save(self, url: str, text: str, at: float) -> None:
        """A good copy: the file first (it must survive Redis being down), then Redis."""
        private_dir(self.folder)
        write_private_file(self._file(url), json.dumps({"url": url, "text": text, "fetched_at": at}))
        if self.conn is not None:
            self.conn.hset(
                keys.calendar_copy(digest(url)),
                mapping={"url": url, "text": text, "fetched_at": at, "checked_at": at, "error": ""},
            )

    def failed(self, url: str, error: str, at: float) -> None:
        """A try that failed: noted, the good copy kept."""
        if self.conn is not None:
            self.conn.hset(keys.calendar_copy(digest(url)), mapping={"url": url, "checked_at": at, "error": error})

    def get(self, url: str) -> CalendarCopy | None:
        """The last good copy (and last try) from Redis; the file copy when Redis is down or has none."""
        found: dict[str, str] = {}
        if self.conn is not None:
            try:
                raw = self.conn.hgetall(keys.calendar_copy(digest(url)))
                found = {
                    k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                    for k, v in raw.items()
                }
            except UNAVAILABLE:
                found = {}
        if not found.get("text"):
            found = {**self._read_file(url), **{k: v for k, v in found.items() if k in ("checked_at", "error")}}
        if not found:
            return None
        return CalendarCopy(
            url,
            found.get("text", ""),
            float(found.get("fetched_at") or 0),
            float(found.get("checked_at") or found.get("fetched_at") or 0),
            found.get("error", ""),
        )

    def _read_file(self, url: str) -> dict[str, str]:
        try:
            data = json.loads(self._file(url).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) and data.get("url") == url else {}
