"""What one call turn writes to Redis, as a JSON-able dict, and how it is applied (directly or from the spool).

A turn write holds the call record changes, timeline entries and follow-up jobs of one turn. It is applied in one
round trip, atomically (store.call_writes): follow-ups whose record already exists are skipped (so nothing is
queued twice), and a spooled write also sets a marker key so replaying it again is a no-op. While Redis is down
the same dict goes to the spool. The commands that queue a follow-up come from `jobs.enqueue` (RQ's own job
format), recorded on a pipeline that is never executed and run inside the script.
"""
from __future__ import annotations

import logging
import time

import redis
from rq import Queue

from ivr.call_session import followups as jobs
from ivr.store import keys
from ivr.store.call_writes import Applied, CallWriter, FollowupGroup
from ivr.store.followups import FollowupStore, Status
from ivr.store.sessions import SessionStore
from ivr.store.spool import Spool

log = logging.getLogger(__name__)

KIND = "turn"  # spool entry kind


def apply_write(conn: redis.Redis, queue: Queue, write: dict, marker: bool = False) -> bool:
    """Apply a turn write atomically. Returns False when `marker` is set and it was already applied."""
    return CallWriter(conn).apply(write, marker_id=write["id"] if marker else None,
                                  followups=followup_commands(queue, write)).applied


def apply_turn(conn: redis.Redis, queue: Queue, write: dict, state: dict, encoded_state: str | None = None,
               writer: CallWriter | None = None, create: bool = False) -> Applied:
    """Apply a live turn's write and save its state blob (store.sessions) in the same script: one round trip.
    With `create` (a call's first turn) nothing is written if the call exists: its blob is returned instead."""
    result = (writer or CallWriter(conn)).apply(write, state=state, encoded_state=encoded_state, create=create,
                                                followups=followup_commands(queue, write))
    if not result.state_stored and result.existing is None:
        log.error("call %s: saving the state in Redis failed", write["call_id"])
    return result


def followup_commands(queue: Queue, write: dict) -> list[FollowupGroup]:
    """Per follow-up job of `write`: its record's key and the commands that create it and queue the RQ job."""
    groups = []
    for job in write.get("jobs") or ():
        recorder = queue.connection.pipeline(transaction=True)
        recorder.multi()  # RQ expects a transaction; it only queues commands onto it, nothing runs
        try:
            jobs.enqueue(queue, recorder, job_id=job["job_id"], kind=job["kind"], payload=job["payload"],
                         call_id=write["call_id"], at=write["at"])
        except jobs.UnknownJobKind as exc:  # visible as a failed follow-up rather than lost
            FollowupStore(queue.connection).create(job["job_id"], kind=job["kind"], call_id=write["call_id"],
                                                   at=write["at"], pipe=recorder)
            recorder.hset(keys.followup(job["job_id"]), mapping={"status": str(Status.FAILED), "detail": str(exc)})
        groups.append((keys.followup(job["job_id"]), [args for args, _options in recorder.command_stack]))
        recorder.reset()
    return groups


def replay_spool(spool: Spool, conn: redis.Redis, queue: Queue, budget: float | None = None) -> int:
    """Replay everything spooled while Redis was down, in order. Safe to call from any number of processes."""
    sessions = SessionStore(conn)

    def apply_entry(entry_id: str, kind: str, data: dict) -> None:
        if kind != KIND:
            raise ValueError(f"unknown spool entry kind {kind!r}")
        apply_write(conn, queue, data, marker=True)

    return spool.replay(apply_entry, apply_state=sessions.save, budget=budget)


def new_write(call_id: str, version: int, at: float | None = None) -> dict:
    return {"id": f"{call_id}:v{version}", "call_id": call_id, "at": time.time() if at is None else at,
            "start": None, "timeline": [], "jobs": [], "path": None, "finish": None}
