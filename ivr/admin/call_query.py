"""Reading calls for the log and the API: filtered, newest first, without scanning all 100,000 records.

Candidates come from the time index (`keys.CALLS_BY_TIME`) in batches, newest first, and only the fields the log
shows are fetched (one pipelined HMGET per batch). A page stops at `limit` matches or after `budget` candidates,
and returns a cursor (`before`) to continue with older calls, so a rare filter never makes a slow page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import redis

from ivr.store import as_text, keys, sessions

FIELDS = (
    "id",
    "channel",
    "caller",
    "called",
    "flow_id",
    "started_at",
    "ended_at",
    "outcome",
    "path",
    "followups_failed",
)
BATCH = 500


@dataclass
class CallFilter:
    start: float | None = None  # started at or after (epoch seconds)
    end: float | None = None  # started before
    channel: str = ""
    caller: str = ""  # substring of the caller number
    outcome: str = ""
    step: str = ""  # the call's path went through this step
    followup: str = ""  # "failed": only calls with a failed or refused follow-up
    live: bool | None = None

    def matches(self, values: list) -> bool:
        """Test the raw HMGET values (bytes, in FIELDS order) so non-matching calls are never decoded."""
        _, channel, caller, _, _, _, _, outcome, path, failed = values
        if self.channel and (channel or b"").decode() != self.channel:
            return False
        if self.caller and self.caller.encode() not in (caller or b""):
            return False
        if self.outcome and (outcome or b"").decode() != self.outcome:
            return False
        if self.step and json.dumps(self.step).encode() not in (path or b""):
            return False
        if self.followup == "failed" and not int(failed or 0):
            return False
        return True

    @property
    def narrows(self) -> bool:
        return bool(self.channel or self.caller or self.outcome or self.step or self.followup)


@dataclass
class Page:
    rows: list[dict] = field(default_factory=list)
    before: float | None = None  # pass as `before` to get the next (older) page; None when exhausted
    scanned: int = 0


def _text(value) -> str:
    return "" if value is None else as_text(value)


def _row(values: list) -> dict:
    row = dict(zip(FIELDS, (_text(v) for v in values)))
    row["path"] = json.loads(row["path"] or "[]")
    for name in ("started_at", "ended_at"):
        row[name] = float(row[name]) if row[name] else None
    row["duration"] = (row["ended_at"] - row["started_at"]) if row["ended_at"] and row["started_at"] else None
    row["followups_failed"] = int(row["followups_failed"] or 0)
    return row


def find_calls(
    conn: redis.Redis, flt: CallFilter, limit: int = 50, before: float | None = None, budget: int = 20_000
) -> Page:
    page = Page()
    high = f"({before}" if before is not None else (f"({flt.end!r}" if flt.end is not None else "+inf")
    low = flt.start if flt.start is not None else "-inf"
    # Without a field filter every candidate matches: fetch just one page. With one, fetch in larger batches.
    size = BATCH if flt.narrows else limit
    while page.scanned < budget:
        ids = conn.zrevrangebyscore(keys.CALLS_BY_TIME, high, low, start=0, num=size, withscores=True)
        if not ids:
            page.before = None
            return page
        with conn.pipeline(transaction=False) as p:
            for call_id, _ in ids:
                p.hmget(keys.call(_text(call_id)), *FIELDS)
            fetched = p.execute()
        for (_call_id, score), values in zip(ids, fetched):
            page.scanned += 1
            page.before = score
            if values[0] is None:
                continue  # expired meanwhile
            if flt.matches(values):
                page.rows.append(_row(values))
                if len(page.rows) >= limit:
                    return page  # `before` = this row's score: the next page starts just after it
        high = f"({page.before!r}"
        if len(ids) < size:
            page.before = None
            return page
    return page


def live_calls(conn: redis.Redis) -> list[dict]:
    """Calls in progress with the step they are on now, oldest first."""
    ids = sorted(_text(i) for i in conn.smembers(keys.CALLS_LIVE))
    with conn.pipeline(transaction=False) as p:
        for call_id in ids:
            p.hmget(keys.call(call_id), *FIELDS)
            p.hget(keys.call_state(call_id), sessions.BLOB)
            p.get(keys.call_playing(call_id))
        fetched = p.execute()
    rows = []
    for values, state, playing in zip(fetched[::3], fetched[1::3], fetched[2::3]):
        if values[0] is None:
            continue
        row = _row(values)
        blob = json.loads(state) if state else {}
        row["step"] = ((blob.get("state") or {}).get("step")) or (row["path"][-1] if row["path"] else "")
        row["waiting"] = (blob.get("state") or {}).get("waiting") or ""
        prompt = json.loads(playing) if playing else None  # SIP: what the caller hears right now
        row["playing"] = (prompt.get("text") or f"[audio {prompt.get('audio')}]") if prompt else ""
        rows.append(row)
    return sorted(rows, key=lambda r: r["started_at"] or 0)
