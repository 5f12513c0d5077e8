"""One turn of a call, for any channel: load the state, `advance`, save the state, queue the jobs, record it all.

Channels call `start(...)` when a call arrives and `turn(call_id, event, turn_id)` for each event. A repeated
`turn_id` (Twilio retries a webhook) returns the same actions and queues nothing new; an unknown or expired call
gets a polite goodbye. If Redis is down the call goes on: the flow comes from the process's FlowRepository cache,
the state and the turn's writes go to the local spool, which is replayed in order once Redis answers again
(see turn_writes.py). While the spool holds entries, new writes join it too, so a call's timeline stays in order.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from typing import Callable

import redis
from rq import Queue

from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from ivr.store import UNAVAILABLE
from ivr.store.call_writes import CallWriter
from ivr.store.sessions import SessionStore
from ivr.store.spool import Spool
from ivr.turn_writes import KIND, apply_turn, new_write, replay_spool

log = logging.getLogger(__name__)

GOODBYE = "Sorry, this call can no longer be continued. Please call again. Goodbye."
START_TURN = "__start__"
DOWN_BACKOFF = 2.0  # seconds
REPLAY_BUDGET = 0.5  # seconds a turn may spend replaying the spool once Redis is back
TURNS_KEPT = 8  # actions of the most recent turns, for turn_id dedup (retries are of recent turns)
MEMORY_KEPT = 5000  # calls whose latest state this process also keeps in memory (last resort if disk fails too)

_ACTION_TYPES = {cls.__dataclass_fields__["type"].default: cls
                 for cls in (A.Say, A.Gather, A.Job, A.Transfer, A.Record, A.Hangup, A.Log)}


def _goodbye(reason: str, text: str = GOODBYE) -> list[A.Action]:
    return [A.Say(text=text, barge_in=False), A.Hangup(reason=reason)]


def _recreatable(write: dict, blob: dict) -> dict:
    """A spooled write also carries the call's start fields, from its engine state: if Redis lost the call's
    record meanwhile, the replay recreates a listable call rather than an orphan without caller or start time."""
    state = blob.get("state") or {}
    if write.get("start") or "started_at" not in state:
        return write
    fields = ("channel", "caller", "called", "started_at", "flow_id")
    return {**write, "recreate": {name: state.get(name) or "" for name in fields}}


def action_from_dict(data: dict) -> A.Action:
    cls = _ACTION_TYPES[data["type"]]
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in data.items() if k != "type"}
    return cls(**kwargs)


class CallSession:
    def __init__(self, flows, *, redis_conn: redis.Redis, queue: Queue, spool: Spool, default_flow: str,
                 sessions: SessionStore | None = None, fallback_text: str = GOODBYE,
                 clock: Callable[[], float] = time.monotonic):
        self.flows = flows  # ivr.flows.FlowRepository
        self.fallback_text = fallback_text  # said when the flow cannot run at all (settings.fallback_message)
        self.redis = redis_conn
        self.queue = queue
        self.spool = spool
        self.default_flow = default_flow
        self.sessions = sessions or SessionStore(redis_conn)
        self.writer = CallWriter(redis_conn)
        self._replaying = threading.Lock()
        self._clock = clock  # for the Redis breaker below (tests step it instead of waiting)
        self._down_until = 0.0  # after a failure, skip Redis for a moment instead of waiting on it every turn
        # JSON text, not dicts: thousands of nested dicts would make every full garbage collection pause calls
        self._memory: OrderedDict[str, str] = OrderedDict()
        self._memory_lock = threading.Lock()

    def _redis(self, operation, *args):
        """Run a Redis operation, raising UNAVAILABLE at once while Redis is known to be down."""
        if self._clock() < self._down_until:
            raise redis.ConnectionError("redis marked down")
        try:
            return operation(*args)
        except UNAVAILABLE:
            self._down_until = self._clock() + DOWN_BACKOFF
            raise

    # the contract
    def start(self, *, call_id: str, channel: str, caller: str, called: str, at: float,
              flow_id: str | None = None) -> list[A.Action]:
        # A retried first request finds the call's state. Usually (the spool empty, the call unknown here) the
        # write itself checks that, atomically: one round trip for the whole first turn.
        spool_used = not self._spool_empty()  # looked at once per turn: usually the only spool I/O
        quick = not spool_used and not self._remembers(call_id)
        blob = None if quick else self._load(call_id, spool_used)
        if blob is not None:  # the channel retried the call's first request
            return self._cached(blob, START_TURN) or []
        event = E.CallStarted(call_id=call_id, caller=caller, called=called, channel=channel, at=at)
        blob = {"call_id": call_id, "version": 0, "state": None, "turns": {}}
        start = {"channel": channel, "caller": caller, "called": called, "started_at": at,
                 "flow_id": flow_id or self.default_flow}
        try:
            flow = self.flows.get(flow_id or self.default_flow)
        except Exception as exc:  # no such flow, or it cannot be loaded: apologise, record it, never crash
            log.error("call %s: cannot load flow %s: %s", call_id, start["flow_id"], exc)
            state = {"call_id": call_id, "flow_id": start["flow_id"], "done": True, "waiting": None,
                     "outcome": "error", "path": []}
            actions = [A.Log(event="error", data={"error": f"cannot load flow: {exc}"}),
                       *_goodbye("error", self.fallback_text)]
        else:
            state, actions = advance(flow, None, event)
        existing = self._commit(blob, state, event, actions, START_TURN, spool_used, start=start)
        return actions if existing is None else self._cached(existing, START_TURN) or []

    def turn(self, call_id: str, event, turn_id: str | None = None) -> list[A.Action]:
        spool_used = not self._spool_empty()
        blob = self._load(call_id, spool_used)
        if blob is None or not blob.get("state"):
            return _goodbye("unknown-call")
        if turn_id is not None:
            cached = self._cached(blob, turn_id)
            if cached is not None:
                return cached
        state = blob["state"]
        try:
            flow = self.flows.get(state["flow_id"], state.get("revision"))
        except Exception as exc:  # the pinned revision vanished: end the call politely, do not crash the channel
            log.error("call %s: cannot load flow %s@%s: %s", call_id, state.get("flow_id"), state.get("revision"), exc)
            return _goodbye("error", self.fallback_text)
        new_state, actions = advance(flow, state, event)
        self._commit(blob, new_state, event, actions, turn_id or f"v{blob['version'] + 1}", spool_used)
        return actions

    # persistence
    def _cached(self, blob: dict, turn_id: str) -> list[A.Action] | None:
        found = blob.get("turns", {}).get(turn_id)
        return None if found is None else [action_from_dict(d) for d in found]

    def _load(self, call_id: str, spool_used: bool) -> dict | None:
        try:
            in_redis = self._redis(self.sessions.load, call_id)
            if spool_used and self._spool(self.spool.pending):  # Redis is back: catch up first, briefly at most
                self._catch_up()
                in_redis = self._redis(self.sessions.load, call_id)
        except UNAVAILABLE:
            in_redis = None
        spooled = self._spool(self.spool.load_state, call_id) if spool_used else None
        with self._memory_lock:
            remembered_text = self._memory.get(call_id)
        remembered = None if remembered_text is None else json.loads(remembered_text)
        candidates = [b for b in (in_redis, spooled, remembered) if b is not None]
        return max(candidates, key=lambda b: b["version"]) if candidates else None

    def _commit(self, blob: dict, state: dict, event, actions: list, turn_id: str, spool_used: bool,
                start: dict | None = None) -> dict | None:
        """Save the turn. A first turn (`start`) is only written if the call is new; else the call's blob is
        returned (the first request was delivered twice) and nothing is written."""
        was_done = bool((blob.get("state") or {}).get("done"))
        version = blob["version"] + 1
        action_dicts = [A.to_dict(a) for a in actions]
        turns = dict(blob.get("turns", {}))
        turns[turn_id] = action_dicts
        if len(turns) > TURNS_KEPT:  # dicts keep insertion order: drop the oldest, but never the start turn
            for old in [t for t in turns if t != START_TURN][: len(turns) - TURNS_KEPT]:
                del turns[old]
        new_blob = {"call_id": blob["call_id"], "version": version, "state": state, "turns": turns}

        write = new_write(blob["call_id"], version, at=event.at)
        write["start"] = start
        write["timeline"] = [{"at": event.at, "kind": "event", "data": E.to_dict(event)}] + [
            {"at": event.at, "kind": "action", "data": d} for d in action_dicts]
        write["jobs"] = [{"job_id": a.idempotency_key, "kind": a.kind, "payload": a.payload}
                         for a in actions if isinstance(a, A.Job)]
        write["path"] = list(state.get("path", [])) if state else None
        if state and state.get("done") and not was_done:
            write["finish"] = {"ended_at": event.at, "outcome": state.get("outcome") or "completed",
                               "path": list(state.get("path", []))}
        # The write and the state in one script call (or, while the spool is in use, the write first: if the
        # process dies in between, a retried turn re-runs from the old state and queues the same (deterministic)
        # job ids, which are then skipped; the jobs are never lost).
        encoded = json.dumps(new_blob)
        existing = self._save(write, new_blob, encoded, spool_used, create=start is not None)
        if existing is None:
            self._remember(blob["call_id"], encoded)
        return existing

    def _remembers(self, call_id: str) -> bool:
        with self._memory_lock:
            return call_id in self._memory

    def _remember(self, call_id: str, encoded_blob: str) -> None:
        with self._memory_lock:
            self._memory[call_id] = encoded_blob
            self._memory.move_to_end(call_id)
            while len(self._memory) > MEMORY_KEPT:
                self._memory.popitem(last=False)

    def _save_state(self, blob: dict) -> None:
        try:
            self._redis(self.sessions.save, blob)
        except Exception as exc:  # unavailable (or any Redis error): keep it locally, the call goes on
            if not isinstance(exc, UNAVAILABLE):
                log.exception("call %s: saving the state failed", blob["call_id"])
            self._spool(self.spool.save_state, blob)
            return
        self._drop_spooled_state(blob)

    def _save(self, write: dict, blob: dict, encoded_blob: str, spool_used: bool,
              create: bool = False) -> dict | None:
        """Returns the call's blob found in Redis when `create` and the call exists (nothing written)."""
        if spool_used and self._spool(self.spool.pending):  # keep order: join the spooled writes
            self._spool(self.spool.append, write["id"], KIND, _recreatable(write, blob))
            self.replay_in_background()
            self._save_state(blob)
            return None
        try:
            result = self._redis(apply_turn, self.redis, self.queue, write, blob, encoded_blob, self.writer, create)
        except Exception as exc:  # unavailable, or an unexpected Redis error: spool it (a replay retries it)
            log.warning("call %s: spooling its writes: %s: %s", write["call_id"], type(exc).__name__, exc)
            self._spool(self.spool.append, write["id"], KIND, _recreatable(write, blob))
            self._save_state(blob)
            return None
        if result.existing is not None:
            return result.existing
        if result.state_stored:
            if spool_used:
                self._spool(self.spool.drop_state, blob["call_id"], blob["version"])
        else:  # the write is in Redis but not the state: keep the state locally, as _save_state does
            self._spool(self.spool.save_state, blob)
        return None

    def _spool_empty(self) -> bool:
        """While Redis is healthy the spool is empty, and a turn then does no spool I/O at all."""
        return bool(self._spool(self.spool.is_empty))

    def _drop_spooled_state(self, blob: dict) -> None:
        if not self._spool_empty():
            self._spool(self.spool.drop_state, blob["call_id"], blob["version"])

    def _spool(self, operation, *args):
        """A spool operation; if even the local disk fails, the call goes on (and the loss is logged)."""
        try:
            return operation(*args)
        except Exception:
            log.exception("spool %s failed", getattr(operation, "__name__", operation))
            return None

    # replay
    def replay(self) -> int:
        """Replay the spool now (in this thread). Returns the number of entries applied."""
        with self._replaying:
            return replay_spool(self.spool, self.redis, self.queue)

    def _catch_up(self) -> None:
        """Replay the spool for up to REPLAY_BUDGET seconds in this turn, then go on in the background."""
        if self._replaying.acquire(blocking=False):
            try:
                replay_spool(self.spool, self.redis, self.queue, budget=REPLAY_BUDGET)
            except Exception:  # never let the catch-up fail the turn
                log.exception("spool replay failed")
            finally:
                self._replaying.release()
        if self._spool(self.spool.pending):
            self.replay_in_background()

    def replay_in_background(self) -> None:
        if self._replaying.locked():
            return
        threading.Thread(target=self._replay_quietly, name="spool-replay", daemon=True).start()

    def _replay_quietly(self) -> None:
        try:
            if self._replaying.acquire(blocking=False):
                try:
                    replay_spool(self.spool, self.redis, self.queue)
                finally:
                    self._replaying.release()
        except Exception:  # a replay failure must never disturb calls; the next turn tries again
            log.exception("spool replay failed")
