"""Follow-up delivery status: one record per job (email, sms, webhook, chat, callback), keyed by the job id.

The job id is the engine's idempotency key, so this record is what makes delivery exactly-once: a job is only
enqueued when no record exists, and a worker only sends while the record is not in a final state. Every attempt
is appended to `attempts` with its time and outcome, so failures stay visible. Kept `keys.FOLLOWUP_RETENTION`.
"""

from __future__ import annotations

import json
from enum import StrEnum

import redis

from ivr.store import Unconfirmed, as_text, keys


class Status(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SCHEDULED = "scheduled"  # accepted, waiting for its time (a callback waits for business hours)
    RETRYING = "retrying"  # an attempt failed with a retryable error; RQ will run it again
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up (non-retryable error or retries exhausted)
    REFUSED = "refused"  # deliberately not sent (e.g. callback toll-fraud guard)


FINAL = {Status.DELIVERED, Status.FAILED, Status.REFUSED}


# Both scripts run atomically in Redis: one round trip per step of a delivery.
_BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'job_id', ARGV[1], 'kind', ARGV[2], 'call_id', ARGV[3], 'status', 'queued',
             'created_at', ARGV[4], 'attempts', '[]')
end
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'delivered' or status == 'failed' or status == 'refused' then return 0 end
redis.call('HSET', KEYS[1], 'status', 'sending', 'updated_at', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_RECORD = """
local previous = redis.call('HGET', KEYS[1], 'status')
local raw = redis.call('HGET', KEYS[1], 'attempts')
local note = '{"at":' .. ARGV[2] .. ',"status":' .. cjson.encode(ARGV[1]) .. ',"detail":' .. cjson.encode(ARGV[3]) .. '}'
local attempts
if raw == false or raw == '[]' or raw == '' then attempts = '[' .. note .. ']'
else attempts = string.sub(raw, 1, -2) .. ',' .. note .. ']' end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[2], 'attempts', attempts, 'detail', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local bad = ARGV[1] == 'failed' or ARGV[1] == 'refused'
if bad or ARGV[1] == 'retrying' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[5])
else redis.call('ZREM', KEYS[2], ARGV[5]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[4]))
local was_bad = previous == 'failed' or previous == 'refused'
if bad and not was_bad and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'followups_failed', 1)
end
"""


class FollowupStore:
    def __init__(self, conn: redis.Redis, retention: int = keys.FOLLOWUP_RETENTION):
        self.conn = conn
        self.retention = retention
        self._begin = conn.register_script(_BEGIN)
        self._record = conn.register_script(_RECORD)

    def create(self, job_id: str, *, kind: str, call_id: str, at: float, pipe=None) -> None:
        """Record a queued follow-up; an existing record (any status) is left untouched."""
        p = pipe or self.conn.pipeline()
        for command in self.create_commands(job_id, kind=kind, call_id=call_id, at=at):
            p.execute_command(*command)
        if pipe is None:
            p.execute()

    def create_commands(
        self, job_id: str, *, kind: str, call_id: str, at: float, status: Status = Status.QUEUED, detail: str = ""
    ) -> list[tuple]:
        """The commands `create` runs (the turn write script runs them too); fields already there are kept."""
        key = keys.followup(job_id)
        fields = [
            ("job_id", job_id),
            ("kind", kind),
            ("call_id", call_id),
            ("status", status),
            ("created_at", repr(float(at))),
            ("attempts", "[]"),
        ] + ([("detail", detail)] if detail else [])
        return [("HSETNX", key, name, str(value)) for name, value in fields] + [("EXPIRE", key, self.retention)]

    def exists(self, job_id: str) -> bool:
        return bool(self.conn.exists(keys.followup(job_id)))

    def get(self, job_id: str) -> dict | None:
        raw = self.conn.hgetall(keys.followup(job_id))
        if not raw:
            return None
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        data["attempts"] = json.loads(data.get("attempts") or "[]")
        return data

    def status(self, job_id: str) -> Status | None:
        raw = self.conn.hget(keys.followup(job_id), "status")
        return None if raw is None else Status(as_text(raw))

    def begin(self, job_id: str, *, kind: str, call_id: str, at: float, confirm_ms: int = 0) -> bool:
        """Mark an attempt as sending. False when the follow-up already reached a final state (do not send).
        With `confirm_ms`, raises Unconfirmed when no replica confirmed the mark in time (send nothing yet)."""
        args = [job_id, kind, call_id, repr(float(at)), self.retention]
        reply, replicas = self._confirmed(self._begin, [keys.followup(job_id)], args, confirm_ms)
        if reply and replicas < 1:
            raise Unconfirmed(f"follow-up {job_id}: no replica confirmed the sending mark within {confirm_ms} ms")
        return bool(reply)

    def record(self, job_id: str, status: Status, *, at: float, detail: str = "", confirm_ms: int = 0) -> bool:
        """Finish an attempt with `status` and append it (time, status, detail) to the attempt list; a failed,
        retrying or refused follow-up is listed in `troubled` and counted on its call's record. False when
        `confirm_ms` is set and no replica confirmed it in time."""
        call_id = as_text(self.conn.hget(keys.followup(job_id), "call_id") or b"")
        call_key = keys.call(call_id) if call_id else ""  # no call: EXISTS '' is 0, nothing counted
        script_keys = [keys.followup(job_id), keys.FOLLOWUPS_TROUBLED, call_key]
        args = [str(status), repr(float(at)), detail, self.retention, job_id]
        return self._confirmed(self._record, script_keys, args, confirm_ms)[1] >= 1

    def _confirmed(self, script, script_keys: list, args: list, confirm_ms: int) -> tuple:
        """The script's reply and how many replicas confirmed it (WAIT on the same connection, in one trip)."""
        if not confirm_ms:
            return script(keys=script_keys, args=args), 1
        with self.conn.pipeline(transaction=False) as pipe:
            script(keys=script_keys, args=args, client=pipe)
            pipe.execute_command("WAIT", 1, confirm_ms)
            reply, replicas = pipe.execute()
        return reply, int(replicas)

    def troubled(self, limit: int = 20) -> list[dict]:
        """Follow-ups that failed, are retrying or were refused, newest first, with their reason (`detail`)."""
        ids = [as_text(i) for i in self.conn.zrevrange(keys.FOLLOWUPS_TROUBLED, 0, max(limit, 1) - 1)]
        return [f for f in self.many(ids) if f.get("status") != "unknown"]

    def many(self, job_ids: list[str]) -> list[dict]:
        with self.conn.pipeline(transaction=False) as p:
            for job_id in job_ids:
                p.hgetall(keys.followup(job_id))
            rows = p.execute()
        out = []
        for job_id, raw in zip(job_ids, rows):
            data = {as_text(k): as_text(v) for k, v in raw.items()} if raw else {"job_id": job_id, "status": "unknown"}
            data["attempts"] = json.loads(data.get("attempts") or "[]")
            out.append(data)
        return out
