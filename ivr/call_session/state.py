"""A call's state between turns: the blob, where its copies are kept, which copy wins, and its one encoding.

The blob is `{"call_id", "version", "state", "turns"}`: the engine state and, per recent turn id, that turn's
actions (so a repeated turn is answered the same). `version` grows by one per turn. Copies live in Redis
(store.sessions), in the local spool while Redis is or was down, and in this process's memory (the last resort
if the disk fails too); `StateCopies.load` picks the newest. Each turn's actions are kept as the JSON text they
were encoded to when the turn ran (`encode_actions`): the blob carries them verbatim afterwards, and the
timeline entries of that turn are built from the same texts, so an action is encoded once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from ivr.call_session.health import UNAVAILABLE, RedisHealth
from ivr.call_session.local_spool import LocalSpool
from ivr.engine import actions as A
from ivr.store.sessions import SessionStore

log = logging.getLogger(__name__)

START_TURN = "__start__"
TURNS_KEPT = 8  # actions of the most recent turns, for turn_id dedup (retries are of recent turns)
MEMORY_KEPT = 5000  # calls whose latest state this process also keeps in memory (last resort if disk fails too)

_ENCODE = json.JSONEncoder(sort_keys=True).encode  # one encoder for every action (json.dumps builds one per call)


def encode_actions(actions: list[A.Action]) -> list[str]:
    """Each action's JSON text, encoded once per turn (turn cache and timeline share it)."""
    return [_ENCODE(A.to_dict(a)) for a in actions]


def new_blob(call_id: str) -> dict:
    return {"call_id": call_id, "version": 0, "state": None, "turns": {}}


def next_blob(blob: dict, state: dict, turn_id: str, action_texts: list[str]) -> dict:
    """The blob after a turn: the new state and, among the recent turns, this one's actions (as JSON text)."""
    turns = dict(blob.get("turns", {}))
    turns[turn_id] = "[" + ", ".join(action_texts) + "]"
    if len(turns) > TURNS_KEPT:  # dicts keep insertion order: drop the oldest, but never the start turn
        for old in [t for t in turns if t != START_TURN][: len(turns) - TURNS_KEPT]:
            del turns[old]
    return {"call_id": blob["call_id"], "version": blob["version"] + 1, "state": state, "turns": turns}


def encode(blob: dict) -> str:
    return json.dumps(blob)


def cached_actions(blob: dict, turn_id: str) -> list[A.Action] | None:
    """The actions a turn answered with, if it is one of the recent turns."""
    found = blob.get("turns", {}).get(turn_id)
    if found is None:
        return None
    items = json.loads(found) if isinstance(found, str) else found  # a list: a blob saved before the texts
    return [A.action_from_dict(d) for d in items]


class StateCopies:
    """Loads the newest copy of a call's blob and remembers the latest in memory."""

    def __init__(self, sessions: SessionStore, spool: LocalSpool, health: RedisHealth):
        self.sessions, self.spool, self.health = sessions, spool, health
        # JSON text, not dicts: thousands of nested dicts would make every full garbage collection pause calls
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, call_id: str, spool_used: bool, catch_up: Callable[[], None]) -> dict | None:
        """The newest of the copies; `catch_up` replays the spool first when Redis is back after an outage."""
        try:
            in_redis = self._from_redis(call_id)
            if spool_used and self.spool.pending():  # Redis is back: catch up first, briefly at most
                catch_up()
                in_redis = self._from_redis(call_id)
        except UNAVAILABLE:
            in_redis = None
        spooled = self.spool.load_state(call_id) if spool_used else None
        with self._lock:
            remembered_text = self._memory.get(call_id)
        remembered = None if remembered_text is None else json.loads(remembered_text)
        candidates = [b for b in (in_redis, spooled, remembered) if b is not None]
        return max(candidates, key=lambda b: b["version"]) if candidates else None

    def _from_redis(self, call_id: str) -> dict | None:
        with self.health.guard():
            return self.sessions.load(call_id)

    def remembers(self, call_id: str) -> bool:
        with self._lock:
            return call_id in self._memory

    def remember(self, call_id: str, encoded_blob: str) -> None:
        with self._lock:
            self._memory[call_id] = encoded_blob
            self._memory.move_to_end(call_id)
            while len(self._memory) > MEMORY_KEPT:
                self._memory.popitem(last=False)
