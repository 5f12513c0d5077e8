"""Hold queues (the queue step): who waits in each queue, since when and in which place, shared by every node.

A queue is a sorted set of call ids scored by the time each joined, so a caller's place is their rank, the same
from any process. The channel holding a caller touches its entry whenever it asks for the place; an entry not
touched for `keys.QUEUE_STALE` seconds (its node died) is dropped, so one lost node never blocks a queue. A call
that ends leaves at once (`leave`). The admin's live queue reads `snapshot`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis

from ivr.store import keys

ENTRY_TTL = keys.QUEUE_STALE * 4  # the keys of a queue nobody touches any more expire on their own


@dataclass(frozen=True)
class Waiting:
    """One caller in a queue, as the admin shows them."""

    call_id: str
    caller: str
    position: int
    joined_at: float
    status: str  # "waiting", "ringing <contact>", "whisper <contact>"

    def waited(self, now: float) -> float:
        return max(0.0, now - self.joined_at)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class QueueBoard:
    """The queues in Redis; `conn` is passed in, every key name comes from `keys`."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn

    def join(self, name: str, call_id: str, caller: str, at: float, node: str = "", since: float | None = None) -> int:
        """Put `call_id` in line at time `at` (a second join keeps its first place); its place, from 1. `since`:
        when it really joined, if earlier (Twilio tells how long a caller has waited)."""
        since = at if since is None else since
        entry = json.dumps({"caller": caller, "joined_at": since, "node": node, "status": "waiting"})
        with self.conn.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.queue_waiting(name), {call_id: since}, nx=True)
            pipe.zadd(keys.queue_seen(name), {call_id: at})
            pipe.hsetnx(keys.queue_callers(name), call_id, entry)
            pipe.zadd(keys.QUEUES, {name: at})
            for key in (keys.queue_waiting(name), keys.queue_seen(name), keys.queue_callers(name)):
                pipe.expire(key, ENTRY_TTL)
            pipe.execute()
        return self.position(name, call_id, at)

    def position(self, name: str, call_id: str, at: float) -> int:
        """The caller's place (1 = next to be put through), touching their entry; 0 if they are not in line."""
        self._drop_stale(name, at)
        with self.conn.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.queue_seen(name), {call_id: at}, xx=True)
            pipe.zrank(keys.queue_waiting(name), call_id)
            pipe.expire(keys.queue_waiting(name), ENTRY_TTL)
            rank = pipe.execute()[1]
        return 0 if rank is None else int(rank) + 1

    def note(self, name: str, call_id: str, status: str) -> None:
        """What is happening for a waiting caller (ringing a contact...), for the admin."""
        raw = self.conn.hget(keys.queue_callers(name), call_id)
        if raw is None:
            return
        entry = json.loads(raw)
        entry["status"] = status
        self.conn.hset(keys.queue_callers(name), call_id, json.dumps(entry))

    def leave(self, name: str, call_id: str) -> None:
        with self.conn.pipeline(transaction=True) as pipe:
            pipe.zrem(keys.queue_waiting(name), call_id)
            pipe.zrem(keys.queue_seen(name), call_id)
            pipe.hdel(keys.queue_callers(name), call_id)
            pipe.execute()

    def claim_ring(self, name: str, call_id: str, slot: int) -> bool:
        """True once per (caller, ring slot): only one of the wait requests of a slot calls the contacts."""
        return bool(self.conn.set(keys.queue_ring(name, call_id, slot), "1", nx=True, ex=ENTRY_TTL))

    def _drop_stale(self, name: str, at: float) -> None:
        stale = self.conn.zrangebyscore(keys.queue_seen(name), "-inf", at - keys.QUEUE_STALE)
        for call_id in stale:
            self.leave(name, _text(call_id))

    def waiting(self, name: str, at: float) -> list[Waiting]:
        """Everyone in line, in order."""
        self._drop_stale(name, at)
        ids = [_text(c) for c in self.conn.zrange(keys.queue_waiting(name), 0, -1)]
        raw = self.conn.hmget(keys.queue_callers(name), ids) if ids else []
        found = []
        for place, (call_id, blob) in enumerate(zip(ids, raw), 1):
            entry = json.loads(blob) if blob else {}
            joined = float(entry.get("joined_at") or 0.0)
            found.append(Waiting(call_id, entry.get("caller", ""), place, joined, entry.get("status", "waiting")))
        return found

    def snapshot(self, at: float) -> dict[str, list[Waiting]]:
        """Every queue touched in the last hour with its callers, busiest first; empty queues left out."""
        names = [_text(n) for n in self.conn.zrangebyscore(keys.QUEUES, at - 3600, "+inf")]
        queues = {name: self.waiting(name, at) for name in names}
        return dict(sorted(((n, w) for n, w in queues.items() if w), key=lambda item: (-len(item[1]), item[0])))
