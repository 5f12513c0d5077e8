"""Per-call engine state in Redis: the JSON state plus the actions of recent turns (for turn_id dedup).

A hash (`keys.call_state`) with the blob and its `version`, which grows by one per turn; a save never replaces a
newer version, so a copy replayed from the local spool after a Redis outage cannot overwrite a later turn. The
version is a field of its own so the check never decodes the blob. Kept `keys.STATE_TTL` after the last turn.
A live turn saves its state inside its call write (store.call_writes), which includes SAVE_STATE_LUA.
"""

from __future__ import annotations

import json

import redis

from ivr.store import keys

# Compare-and-set on the version, atomically inside Redis. Returns 1 if stored, 0 if that version or a newer one
# is there already.
SAVE_STATE_LUA = """
local function save_state(key, blob, version, ttl)
  local current = redis.call('HGET', key, 'version')
  if current and tonumber(current) >= tonumber(version) then return 0 end
  redis.call('HSET', key, 'version', version, 'blob', blob)
  redis.call('EXPIRE', key, ttl)
  return 1
end
"""
BLOB = "blob"  # the hash field holding the JSON blob
_SAVE = SAVE_STATE_LUA + "return save_state(KEYS[1], ARGV[1], ARGV[2], ARGV[3])"


class SessionStore:
    def __init__(self, conn: redis.Redis, ttl: int = keys.STATE_TTL):
        self.conn = conn
        self.ttl = ttl
        self._save = conn.register_script(_SAVE)

    def load(self, call_id: str) -> dict | None:
        raw = self.conn.hget(keys.call_state(call_id), BLOB)
        return None if raw is None else json.loads(raw)

    def save(self, blob: dict) -> bool:
        """Store `blob` (with `call_id` and an int `version`) unless Redis holds that version or a newer one."""
        return bool(
            self._save(keys=[keys.call_state(blob["call_id"])], args=[json.dumps(blob), int(blob["version"]), self.ttl])
        )

    def delete(self, call_id: str) -> None:
        self.conn.delete(keys.call_state(call_id))
