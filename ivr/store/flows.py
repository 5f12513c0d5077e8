"""Flows and their revisions: every saved revision is immutable YAML text; one revision per flow is published.

Revisions are numbered 1, 2, 3... per flow (an atomic INCR, so two editors never get the same number) and are
written once, never changed. Publishing and rolling back only move the `published` pointer and append to the
flow's history. Kept forever (`keys.FLOW_RETENTION`): the history is the audit trail.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import redis

from ivr.store import as_text, keys


class RevisionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class FlowRevision:
    flow_id: str
    rev: int
    yaml_text: str
    message: str
    author: str
    created_at: float


class FlowStore:
    def __init__(self, conn: redis.Redis):
        self.conn = conn

    def save_revision(
        self, flow_id: str, yaml_text: str, message: str = "", author: str = "", at: float | None = None
    ) -> int:
        """Store a new immutable revision (not published) and return its number."""
        rev = int(self.conn.incr(keys.flow_revision_counter(flow_id)))
        key = keys.flow_revision(flow_id, rev)
        with self.conn.pipeline() as p:
            p.hsetnx(key, "yaml", yaml_text)  # the number is fresh, but never overwrite a revision regardless
            p.hsetnx(key, "message", message)
            p.hsetnx(key, "author", author)
            p.hsetnx(key, "created_at", repr(time.time() if at is None else float(at)))
            p.zadd(keys.flow_revisions(flow_id), {str(rev): rev})
            p.sadd(keys.FLOW_IDS, flow_id)
            p.execute()
        return rev

    def get_revision(self, flow_id: str, rev: int) -> FlowRevision | None:
        raw = self.conn.hgetall(keys.flow_revision(flow_id, int(rev)))
        if not raw:
            return None
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        return FlowRevision(
            flow_id,
            int(rev),
            data.get("yaml", ""),
            data.get("message", ""),
            data.get("author", ""),
            float(data.get("created_at") or 0),
        )

    def list_revisions(self, flow_id: str) -> list[FlowRevision]:
        """Newest first."""
        revs = self.conn.zrevrange(keys.flow_revisions(flow_id), 0, -1)
        found = (self.get_revision(flow_id, int(r)) for r in revs)
        return [r for r in found if r is not None]

    def published_rev(self, flow_id: str) -> int | None:
        raw = self.conn.get(keys.flow_published(flow_id))
        return None if raw is None else int(raw)

    def get_published(self, flow_id: str) -> FlowRevision | None:
        rev = self.published_rev(flow_id)
        return None if rev is None else self.get_revision(flow_id, rev)

    def publish(
        self, flow_id: str, rev: int, author: str = "", at: float | None = None, action: str = "publish"
    ) -> None:
        if not self.conn.exists(keys.flow_revision(flow_id, int(rev))):
            raise RevisionNotFound(f"flow {flow_id!r} has no revision {rev}")
        entry = {
            "action": action,
            "rev": int(rev),
            "author": author,
            "at": time.time() if at is None else float(at),
            "previous": self.published_rev(flow_id),
        }
        with self.conn.pipeline() as p:
            p.set(keys.flow_published(flow_id), int(rev))
            p.rpush(keys.flow_history(flow_id), json.dumps(entry))
            p.execute()

    def rollback(self, flow_id: str, to_rev: int | None = None, author: str = "", at: float | None = None) -> int:
        """Publish `to_rev`, or else the newest once-published revision older than the current one. Returns it."""
        if to_rev is None:
            current = self.published_rev(flow_id)
            earlier = [e["rev"] for e in self.history(flow_id) if current is not None and e["rev"] < current]
            if not earlier:
                raise RevisionNotFound(f"flow {flow_id!r} has no earlier published revision")
            to_rev = max(earlier)
        self.publish(flow_id, int(to_rev), author=author, at=at, action="rollback")
        return int(to_rev)

    def history(self, flow_id: str) -> list[dict]:
        """Publish/rollback entries, oldest first."""
        return [json.loads(e) for e in self.conn.lrange(keys.flow_history(flow_id), 0, -1)]

    # The RevisionSource protocol of ivr.flows.FlowRepository (revision ids are strings there).
    def published(self, flow_id: str) -> tuple[str, str] | None:
        found = self.get_published(flow_id)
        return None if found is None else (str(found.rev), found.yaml_text)

    def revision_text(self, flow_id: str, revision: str) -> str | None:
        if not str(revision).isdigit():
            return None
        found = self.get_revision(flow_id, int(revision))
        return None if found is None else found.yaml_text

    def flow_ids(self) -> list[str]:
        return sorted(as_text(f) for f in self.conn.smembers(keys.FLOW_IDS))
