"""Callback requests: a caller asked to be called back. A queue ordered by request time, with every attempt kept.

A request is a hash (`keys.callback`); while pending it also sits in `keys.CALLBACK_QUEUE` scored by request time,
so its position is its rank there. Refused numbers get a record with the reason and never enter the queue.
Rate limits are counted by the phone-number policy (store.phone_limits). Kept `keys.CALLBACK_RETENTION` after a change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

import redis

from ivr.store import as_text, hgetall_many, keys


class CallbackStatus(StrEnum):
    PENDING = "pending"  # waiting in the queue (scheduled_for says when it will be tried)
    DIALING = "dialing"
    COMPLETED = "completed"
    FAILED = "failed"  # attempts exhausted
    REFUSED = "refused"  # toll-fraud guard or rate limit: never dialled


@dataclass
class CallbackRequest:
    id: str
    number: str
    call_id: str = ""
    status: str = CallbackStatus.PENDING
    requested_at: float = 0.0
    scheduled_for: float | None = None
    reason: str = ""
    attempts: list[dict] = field(default_factory=list)
    position: int | None = None  # 1-based place in the queue while pending
    connect_to: str = ""  # optional number/SIP URI the answered callback is put through to


def _request(request_id: str, raw: dict, rank: int | None) -> CallbackRequest | None:
    if not raw:
        return None
    data = {as_text(k): as_text(v) for k, v in raw.items()}
    return CallbackRequest(
        id=request_id,
        number=data.get("number", ""),
        call_id=data.get("call_id", ""),
        status=data.get("status", ""),
        requested_at=float(data.get("requested_at") or 0),
        scheduled_for=float(data["scheduled_for"]) if data.get("scheduled_for") else None,
        reason=data.get("reason", ""),
        attempts=json.loads(data.get("attempts") or "[]"),
        position=None if rank is None else int(rank) + 1,
        connect_to=data.get("connect_to", ""),
    )


class CallbackStore:
    def __init__(self, conn: redis.Redis, retention: int = keys.CALLBACK_RETENTION):
        self.conn = conn
        self.retention = retention

    def create(self, request_id: str, *, number: str, call_id: str, at: float, connect_to: str = "") -> bool:
        """Queue a request; False (and nothing changed) when this id already exists."""
        key = keys.callback(request_id)
        if not self.conn.hsetnx(key, "id", request_id):
            return False
        with self.conn.pipeline() as p:
            requested = _requested(number, call_id, CallbackStatus.PENDING, at)
            p.hset(key, mapping={**requested, "attempts": "[]", "connect_to": connect_to})
            p.expire(key, self.retention)
            p.zadd(keys.CALLBACK_QUEUE, {request_id: float(at)})
            p.execute()
        return True

    def refuse(self, request_id: str, *, number: str, call_id: str, at: float, reason: str) -> None:
        key = keys.callback(request_id)
        with self.conn.pipeline() as p:
            requested = _requested(number, call_id, CallbackStatus.REFUSED, at)
            p.hset(key, mapping={"id": request_id, **requested, "reason": reason})
            p.hsetnx(key, "attempts", "[]")
            p.expire(key, self.retention)
            p.zrem(keys.CALLBACK_QUEUE, request_id)
            p.execute()

    def get(self, request_id: str) -> CallbackRequest | None:
        with self.conn.pipeline(transaction=False) as p:
            p.hgetall(keys.callback(request_id))
            p.zrank(keys.CALLBACK_QUEUE, request_id)
            raw, rank = p.execute()
        return _request(request_id, raw, rank)

    def pending(self, limit: int = 100) -> list[CallbackRequest]:
        """The queue, oldest request first (two round trips, however long the queue)."""
        ids = [as_text(i) for i in self.conn.zrange(keys.CALLBACK_QUEUE, 0, max(limit, 1) - 1)]
        rows = hgetall_many(self.conn, [keys.callback(i) for i in ids])
        found = (_request(i, raw, rank) for rank, (i, raw) in enumerate(zip(ids, rows)))
        return [r for r in found if r is not None]

    def queued(self) -> int:
        """How many requests are waiting."""
        return int(self.conn.zcard(keys.CALLBACK_QUEUE))

    def schedule(self, request_id: str, when: float) -> None:
        self.conn.hset(keys.callback(request_id), "scheduled_for", repr(float(when)))

    def set_status(self, request_id: str, status: CallbackStatus, reason: str = "") -> None:
        key = keys.callback(request_id)
        with self.conn.pipeline() as p:
            p.hset(key, mapping={"status": str(status), "reason": reason})
            p.expire(key, self.retention)
            if status in (CallbackStatus.COMPLETED, CallbackStatus.FAILED, CallbackStatus.REFUSED):
                p.zrem(keys.CALLBACK_QUEUE, request_id)
            p.execute()

    def record_attempt(self, request_id: str, *, at: float, outcome: str, detail: str = "") -> int:
        """Append one dialling attempt; returns how many attempts there are now."""
        key = keys.callback(request_id)
        attempts = json.loads(as_text(self.conn.hget(key, "attempts") or b"[]"))
        attempts.append({"at": at, "outcome": outcome, "detail": detail})
        self.conn.hset(key, "attempts", json.dumps(attempts))
        return len(attempts)


def _requested(number: str, call_id: str, status: CallbackStatus, at: float) -> dict[str, str]:
    """The fields every request has from the start: who to call, for which call, its state and when asked."""
    return {"number": number, "call_id": call_id, "status": status, "requested_at": repr(float(at))}
