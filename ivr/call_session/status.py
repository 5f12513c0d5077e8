"""The end of a call as the telephony provider reports it (Twilio status callbacks).

Callbacks may repeat and arrive out of order, so each status has a rank and the call record only moves forward:
a repeated status (same CallSid + CallStatus) or an older one changes nothing. A final status writes the call's
telephony status and duration and, if the flow had not finished the call itself, tells the engine once that the
caller hung up (a `HungUp` turn with a fixed turn id), which finishes the record (outcome, path, ended_at).
"""

from __future__ import annotations

import logging

from ivr.engine.events import HungUp
from ivr.store import UNAVAILABLE
from ivr.store.calls import CallStore

log = logging.getLogger(__name__)

RANK = {
    "queued": 1,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "answered": 3,
    "completed": 4,
    "busy": 4,
    "failed": 4,
    "no-answer": 4,
    "canceled": 4,
}
FINAL_RANK = 4
HUNG_UP_TURN = "provider-status-final"

RESULTS = {-1: "no-record", 0: "stale", 1: "applied", 2: "applied"}  # CallStore.advance_status's answers


class CallStatusRecorder:
    def __init__(self, conn, session):
        self.conn = conn
        self.session = session  # CallSession: the HungUp turn goes through it (state, timeline, spool)
        self.calls = CallStore(conn)

    def record(self, call_id: str, status: str, *, at: float, duration: str = "") -> str:
        """Apply one status callback. Returns "applied", "stale", "no-record", "unknown-status" or "unavailable"."""
        status = status.strip().lower()
        rank = RANK.get(status)
        if rank is None:
            return "unknown-status"
        duration = duration.strip() if duration.strip().isdigit() else ""
        try:
            result = self.calls.advance_status(call_id, status, rank, duration=duration, at=at)
            outcome, finished = RESULTS[int(result)], int(result) == 2
        except UNAVAILABLE as exc:
            log.warning("call %s: status %s not recorded, redis unavailable: %s", call_id, status, exc)
            outcome, finished = "unavailable", False
        if rank == FINAL_RANK and outcome not in ("stale", "unavailable") and not finished:
            # Only once the status itself is recorded: an "unavailable" answer is a 503 that Twilio retries, and
            # the retry does the whole job. The fixed turn id makes repeats harmless.
            self.session.turn(call_id, HungUp(at=at), turn_id=HUNG_UP_TURN)
        return outcome
