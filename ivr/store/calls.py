"""Call records: who called, when, how it ended, the path of steps, the timeline, and the follow-up jobs.

A call is a hash (`keys.call`), its timeline a list of JSON entries `{"at", "kind", "data"}` where kind is
"event", "action" or "note", and its jobs a list of job ids. Calls are indexed by start time for listing and,
while running, kept in a set of live calls. Everything is kept `keys.CALL_RETENTION` after the last write.
Write methods accept a pipeline so the spool replay can apply one entry atomically.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import redis

from ivr.store import keys


@dataclass
class CallRecord:
    id: str
    channel: str = ""
    caller: str = ""
    called: str = ""
    flow_id: str = ""
    started_at: float | None = None
    ended_at: float | None = None
    outcome: str = ""
    path: list[str] = field(default_factory=list)
    jobs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class CallStore:
    def __init__(self, conn: redis.Redis, retention: int = keys.CALL_RETENTION):
        self.conn = conn
        self.retention = retention

    def _run(self, pipe, fill) -> None:
        own = pipe is None
        p = self.conn.pipeline() if own else pipe
        fill(p)
        if own:
            p.execute()

    def start(self, call_id: str, *, channel: str, caller: str, called: str, started_at: float,
              flow_id: str = "", pipe=None) -> None:
        def fill(p):
            p.hset(keys.call(call_id), mapping={
                "id": call_id, "channel": channel, "caller": caller, "called": called,
                "flow_id": flow_id, "started_at": repr(float(started_at)), "path": "[]",
            })
            p.expire(keys.call(call_id), self.retention)
            p.zadd(keys.CALLS_BY_TIME, {call_id: float(started_at)})
            p.zremrangebyscore(keys.CALLS_BY_TIME, "-inf", float(started_at) - self.retention)
            p.sadd(keys.CALLS_LIVE, call_id)
        self._run(pipe, fill)

    def append(self, call_id: str, entries: list[dict], pipe=None) -> None:
        """Append timeline entries (dicts with at/kind/data) in order."""
        if not entries:
            return

        def fill(p):
            p.rpush(keys.call_timeline(call_id), *(json.dumps(e, sort_keys=True) for e in entries))
            p.expire(keys.call_timeline(call_id), self.retention)
        self._run(pipe, fill)

    def add_jobs(self, call_id: str, job_ids: list[str], pipe=None) -> None:
        if not job_ids:
            return

        def fill(p):
            p.rpush(keys.call_jobs(call_id), *job_ids)
            p.expire(keys.call_jobs(call_id), self.retention)
        self._run(pipe, fill)

    def update(self, call_id: str, *, path: list[str] | None = None, flow_id: str | None = None, pipe=None) -> None:
        fields = {}
        if path is not None:
            fields["path"] = json.dumps(list(path))
        if flow_id is not None:
            fields["flow_id"] = flow_id
        if fields:
            self._run(pipe, lambda p: p.hset(keys.call(call_id), mapping=fields))

    def finish(self, call_id: str, *, ended_at: float, outcome: str, path: list[str], pipe=None) -> None:
        def fill(p):
            p.hset(keys.call(call_id), mapping={
                "ended_at": repr(float(ended_at)), "outcome": outcome or "completed", "path": json.dumps(list(path)),
            })
            p.expire(keys.call(call_id), self.retention)
            p.srem(keys.CALLS_LIVE, call_id)
        self._run(pipe, fill)

    def get(self, call_id: str) -> CallRecord | None:
        with self.conn.pipeline(transaction=False) as p:
            p.hgetall(keys.call(call_id))
            p.lrange(keys.call_jobs(call_id), 0, -1)
            raw, jobs = p.execute()
        if not raw:
            return None
        data = {_text(k): _text(v) for k, v in raw.items()}
        return CallRecord(
            id=data.get("id", call_id), channel=data.get("channel", ""), caller=data.get("caller", ""),
            called=data.get("called", ""), flow_id=data.get("flow_id", ""),
            started_at=float(data["started_at"]) if data.get("started_at") else None,
            ended_at=float(data["ended_at"]) if data.get("ended_at") else None,
            outcome=data.get("outcome", ""), path=json.loads(data.get("path") or "[]"),
            jobs=list(dict.fromkeys(_text(j) for j in jobs)),  # a replayed turn may list a job twice
        )

    def timeline(self, call_id: str) -> list[dict]:
        return [json.loads(e) for e in self.conn.lrange(keys.call_timeline(call_id), 0, -1)]

    def recent(self, limit: int = 50) -> list[CallRecord]:
        """Newest first."""
        ids = self.conn.zrevrange(keys.CALLS_BY_TIME, 0, max(limit, 1) - 1)
        records = (self.get(_text(i)) for i in ids)
        return [r for r in records if r is not None]

    def live(self) -> list[str]:
        return sorted(_text(i) for i in self.conn.smembers(keys.CALLS_LIVE))

    def count(self) -> int:
        return self.conn.zcard(keys.CALLS_BY_TIME)
