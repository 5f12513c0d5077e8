"""What one call turn writes to Redis, as a JSON-able dict, and the route it takes there: Redis, or the spool.

A turn write holds the call record changes, timeline entries and follow-up jobs of one turn. It is applied in one
round trip, atomically (store.call_writes): follow-ups whose record already exists are skipped (so nothing is
queued twice), and a spooled write also sets a marker key so replaying it again is a no-op. While Redis is down
the same dict goes to the spool. The commands that queue a follow-up are built by call_session.followups from RQ's
public Job API and run inside the script.
"""

from __future__ import annotations

import json
import logging
import time

import redis
from rq import Queue

from ivr.call_session import followups
from ivr.call_session.health import UNAVAILABLE, RedisHealth
from ivr.call_session.local_spool import KIND, LocalSpool
from ivr.engine import events as E
from ivr.store import Unconfirmed
from ivr.store.call_writes import Applied, CallWriter, FollowupGroup
from ivr.store.sessions import SessionStore
from ivr.store.spool import Spool

log = logging.getLogger(__name__)

_ENCODE = json.JSONEncoder(sort_keys=True).encode


def new_write(call_id: str, version: int, at: float | None = None) -> dict:
    return {
        "id": f"{call_id}:v{version}",
        "call_id": call_id,
        "at": time.time() if at is None else at,
        "start": None,
        "timeline": [],
        "jobs": [],
        "path": None,
        "finish": None,
    }


def turn_write(blob: dict, state: dict, event, actions: list, action_texts: list[str], *, start: dict | None) -> dict:
    """The write of the turn that took `blob` (the state before it) to `state`. Timeline entries are JSON text,
    the actions' from `action_texts` (the same texts as the turn cache)."""
    write = new_write(blob["call_id"], blob["version"] + 1, at=event.at)
    at = _ENCODE(event.at)
    write["start"] = start
    write["timeline"] = [_ENCODE({"at": event.at, "kind": "event", "data": E.to_dict(event)})] + [
        f'{{"at": {at}, "data": {text}, "kind": "action"}}' for text in action_texts
    ]
    write["jobs"] = [
        {"job_id": a.idempotency_key, "kind": a.kind, "payload": a.payload} for a in actions if a.type == "job"
    ]
    write["path"] = list(state.get("path", [])) if state else None
    was_done = bool((blob.get("state") or {}).get("done"))
    if state and state.get("done") and not was_done:
        write["finish"] = {"ended_at": event.at, "outcome": state.get("outcome") or "completed"}
    return write


def followup_groups(queue: Queue, write: dict) -> list[FollowupGroup]:
    """Per follow-up job of `write`: its record's key and the commands that create it and queue the RQ job."""
    return [
        followups.queue_commands(
            queue,
            job_id=job["job_id"],
            kind=job["kind"],
            payload=job["payload"],
            call_id=write["call_id"],
            at=write["at"],
        )
        for job in write.get("jobs") or ()
    ]


def apply_write(conn: redis.Redis, queue: Queue, write: dict, marker: bool = False, confirm_ms: int = 0) -> bool:
    """Apply a turn write atomically. Returns False when `marker` is set and it was already applied; raises
    Unconfirmed when `confirm_ms` is set and no replica confirmed it."""
    result = CallWriter(conn).apply(
        write, marker_id=write["id"] if marker else None, followups=followup_groups(queue, write), confirm_ms=confirm_ms
    )
    if not result.confirmed:
        raise Unconfirmed(f"no replica confirmed write {write['id']} within {confirm_ms} ms")
    return result.applied


def replay_spool(
    spool: Spool, conn: redis.Redis, queue: Queue, budget: float | None = None, confirm_ms: int = 0
) -> int:
    """Replay everything spooled while Redis was down, in order. Safe to call from any number of processes.
    With `confirm_ms` (IVR_REDIS_WAIT_MS) an entry leaves the spool only once a replica confirmed it."""
    sessions = SessionStore(conn)

    def apply_entry(entry_id: str, kind: str, data: dict) -> None:
        if kind != KIND:
            raise ValueError(f"unknown spool entry kind {kind!r}")
        apply_write(conn, queue, data, marker=True, confirm_ms=confirm_ms)

    return spool.replay(apply_entry, apply_state=sessions.save, budget=budget)


def recreatable(write: dict, blob: dict) -> dict:
    """A spooled write also carries the call's start fields, from its engine state: if Redis lost the call's
    record meanwhile, the replay recreates a listable call rather than an orphan without caller or start time."""
    state = blob.get("state") or {}
    if write.get("start") or "started_at" not in state:
        return write
    fields = ("channel", "caller", "called", "started_at", "flow_id")
    return {**write, "recreate": {name: state.get(name) or "" for name in fields}}


class TurnStore:
    """Saves a turn: its write and the call's new blob in one script call, or in the spool while it is in use
    or Redis fails. (With the spool in use the write goes first: if the process dies in between, a retried turn
    re-runs from the old state and queues the same deterministic job ids, which are then skipped.)
    With `confirm_ms` a write carries its spool marker and waits for a replica; one that none confirmed is
    spooled as well, so it reaches whichever server is master once a replica has it (the marker keeps the
    replay from applying it twice where it already is)."""

    def __init__(
        self,
        conn: redis.Redis,
        queue: Queue,
        spool: LocalSpool,
        health: RedisHealth,
        sessions: SessionStore,
        confirm_ms: int = 0,
    ):
        self.conn, self.queue, self.spool, self.health, self.sessions = conn, queue, spool, health, sessions
        self.writer = CallWriter(conn)
        self.confirm_ms = confirm_ms

    def spool_turn(self, write: dict, blob: dict) -> None:
        """Join the spooled writes (they are replayed in order), and save the state wherever it can go."""
        self.spool.append(recreatable(write, blob))
        self.save_state(blob)

    def save(self, write: dict, blob: dict, encoded_blob: str, spool_used: bool, create: bool) -> Applied | None:
        """The script's answer (`existing` is the call's blob when `create` found the call), None if spooled."""
        try:
            with self.health.guard():
                result = self.writer.apply(
                    write,
                    state=blob,
                    encoded_state=encoded_blob,
                    create=create,
                    followups=followup_groups(self.queue, write),
                    confirm_ms=self.confirm_ms,
                    marker_id=write["id"] if self.confirm_ms else None,
                )
        except Exception as exc:  # unavailable, or an unexpected Redis error: spool it (a replay retries it)
            log.warning("call %s: spooling its writes: %s: %s", write["call_id"], type(exc).__name__, exc)
            self.spool_turn(write, blob)
            return None
        if not result.confirmed:  # only the master has it: keep it until a replica does
            log.warning("call %s: no replica confirmed write %s, spooled too", write["call_id"], write["id"])
            self.spool.append(recreatable(write, blob))
            self.spool.save_state(blob)
            return result
        if result.existing is None and not result.state_stored:
            log.error("call %s: saving the state in Redis failed", write["call_id"])
            self.spool.save_state(blob)  # the write is in Redis but not the state: keep the state locally
        elif result.existing is None and spool_used:
            self.spool.drop_state(blob["call_id"], blob["version"])
        return result

    def save_state(self, blob: dict) -> None:
        try:
            with self.health.guard():
                self.sessions.save(blob)
        except Exception as exc:  # unavailable (or any Redis error): keep it locally, the call goes on
            if not isinstance(exc, UNAVAILABLE):
                log.exception("call %s: saving the state failed", blob["call_id"])
            self.spool.save_state(blob)
            return
        if not self.spool.is_empty():
            self.spool.drop_state(blob["call_id"], blob["version"])
