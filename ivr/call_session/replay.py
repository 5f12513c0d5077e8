"""Replaying the spool into Redis once it answers again: now, briefly within a turn, or in a background thread.

One replay at a time per process (a lock); the spool's own lock keeps processes from replaying at once. A replay
failure never disturbs a call: the next turn, or the worker's maintenance, tries again.
"""

from __future__ import annotations

import logging
import threading

import redis
from rq import Queue

from ivr.call_session.local_spool import LocalSpool
from ivr.call_session.writes import replay_spool
from ivr.store.spool import Spool

log = logging.getLogger(__name__)

REPLAY_BUDGET = 0.5  # seconds a turn may spend replaying the spool once Redis is back


class SpoolReplayer:
    def __init__(self, spool: Spool, conn: redis.Redis, queue: Queue, confirm_ms: int = 0):
        self.spool, self.conn, self.queue = spool, conn, queue
        self.confirm_ms = confirm_ms  # IVR_REDIS_WAIT_MS: an entry leaves the spool once a replica has it
        self._replaying = threading.Lock()

    def replay(self) -> int:
        """Replay the spool now (in this thread). Returns the number of entries applied."""
        with self._replaying:
            return replay_spool(self.spool, self.conn, self.queue, confirm_ms=self.confirm_ms)

    def catch_up(self) -> None:
        """Replay for up to REPLAY_BUDGET seconds in this turn, then go on in the background."""
        if self._replaying.acquire(blocking=False):
            try:
                replay_spool(self.spool, self.conn, self.queue, budget=REPLAY_BUDGET, confirm_ms=self.confirm_ms)
            except Exception:  # never let the catch-up fail the turn
                log.exception("spool replay failed")
            finally:
                self._replaying.release()
        if LocalSpool(self.spool).pending():
            self.in_background()

    def in_background(self) -> None:
        if self._replaying.locked():
            return
        threading.Thread(target=self._replay_quietly, name="spool-replay", daemon=True).start()

    def _replay_quietly(self) -> None:
        try:
            if self._replaying.acquire(blocking=False):
                try:
                    replay_spool(self.spool, self.conn, self.queue, confirm_ms=self.confirm_ms)
                finally:
                    self._replaying.release()
        except Exception:  # a replay failure must never disturb calls; the next turn tries again
            log.exception("spool replay failed")
