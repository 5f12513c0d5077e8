"""The audit log: who published, rolled back, saved, imported or changed what, and when.

Entries are JSON in one capped Redis list, newest first (`keys.AUDIT_KEPT` entries are kept).
"""

from __future__ import annotations

import json
import time

import redis

from ivr.store import keys


class AuditLog:
    def __init__(self, conn: redis.Redis):
        self.conn = conn

    def record(self, who: str, action: str, target: str, detail: str = "", at: float | None = None) -> dict:
        entry = {
            "at": time.time() if at is None else at,
            "who": who,
            "action": action,
            "target": target,
            "detail": detail,
        }
        with self.conn.pipeline() as p:
            p.lpush(keys.AUDIT_LOG, json.dumps(entry))
            p.ltrim(keys.AUDIT_LOG, 0, keys.AUDIT_KEPT - 1)
            p.execute()
        return entry

    def recent(self, limit: int = 200, target: str | None = None) -> list[dict]:
        entries = [json.loads(e) for e in self.conn.lrange(keys.AUDIT_LOG, 0, max(limit, 1) * (5 if target else 1))]
        if target is not None:
            entries = [e for e in entries if e["target"] == target]
        return entries[:limit]
