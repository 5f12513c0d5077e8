"""Analytics counters, maintained when a call ends so that reports never scan call records.

`record_call_finished(conn, call_id)` reads the finished call and its timeline once and adds it to per-day
counters (calls by channel, outcome and hour; per-step prompts, no-input, no-match, menu choices; jobs).
A marker makes it idempotent, so any number of writers (readers, the simulator, a rebuild) may call it.
A call's last turn only adds its id to a pending set (`keys.ANALYTICS_PENDING`, in its call write), and every
read here (`read_days`, `totals`, `settle_callbacks`: the admin pages, the API, /metrics) first counts what is
pending (`count_pending`), so reports are always complete. This keeps the counting (HGETALL, LRANGE of the
timeline, ~20 HINCRBY) out of the webhook request that ends the call.
Callback requests are followed in an "open" set and settled when they reach a final status (`settle_callbacks`).
Hours and days are UTC.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

import redis

from ivr.store import as_text, keys

FINAL_CALLBACK = {"completed", "failed", "refused"}


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d")


def record_call_finished(conn: redis.Redis, call_id: str) -> bool:
    """Count a finished call once. False when it is unknown, still running, or counted already."""
    return record_calls_finished(conn, [call_id]) == 1


def count_pending(conn: redis.Redis, batch: int = 500) -> int:
    """Count the finished calls marked pending (any process may run this at any time). Returns how many were new."""
    counted = 0
    while True:
        call_ids = [as_text(c) for c in conn.srandmember(keys.ANALYTICS_PENDING, batch)]
        if not call_ids:
            return counted
        counted += record_calls_finished(conn, call_ids)
        conn.srem(keys.ANALYTICS_PENDING, *call_ids)  # after counting: a crash in between only re-tries (markers)
        if len(call_ids) < batch:
            return counted


def record_calls_finished(conn: redis.Redis, call_ids: list[str]) -> int:
    """Count many finished calls in three round trips (rebuilds, bulk imports). Returns how many were new."""
    with conn.pipeline(transaction=False) as p:
        for call_id in call_ids:
            p.hgetall(keys.call(call_id))
            p.lrange(keys.call_timeline(call_id), 0, -1)
        rows = p.execute()
    finished = []
    for call_id, raw, timeline in zip(call_ids, rows[::2], rows[1::2]):
        call = {as_text(k): as_text(v) for k, v in raw.items()}
        if call.get("ended_at") and call.get("started_at"):
            finished.append((call_id, call, timeline))
    with conn.pipeline(transaction=False) as p:
        for call_id, _, _ in finished:
            p.set(keys.analytics_counted(call_id), 1, nx=True, ex=keys.CALL_RETENTION)
        fresh = p.execute()
    counted = 0
    with conn.pipeline() as p:
        for (_call_id, call, timeline), is_new in zip(finished, fresh):
            if is_new:
                _add(p, call, timeline)
                counted += 1
        p.execute()
    return counted


def _add(p, call: dict, timeline: list) -> None:
    """Queue on pipeline `p` the counter increments of one finished call."""
    started = float(call["started_at"])
    day, hour = day_of(started), datetime.fromtimestamp(started, timezone.utc).hour
    totals: dict[str, int] = defaultdict(int)
    steps: dict[str, int] = defaultdict(int)
    flow = call.get("flow_id", "")
    for name in ("total", f"channel:{call.get('channel', '')}", f"outcome:{call.get('outcome', '')}", f"hour:{hour}"):
        totals[name] += 1
    callbacks = []
    asking, heard = "", False  # the step that gathered last, and whether its answer was speech
    for entry in (json.loads(e) for e in timeline):
        data = entry.get("data", {})
        if entry.get("kind") == "event":
            totals["turns"] += 1
            heard = data.get("type") == "speech"
            if heard and asking:
                steps[f"{flow}|{asking}|speech"] += 1
            continue
        kind = data.get("type")
        if kind == "gather":
            asking = data.get("step", "")
            steps[f"{flow}|{asking}|asked"] += 1
        elif kind == "job":
            totals[f"job:{data.get('kind', '')}"] += 1
            if data.get("kind") == "callback":
                callbacks.append(data.get("idempotency_key", ""))
        elif kind == "log":
            event, step = data.get("event"), data.get("data", {}).get("step", "")
            if event in ("no_input", "no_match", "exhausted"):
                steps[f"{flow}|{step}|{event}"] += 1
                if event == "no_match" and heard:
                    steps[f"{flow}|{step}|speech_no_match"] += 1
            elif event == "menu_choice":
                steps[f"{flow}|{step}|choice:{data['data'].get('choice', '')}"] += 1
            elif event == "step":
                steps[f"{flow}|{step}|visits"] += 1
    totals["callback:requested"] += len(callbacks)
    path = json.loads(call.get("path") or "[]")
    for here, there in zip(path, path[1:]):  # the flow graph's funnel: calls per edge
        steps[f"{flow}|{here}|to:{there}"] += 1
    _queue_counts(p, day, totals, steps)
    for request_id in filter(None, callbacks):
        p.zadd(keys.ANALYTICS_OPEN_CALLBACKS, {request_id: started}, nx=True)


def _queue_counts(p, day: str, totals: dict[str, int], steps: dict[str, int]) -> None:
    for name, count in totals.items():
        p.hincrby(keys.analytics_day(day), name, count)
        p.hincrby(keys.ANALYTICS_TOTALS, name, count)
    for name, count in steps.items():
        p.hincrby(keys.analytics_steps(day), name, count)
    for key in (keys.analytics_day(day), keys.analytics_steps(day)):
        p.expire(key, keys.ANALYTICS_RETENTION)


def settle_callbacks(conn: redis.Redis, now: float, limit: int = 5000) -> int:
    """Count callback requests that reached a final status since the last look. Returns how many settled."""
    count_pending(conn)  # a pending call's callback requests join the open set first
    opened = conn.zrange(keys.ANALYTICS_OPEN_CALLBACKS, 0, limit - 1, withscores=True)
    if not opened:
        return 0
    with conn.pipeline(transaction=False) as p:
        for request_id, _ in opened:
            p.hget(keys.callback(as_text(request_id)), "status")
        statuses = p.execute()
    settled = 0
    with conn.pipeline() as p:
        for (request_id, at), status in zip(opened, statuses):
            status = as_text(status) if status is not None else None
            expired = status is None and now - at > keys.CALLBACK_RETENTION
            if status in FINAL_CALLBACK or expired:
                name = f"callback:{status or 'expired'}"
                p.hincrby(keys.analytics_day(day_of(at)), name, 1)
                p.hincrby(keys.ANALYTICS_TOTALS, name, 1)
                p.zrem(keys.ANALYTICS_OPEN_CALLBACKS, request_id)
                settled += 1
        p.execute()
    return settled


def day_range(first: date, last: date) -> list[str]:
    count = max((last - first).days, 0) + 1
    return [(first + timedelta(days=i)).isoformat() for i in range(min(count, 400))]


def read_days(conn: redis.Redis, days: list[str]) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Per-day counters and the step counters summed over `days` (one pipelined round trip after the pending calls)."""
    count_pending(conn)
    with conn.pipeline(transaction=False) as p:
        for day in days:
            p.hgetall(keys.analytics_day(day))
            p.hgetall(keys.analytics_steps(day))
        rows = p.execute()
    per_day, steps = {}, defaultdict(int)
    for day, counters, step_counters in zip(days, rows[::2], rows[1::2]):
        per_day[day] = {as_text(k): int(v) for k, v in counters.items()}
        for k, v in step_counters.items():
            steps[as_text(k)] += int(v)
    return per_day, dict(steps)


def edge_counts(conn: redis.Redis, flow_id: str, days: list[str]) -> dict[tuple[str, str], int]:
    """Calls that went from one step straight to another over `days`: {(step, next step): calls}."""
    _, steps = read_days(conn, days)
    out: dict[tuple[str, str], int] = {}
    for name, count in steps.items():
        flow, step, metric = name.split("|", 2)
        if flow == flow_id and metric.startswith("to:"):
            out[(step, metric[3:])] = count
    return out


def totals(conn: redis.Redis) -> dict[str, int]:
    count_pending(conn)
    return {as_text(k): int(v) for k, v in conn.hgetall(keys.ANALYTICS_TOTALS).items()}
