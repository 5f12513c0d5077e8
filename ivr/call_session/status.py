"""The end of a call as the telephony provider reports it (Twilio status callbacks).

Callbacks may repeat and arrive out of order, so each status has a rank and the call record only moves forward:
a repeated status (same CallSid + CallStatus) or an older one changes nothing. A final status writes the call's
telephony status and duration and, if the flow had not finished the call itself, tells the engine once that the
caller hung up (a `HungUp` turn with a fixed turn id), which finishes the record (outcome, path, ended_at).
"""
from __future__ import annotations

import logging

from ivr.engine.events import HungUp
from ivr.store import UNAVAILABLE, keys

log = logging.getLogger(__name__)

RANK = {"queued": 1, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3,
        "completed": 4, "busy": 4, "failed": 4, "no-answer": 4, "canceled": 4}
FINAL_RANK = 4
HUNG_UP_TURN = "provider-status-final"

# Only touch an existing call record; only a higher rank wins. Returns -1 (no record), 0 (stale/repeat),
# 1 (applied) or 2 (applied, and the flow had already finished the call: no hang-up turn needed).
_ADVANCE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local current = tonumber(redis.call('HGET', KEYS[1], 'status_rank') or '0')
if current >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'status_rank', ARGV[2], 'status_at', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'duration', ARGV[3]) end
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then return 2 end
return 1
"""
RESULTS = {-1: "no-record", 0: "stale", 1: "applied", 2: "applied"}


class CallStatusRecorder:
    def __init__(self, conn, session):
        self.conn = conn
        self.session = session  # CallSession: the HungUp turn goes through it (state, timeline, spool)
        self._advance = conn.register_script(_ADVANCE)

    def record(self, call_id: str, status: str, *, at: float, duration: str = "") -> str:
        """Apply one status callback. Returns "applied", "stale", "no-record", "unknown-status" or "unavailable"."""
        status = status.strip().lower()
        rank = RANK.get(status)
        if rank is None:
            return "unknown-status"
        duration = duration.strip() if duration.strip().isdigit() else ""
        try:
            result = self._advance(keys=[keys.call(call_id)], args=[status, rank, duration, repr(float(at))])
            outcome, finished = RESULTS[int(result)], int(result) == 2
        except UNAVAILABLE as exc:
            log.warning("call %s: status %s not recorded, redis unavailable: %s", call_id, status, exc)
            outcome, finished = "unavailable", False
        if rank == FINAL_RANK and outcome not in ("stale", "unavailable") and not finished:
            # Only once the status itself is recorded: an "unavailable" answer is a 503 that Twilio retries, and
            # the retry does the whole job. The fixed turn id makes repeats harmless.
            self.session.turn(call_id, HungUp(at=at), turn_id=HUNG_UP_TURN)
        return outcome
