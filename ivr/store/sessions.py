"""Per-call engine state in Redis: the JSON state plus the actions of recent turns (for turn_id dedup).

The blob carries a `version` that grows by one per turn; a save never replaces a newer version, so a copy replayed
from the local spool after a Redis outage cannot overwrite a later turn. Kept `keys.STATE_TTL` after the last turn.
"""
from __future__ import annotations

import json

import redis

from ivr.store import keys

# Compare-and-set on the blob's version, atomically inside Redis.
_SAVE_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and decoded['version'] and tonumber(decoded['version']) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


class SessionStore:
    def __init__(self, conn: redis.Redis, ttl: int = keys.STATE_TTL):
        self.conn = conn
        self.ttl = ttl
        self._save = conn.register_script(_SAVE_IF_NEWER)

    def save_on(self, pipe, blob: dict) -> None:
        """Queue the same save on `pipe` (a turn's MULTI pipeline, so the state goes with the turn's writes).
        EVAL with the script's text, not EVALSHA: a NOSCRIPT error inside a transaction could not be retried."""
        pipe.eval(_SAVE_IF_NEWER, 1, keys.call_state(blob["call_id"]), json.dumps(blob), int(blob["version"]), self.ttl)

    def load(self, call_id: str) -> dict | None:
        raw = self.conn.get(keys.call_state(call_id))
        return None if raw is None else json.loads(raw)

    def save(self, blob: dict) -> bool:
        """Store `blob` (with `call_id` and an int `version`) unless Redis holds that version or a newer one."""
        saved = self._save(keys=[keys.call_state(blob["call_id"])], args=[json.dumps(blob), int(blob["version"]), self.ttl])
        return bool(saved)

    def delete(self, call_id: str) -> None:
        self.conn.delete(keys.call_state(call_id))
