"""Which flow answers a new call: the routing table, through this process's own copy of it.

The precedence (CallSession.start): a flow the channel forces (`ivr sip --flow`, the SIP public route for
untrusted callers, Twilio's `?flow=`), else the table's row for the called number (`ivr.phone.route_key`: the SIP
Request-URI user or Twilio's `To`), else the table's default, else the process's IVR_DEFAULT_FLOW.
The copy is read again from Redis at most every REFRESH_SECONDS, on the path of the call that finds it old (one
MULTI of HGETALL + GET), through the session's Redis breaker. While Redis is away the last copy keeps routing
(before Redis ever answered: flows/routes.yaml, if any); a copy older than STALE_AFTER is logged as stale.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from ivr.call_session.health import RedisHealth
from ivr.flows.routes_file import read_routes
from ivr.phone import NumberRefused, route_key
from ivr.store.routes import RouteTable

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0  # how old the copy may get before a new call reads the table again
STALE_AFTER = 30.0  # a copy this old (Redis unreachable meanwhile) is logged as stale
STALE_LOG_EVERY = 60.0  # and logged again at most this often, while it stays stale


class FlowRouter:
    """`flow_for(called)`: the routed flow id, or '' (then the process's default flow answers)."""

    def __init__(
        self,
        load: Callable[[], RouteTable] | None,
        health: RedisHealth,
        *,
        region: str = "",
        initial: RouteTable | None = None,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.load, self.health, self.region = load, health, region  # load: RouteStore(conn).table
        self.table = initial or RouteTable()
        self.refresh_seconds = refresh_seconds
        self.fresh_at: float | None = None  # (the health clock's) when Redis last gave us the table
        self.checked_at: float | None = None  # when we last tried
        self.warned_at: float | None = None  # when the copy was last logged as stale
        self._refreshing = threading.Lock()  # one thread refreshes; calls arriving meanwhile use the copy

    def flow_for(self, called: str) -> str:
        table = self.current()
        key = _key(called, self.region)
        return table.flow_for(key) if key else table.default

    def current(self) -> RouteTable:
        """The copy, read again first if it is older than refresh_seconds (and nobody is reading it now)."""
        now = self.health.clock()
        if self.load is None or (self.checked_at is not None and now - self.checked_at < self.refresh_seconds):
            return self.table
        if self._refreshing.acquire(blocking=False):
            try:
                self._refresh(now)
            finally:
                self._refreshing.release()
        return self.table

    def _refresh(self, now: float) -> None:
        self.checked_at = now
        try:
            with self.health.guard():
                table = self.load()  # type: ignore[misc]  # current() checked it is set
        except Exception as exc:  # Redis away (or a broken reply): route with the copy, never fail the call
            self._note_stale(now, exc)
            return
        if self.warned_at is not None:
            log.warning("routing table: read from Redis again, after %.0f s on a stale copy", self._age(now))
        self.table, self.fresh_at, self.warned_at = table, now, None

    def _age(self, now: float) -> float:
        return now - self.fresh_at if self.fresh_at is not None else float("inf")

    def _note_stale(self, now: float, exc: Exception) -> None:
        age = self._age(now)
        if self.fresh_at is not None and age < STALE_AFTER:
            return
        if self.warned_at is not None and now - self.warned_at < STALE_LOG_EVERY:
            return
        self.warned_at = now
        if self.fresh_at is None:
            rows = len(self.table.routes)
            log.warning(
                "routing table: not read from Redis yet (%s); routing with the %d row(s) of routes.yaml", exc, rows
            )
        else:
            log.warning("routing table: stale, Redis last answered %.0f s ago (%s); routing with that copy", age, exc)


@lru_cache(maxsize=4096)
def _key(called: str, region: str) -> str:
    """route_key, remembered: a process sees the same few called numbers again and again (0.1 ms a parse)."""
    try:
        return route_key(called, region)
    except NumberRefused:
        return ""


def file_copy(path: Path, region: str = "") -> RouteTable | None:
    """flows/routes.yaml as a first copy of the table, for a process that starts while Redis is away."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None  # no file: no rows until Redis answers
    found = read_routes(text, str(path), None, region)
    for problem in found.problems:
        log.warning("routing table file: %s", problem)
    return RouteTable(found.routes, found.default)
