"""Call records: who called, when, how it ended, the path of steps, the timeline, and the follow-up jobs.

A call is a hash (`keys.call`), its timeline a list of JSON entries `{"at", "kind", "data"}` where kind is
"event", "action" or "note", and its jobs a list of job ids. Calls are indexed by start time for listing and,
while running, kept in a set of live calls. Everything is kept `keys.CALL_RETENTION` after the last write.
Write methods accept a pipeline (bulk imports); each is one call of the call write script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property

import redis

from ivr.store import as_text, keys
from ivr.store.call_writes import CallWriter


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
    followups_failed: int = 0  # follow-ups that failed or were refused (FollowupStore.record counts them)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# Only touch an existing call record; only a higher rank wins. Returns -1 (no record), 0 (stale/repeat),
# 1 (applied) or 2 (applied, and the flow had already finished the call: no hang-up turn needed).
_ADVANCE_STATUS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local current = tonumber(redis.call('HGET', KEYS[1], 'status_rank') or '0')
if current >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'status_rank', ARGV[2], 'status_at', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'duration', ARGV[3]) end
if redis.call('HEXISTS', KEYS[1], 'ended_at') == 1 then return 2 end
return 1
"""

# A finished call's end moves later (never earlier): the caller still heard its last prompt after the turn.
_EXTEND_END = """
local ended = redis.call('HGET', KEYS[1], 'ended_at')
if ended and tonumber(ended) < tonumber(ARGV[1]) then redis.call('HSET', KEYS[1], 'ended_at', ARGV[1]) end
"""


class CallStore:
    def __init__(self, conn: redis.Redis, retention: int = keys.CALL_RETENTION):
        self.conn = conn
        self.retention = retention

    # Writes go through the call write script (store.call_writes), the one place call records are written.
    @cached_property
    def _writer(self) -> CallWriter:  # built on the first write only: most CallStores just read
        return CallWriter(self.conn, self.retention)

    @cached_property
    def _advance_status(self):
        return self.conn.register_script(_ADVANCE_STATUS)

    def advance_status(self, call_id: str, status: str, rank: int, *, duration: str, at: float) -> int:
        """The provider's status of the call, if it ranks above the recorded one (see _ADVANCE_STATUS)."""
        return int(self._advance_status(keys=[keys.call(call_id)], args=[status, rank, duration, repr(float(at))]))

    def extend_end(self, call_id: str, at: float) -> None:
        """The call ended at `at` as its caller heard it (SIP: the goodbye prompt's last packet), if it had
        ended earlier by the flow's turn: durations from the real answer to the real hang-up."""
        self.conn.eval(_EXTEND_END, 1, keys.call(call_id), repr(float(at)))

    def set_playing(self, call_id: str, prompt: dict | None) -> None:
        """The prompt the caller hears now (the live view shows it), or None once it stopped."""
        if prompt is None:
            self.conn.delete(keys.call_playing(call_id))
        else:
            self.conn.set(keys.call_playing(call_id), json.dumps(prompt), ex=3600)

    def _write(self, call_id: str, pipe, **parts) -> None:
        self._writer.apply({"call_id": call_id, **parts}, pipe=pipe)

    def start(
        self, call_id: str, *, channel: str, caller: str, called: str, started_at: float, flow_id: str = "", pipe=None
    ) -> None:
        self._write(
            call_id,
            pipe,
            start={
                "channel": channel,
                "caller": caller,
                "called": called,
                "started_at": started_at,
                "flow_id": flow_id,
            },
        )

    def append(self, call_id: str, entries: list[dict], pipe=None) -> None:
        """Append timeline entries (dicts with at/kind/data) in order."""
        if entries:
            self._write(call_id, pipe, timeline=entries)

    def add_jobs(self, call_id: str, job_ids: list[str], pipe=None) -> None:
        if job_ids:
            self._write(call_id, pipe, jobs=[{"job_id": j} for j in job_ids])

    def finish(self, call_id: str, *, ended_at: float, outcome: str, path: list[str], pipe=None) -> None:
        """Mark the call ended (it leaves the live set and is queued for the analytics counters)."""
        self._write(call_id, pipe, finish={"ended_at": ended_at, "outcome": outcome, "path": path})

    def get(self, call_id: str) -> CallRecord | None:
        with self.conn.pipeline(transaction=False) as p:
            p.hgetall(keys.call(call_id))
            p.lrange(keys.call_jobs(call_id), 0, -1)
            raw, jobs = p.execute()
        if not raw:
            return None
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        return CallRecord(
            id=data.get("id", call_id),
            channel=data.get("channel", ""),
            caller=data.get("caller", ""),
            called=data.get("called", ""),
            flow_id=data.get("flow_id", ""),
            started_at=float(data["started_at"]) if data.get("started_at") else None,
            ended_at=float(data["ended_at"]) if data.get("ended_at") else None,
            outcome=data.get("outcome", ""),
            path=json.loads(data.get("path") or "[]"),
            jobs=list(dict.fromkeys(as_text(j) for j in jobs)),  # a replayed turn may list a job twice
            followups_failed=int(data.get("followups_failed") or 0),
        )

    def timeline(self, call_id: str) -> list[dict]:
        return [json.loads(e) for e in self.conn.lrange(keys.call_timeline(call_id), 0, -1)]

    def recent(self, limit: int = 50) -> list[CallRecord]:
        """Newest first."""
        ids = self.conn.zrevrange(keys.CALLS_BY_TIME, 0, max(limit, 1) - 1)
        records = (self.get(as_text(i)) for i in ids)
        return [r for r in records if r is not None]

    def live(self) -> list[str]:
        return sorted(as_text(i) for i in self.conn.smembers(keys.CALLS_LIVE))

    def end_abandoned(self, limit: int = 1000) -> list[str]:
        """End live calls whose engine state has expired (no turn for `keys.STATE_TTL`: the channel never said how
        the call ended, e.g. a Twilio number without a status callback URL). Nothing else would ever end them.
        They end with outcome "abandoned" at the time of their last timeline entry. Returns their ids."""
        live = [as_text(i) for i in self.conn.srandmember(keys.CALLS_LIVE, limit)]
        with self.conn.pipeline(transaction=False) as p:
            for call_id in live:
                p.exists(keys.call_state(call_id))
                p.lindex(keys.call_timeline(call_id), -1)
            found = p.execute()
        ended = []
        for call_id, has_state, last in zip(live, found[::2], found[1::2]):
            if has_state:
                continue
            record = self.get(call_id)
            if record is None:  # the record itself has expired: only the index entry is left
                self.conn.srem(keys.CALLS_LIVE, call_id)
                continue
            at = json.loads(last)["at"] if last else record.started_at or 0.0
            self.finish(call_id, ended_at=at, outcome="abandoned", path=record.path)
            ended.append(call_id)
        return ended

    def count(self) -> int:
        return self.conn.zcard(keys.CALLS_BY_TIME)
