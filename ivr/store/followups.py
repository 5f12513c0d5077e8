"""Follow-up delivery status: one record per job (email, sms, webhook, chat, callback), keyed by the job id.

The job id is the engine's idempotency key, so this record is what makes delivery exactly-once: a job is only
enqueued when no record exists, and a worker only sends while the record is not in a final state. Every attempt
is appended to `attempts` with its time and outcome, so failures stay visible. Kept `keys.FOLLOWUP_RETENTION`.
"""
from __future__ import annotations

import json
from enum import StrEnum

import redis

from ivr.store import keys


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SCHEDULED = "scheduled"  # accepted, waiting for its time (a callback waits for business hours)
    RETRYING = "retrying"  # an attempt failed with a retryable error; RQ will run it again
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up (non-retryable error or retries exhausted)
    REFUSED = "refused"  # deliberately not sent (e.g. callback toll-fraud guard)


FINAL = {Status.DELIVERED, Status.FAILED, Status.REFUSED}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class FollowupStore:
    def __init__(self, conn: redis.Redis, retention: int = keys.FOLLOWUP_RETENTION):
        self.conn = conn
        self.retention = retention

    def create(self, job_id: str, *, kind: str, call_id: str, at: float, pipe=None) -> None:
        """Record a queued follow-up; an existing record (any status) is left untouched."""
        p = pipe or self.conn.pipeline()
        key = keys.followup(job_id)
        for name, value in (("job_id", job_id), ("kind", kind), ("call_id", call_id), ("status", Status.QUEUED),
                            ("created_at", repr(float(at))), ("attempts", "[]")):
            p.hsetnx(key, name, str(value))
        p.expire(key, self.retention)
        if pipe is None:
            p.execute()

    def exists(self, job_id: str) -> bool:
        return bool(self.conn.exists(keys.followup(job_id)))

    def get(self, job_id: str) -> dict | None:
        raw = self.conn.hgetall(keys.followup(job_id))
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        data["attempts"] = json.loads(data.get("attempts") or "[]")
        return data

    def status(self, job_id: str) -> Status | None:
        raw = self.conn.hget(keys.followup(job_id), "status")
        return None if raw is None else Status(_text(raw))

    def begin(self, job_id: str, *, kind: str, call_id: str, at: float) -> bool:
        """Mark an attempt as sending. False when the follow-up already reached a final state (do not send)."""
        self.create(job_id, kind=kind, call_id=call_id, at=at)
        if self.status(job_id) in FINAL:
            return False
        self._set(job_id, Status.SENDING, at, note=None)
        return True

    def record(self, job_id: str, status: Status, *, at: float, detail: str = "") -> None:
        """Finish an attempt with `status` and append it to the attempt list."""
        self._set(job_id, status, at, note={"at": at, "status": str(status), "detail": detail})

    def _set(self, job_id: str, status: Status, at: float, note: dict | None) -> None:
        key = keys.followup(job_id)
        # One job runs in one worker at a time, so read-modify-write of the attempt list is safe.
        mapping = {"status": str(status), "updated_at": repr(float(at))}
        if note is not None:
            attempts = json.loads(_text(self.conn.hget(key, "attempts") or b"[]"))
            attempts.append(note)
            mapping["attempts"] = json.dumps(attempts)
            mapping["detail"] = note["detail"]
        with self.conn.pipeline() as p:
            p.hset(key, mapping=mapping)
            p.expire(key, self.retention)
            p.execute()

    def many(self, job_ids: list[str]) -> list[dict]:
        with self.conn.pipeline(transaction=False) as p:
            for job_id in job_ids:
                p.hgetall(keys.followup(job_id))
            rows = p.execute()
        out = []
        for job_id, raw in zip(job_ids, rows):
            data = {_text(k): _text(v) for k, v in raw.items()} if raw else {"job_id": job_id, "status": "unknown"}
            data["attempts"] = json.loads(data.get("attempts") or "[]")
            out.append(data)
        return out
