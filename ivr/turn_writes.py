"""What one call turn writes to Redis, as a JSON-able dict, and how it is applied (directly or from the spool).

A turn write holds the call record changes, timeline entries and follow-up jobs of one turn. It is applied in one
Redis transaction: follow-ups whose record already exists are skipped (so nothing is queued twice), and a spooled
write also sets a marker key so replaying it again is a no-op. While Redis is down the same dict goes to the spool.
"""
from __future__ import annotations

import logging
import time

import redis
from rq import Queue

from ivr import jobs
from ivr.store import analytics, keys
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore, Status
from ivr.store.sessions import SessionStore
from ivr.store.spool import Spool

log = logging.getLogger(__name__)

KIND = "turn"  # spool entry kind


def apply_write(conn: redis.Redis, queue: Queue, write: dict, marker: bool = False) -> bool:
    """Apply a turn write atomically. Returns False when `marker` is set and it was already applied."""
    return _apply(conn, queue, write, marker, None)[0]


def apply_turn(conn: redis.Redis, queue: Queue, write: dict, state: dict) -> bool:
    """Apply a live turn's write and save its state blob (store.sessions) in the same transaction: one round trip
    less per turn. Returns whether the state was stored (or a newer one was there); False: keep it elsewhere."""
    return _apply(conn, queue, write, False, state)[1]


def _apply(conn: redis.Redis, queue: Queue, write: dict, marker: bool, state: dict | None) -> tuple[bool, bool]:
    marker_key = keys.spool_marker(write["id"])
    job_keys = [keys.followup(j["job_id"]) for j in write.get("jobs", ())]
    calls, followups = CallStore(conn), FollowupStore(conn)
    with conn.pipeline() as pipe:
        while True:
            try:
                watched = [*job_keys, *([marker_key] if marker else [])]
                if watched:
                    pipe.watch(*watched)  # from here, commands run at once until multi()
                if marker and pipe.exists(marker_key):
                    pipe.reset()
                    return False, False
                fresh = [not pipe.exists(k) for k in job_keys]
                pipe.multi()
                _fill(pipe, write, calls, followups, queue, fresh)
                if marker:
                    pipe.set(marker_key, 1, ex=keys.SPOOL_MARKER_TTL)
                if state is not None:
                    SessionStore(conn).save_on(pipe, state)  # last, so its result is the last one
                results = pipe.execute(raise_on_error=False)
                written = results[:-1] if state is not None else results
                failed = next((r for r in written if isinstance(r, Exception)), None)
                if failed is not None:  # as execute() would have raised, but never for the state's save
                    raise failed
                state_saved = state is not None and not isinstance(results[-1], Exception)
                if state is not None and not state_saved:
                    log.error("call %s: saving the state failed: %s", write["call_id"], results[-1])
                return True, state_saved
            except redis.WatchError:
                continue  # a concurrent writer touched the same follow-up: look again


def _fill(pipe, write: dict, calls: CallStore, followups: FollowupStore, queue: Queue, fresh: list[bool]) -> None:
    call_id, at = write["call_id"], write["at"]
    if write.get("start"):
        calls.start(call_id, pipe=pipe, **write["start"])
    calls.append(call_id, write.get("timeline", []), pipe=pipe)
    job_list = write.get("jobs", [])
    for job, is_new in zip(job_list, fresh):
        if not is_new:
            continue
        try:
            jobs.enqueue(queue, pipe, job_id=job["job_id"], kind=job["kind"], payload=job["payload"],
                         call_id=call_id, at=at)
        except jobs.UnknownJobKind as exc:  # visible as a failed follow-up rather than lost
            followups.create(job["job_id"], kind=job["kind"], call_id=call_id, at=at, pipe=pipe)
            pipe.hset(keys.followup(job["job_id"]), mapping={"status": str(Status.FAILED), "detail": str(exc)})
    calls.add_jobs(call_id, [j["job_id"] for j in job_list], pipe=pipe)
    if write.get("path") is not None:
        calls.update(call_id, path=write["path"], pipe=pipe)
    if write.get("finish"):
        calls.finish(call_id, pipe=pipe, **write["finish"])
        analytics.mark_pending(pipe, call_id)  # counted later, by whoever reads the counters: not in this request


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
