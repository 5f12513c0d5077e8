"""Writing call records: one Lua script applies a whole turn write (record, timeline, jobs, state) in one round trip.

A turn write (see ivr.call_session.writes) is a JSON-able dict: `call_id`, and optionally `start`, `timeline`
(entries as dicts or as their JSON text), `jobs`, `path`, `finish` (`ended_at`, `outcome`; the path is `path`), and
`recreate`: start fields written only if the call has no record (a lost one, see call_session.writes).
`CallWriter.apply` sends it to Redis as one EVALSHA, which is also atomic. With it may go:
- the call's engine state blob, saved only if its version is newer (store.sessions);
- "create": write only if the call has no state yet, else return that state (a first request delivered twice);
- a spool marker: a write replayed from the spool is applied once, however often it is replayed;
- follow-up groups: the Redis commands that record and queue one follow-up (call_session.followups builds them
  from RQ's Job API), run only if that follow-up's record does not exist yet, so nothing is queued twice.
This script is the one place where call records are written; `store.calls.CallStore` reads them.
"""

from __future__ import annotations

import json
from typing import NamedTuple

import redis

from ivr.store import keys
from ivr.store.sessions import SAVE_STATE_LUA

# KEYS: 1 call, 2 timeline, 3 call's job ids, 4 calls by time, 5 live calls, 6 analytics pending, 7 state, 8 marker
# ARGV: 1 call id, 2 retention, 3 start JSON, 4 path JSON, 5 finish JSON, 6 job ids JSON, 7 state blob,
#       8 state version, 9 state ttl, 10 marker ttl, 11 create, 12 follow-up groups JSON [[guard key, argc, ...]],
#       13 timeline entry count n, 14..13+n timeline entries, then the follow-up commands' arguments.
# An empty string means "none". Timestamps stay strings (Lua numbers would round them).
# Returns {1, state saved: 1, 0 (a newer one is there) or -1 (failed)}, {0, 0} (marker seen) or {2, blob} (exists).
_APPLY = (
    SAVE_STATE_LUA
    + """
if ARGV[11] ~= '' and redis.call('EXISTS', KEYS[7]) == 1 then
  return {2, redis.call('HGET', KEYS[7], 'blob')}
end
if ARGV[10] ~= '' then
  if redis.call('EXISTS', KEYS[8]) == 1 then return {0, 0} end
  redis.call('SET', KEYS[8], 1, 'EX', ARGV[10])
end
local call_id, retention = ARGV[1], tonumber(ARGV[2])
local s = ARGV[3] ~= '' and cjson.decode(ARGV[3])
if s and (not s.if_missing or redis.call('HEXISTS', KEYS[1], 'started_at') == 0) then
  redis.call('HSET', KEYS[1], 'id', call_id, 'channel', s.channel, 'caller', s.caller, 'called', s.called,
             'flow_id', s.flow_id, 'started_at', s.started_at, 'path', '[]')
  redis.call('EXPIRE', KEYS[1], retention)
  redis.call('ZADD', KEYS[4], s.started_at, call_id)
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', s.cutoff)
  redis.call('SADD', KEYS[5], call_id)
end
local entries = tonumber(ARGV[13])
if entries > 0 then
  redis.call('RPUSH', KEYS[2], unpack(ARGV, 14, 13 + entries))
  redis.call('EXPIRE', KEYS[2], retention)
end
local pos = 14 + entries
for _, group in ipairs(cjson.decode(ARGV[12])) do
  local fresh = redis.call('EXISTS', group[1]) == 0
  for i = 2, #group do
    if fresh then redis.call(unpack(ARGV, pos, pos + group[i] - 1)) end
    pos = pos + group[i]
  end
end
local job_ids = cjson.decode(ARGV[6])
if #job_ids > 0 then
  redis.call('RPUSH', KEYS[3], unpack(job_ids))
  redis.call('EXPIRE', KEYS[3], retention)
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'path', ARGV[4]) end
if ARGV[5] ~= '' then
  local f = cjson.decode(ARGV[5])
  redis.call('HSET', KEYS[1], 'ended_at', f.ended_at, 'outcome', f.outcome)
  redis.call('EXPIRE', KEYS[1], retention)
  redis.call('SREM', KEYS[5], call_id)
  redis.call('SADD', KEYS[6], call_id)  -- counted later by whoever reads analytics (store.analytics)
end
if ARGV[7] == '' then return {1, 0} end
-- Last, and guarded: a failed state save must not undo (or make a replay repeat) the writes above.
local ok, saved = pcall(save_state, KEYS[7], ARGV[7], ARGV[8], ARGV[9])
if not ok then return {1, -1} end
return {1, saved}
"""
)

FollowupGroup = tuple[str, list[tuple]]  # (follow-up record key, the commands that queue it)
_ENCODE_ENTRY = json.JSONEncoder(sort_keys=True).encode  # one encoder for every entry (json.dumps builds one per call)


class Applied(NamedTuple):
    applied: bool  # False only when the spool marker showed the write was applied before
    state_stored: bool  # False when saving the state failed (True if the same or a newer version was there)
    existing: dict | None = None  # with `create`: the call's state blob, when it already existed (nothing written)
    confirmed: bool = True  # with `confirm_ms`: False when no replica confirmed the write in time


class CallWriter:
    def __init__(self, conn: redis.Redis, retention: int = keys.CALL_RETENTION):
        self.conn = conn
        self.retention = retention
        self._apply = conn.register_script(_APPLY)

    def apply(
        self,
        write: dict,
        *,
        state: dict | None = None,
        encoded_state: str | None = None,
        marker_id: str | None = None,
        create: bool = False,
        followups: list[FollowupGroup] = (),
        pipe=None,
        confirm_ms: int = 0,
    ) -> Applied:
        """Apply `write` atomically (see Applied); `encoded_state` is `state` as JSON if the caller has it already.
        With `pipe`, the script is queued on it instead. With `confirm_ms`, `WAIT 1 confirm_ms` follows it on the
        same connection (replication is asynchronous: a write only the master holds dies with it)."""
        script_keys, args = self._script_input(write, state, encoded_state, marker_id, create, followups)
        if pipe is not None:
            self._apply(keys=script_keys, args=args, client=pipe)
            return Applied(True, True)
        if confirm_ms:
            (outcome, detail), replicas = self._apply_confirmed(script_keys, args, marker_id, confirm_ms)
        else:
            (outcome, detail), replicas = self._apply(keys=script_keys, args=args), 1
        if outcome == 2:
            return Applied(False, False, json.loads(detail))
        return Applied(bool(outcome), detail >= 0, confirmed=replicas >= 1)

    def _script_input(
        self,
        write: dict,
        state: dict | None,
        encoded_state: str | None,
        marker_id: str | None,
        create: bool,
        followups: list[FollowupGroup],
    ) -> tuple[list, list]:
        """The _APPLY script's KEYS and ARGV for one write."""
        call_id = write["call_id"]
        start, finish, path = write.get("start"), write.get("finish"), write.get("path")
        if path is None and finish:  # a write spooled before finish left its path to `path`
            path = finish.get("path") or []
        start_fields = None if not start else _start_fields(start, self.retention)
        if not start and write.get("recreate"):  # the call's record, should it have been lost (a spooled write)
            start_fields = {**_start_fields(write["recreate"], self.retention), "if_missing": 1}
        timeline = [e if isinstance(e, str) else _ENCODE_ENTRY(e) for e in write.get("timeline") or ()]
        groups, commands = [], []
        for guard, recorded in followups:
            groups.append([guard, *(len(args) for args in recorded)])
            commands.extend(arg for args in recorded for arg in args)
        args = [
            call_id,
            self.retention,
            "" if start_fields is None else json.dumps(start_fields),
            "" if path is None else json.dumps(list(path)),
            "" if not finish else _finish_arg(finish),
            json.dumps([j["job_id"] for j in write.get("jobs") or ()]),
            "" if state is None else encoded_state or json.dumps(state),
            0 if state is None else int(state["version"]),
            keys.STATE_TTL,
            "" if marker_id is None else keys.SPOOL_MARKER_TTL,
            "1" if create else "",
            json.dumps(groups),
            len(timeline),
            *timeline,
            *commands,
        ]
        return _script_keys(call_id, marker_id), args

    def _apply_confirmed(self, script_keys: list, args: list, marker_id: str | None, confirm_ms: int):
        """The script's reply and how many replicas confirmed. A marker's expiry is renewed first: that is a
        write too, so a replay the marker skips still waits until a replica has everything before it."""
        with self.conn.pipeline(transaction=False) as pipe:
            self._apply(keys=script_keys, args=args, client=pipe)
            if marker_id is not None:
                pipe.expire(keys.spool_marker(marker_id), keys.SPOOL_MARKER_TTL)
            pipe.execute_command("WAIT", 1, confirm_ms)
            replies = pipe.execute()
        return replies[0], int(replies[-1])


def _start_fields(start: dict, retention: int) -> dict:
    started_at = float(start["started_at"])
    return {
        "channel": start.get("channel", ""),
        "caller": start.get("caller", ""),
        "called": start.get("called", ""),
        "flow_id": start.get("flow_id") or "",
        "started_at": repr(started_at),
        "cutoff": repr(started_at - retention),
    }


def _script_keys(call_id: str, marker_id: str | None) -> list[str]:
    """The keys _APPLY touches, in its KEYS order."""
    return [
        keys.call(call_id),
        keys.call_timeline(call_id),
        keys.call_jobs(call_id),
        keys.CALLS_BY_TIME,
        keys.CALLS_LIVE,
        keys.ANALYTICS_PENDING,
        keys.call_state(call_id),
        keys.spool_marker(marker_id or ""),
    ]


def _finish_arg(finish: dict) -> str:
    return json.dumps({"ended_at": repr(float(finish["ended_at"])), "outcome": finish.get("outcome") or "completed"})
