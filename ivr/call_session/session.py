"""One turn of a call, for any channel: load the state, `advance`, save the state and the turn's writes.

Channels call `start(...)` when a call arrives and `turn(call_id, event, turn_id)` for each event. A repeated
`turn_id` (Twilio retries a webhook) returns the same actions and queues nothing new; an unknown or expired call
gets a polite goodbye. If Redis is down the call goes on: the flow comes from the process's FlowRepository cache,
the state and the turn's writes go to the local spool, which is replayed in order once Redis answers again.
While the spool holds entries, new writes join it too, so a call's timeline stays in order.
The parts: state.py (the blob, its copies, its encoding), writes.py (what a turn writes, and where it goes),
health.py (the Redis breaker), replay.py (the spool's way back), followups.py (queueing a Job action),
routing.py (which flow a new call gets: the routing table by called number).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from rq import Queue

from ivr.call_session import state as S
from ivr.call_session.health import DOWN_BACKOFF, RedisHealth
from ivr.call_session.local_spool import LocalSpool
from ivr.call_session.replay import SpoolReplayer
from ivr.call_session.routing import FlowRouter
from ivr.call_session.writes import TurnStore, turn_write
from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from ivr.engine.actions import GOODBYE
from ivr.store import UNAVAILABLE
from ivr.store.calls import CallStore
from ivr.store.sessions import SessionStore
from ivr.store.spool import Spool

__all__ = ["DOWN_BACKOFF", "GOODBYE", "CallSession"]

log = logging.getLogger(__name__)


def _goodbye(reason: str, text: str = GOODBYE) -> list[A.Action]:
    return [A.Say(text=text, barge_in=False), A.Hangup(reason=reason)]


class CallSession:
    def __init__(
        self,
        flows,
        *,
        redis_conn: redis.Redis,
        queue: Queue,
        spool: Spool,
        default_flow: str,
        sessions: SessionStore | None = None,
        fallback_text: str = GOODBYE,
        clock: Callable[[], float] = time.monotonic,
        confirm_ms: int = 0,
        capabilities: dict[str, bool] | None = None,
    ):
        self.flows = flows  # ivr.flows.FlowRepository
        self.capabilities = dict(capabilities or {})  # ivr.settings.capabilities.flags(settings), told to every call
        self.fallback_text = fallback_text  # said when the flow cannot run at all (settings.fallback_message)
        self.redis, self.queue, self.spool, self.default_flow = redis_conn, queue, spool, default_flow
        self.sessions = sessions or SessionStore(redis_conn)
        self.health = RedisHealth(clock=clock)  # after a failure, skip Redis for a moment instead of waiting on it
        self.router = FlowRouter(None, self.health)  # no routing table (wiring.open_call_session gives it one)
        self.local = LocalSpool(spool)
        self.copies = S.StateCopies(self.sessions, self.local, self.health)
        # confirm_ms (IVR_REDIS_WAIT_MS): each write waits for a replica, or stays in the spool until one has it
        self.turns = TurnStore(redis_conn, queue, self.local, self.health, self.sessions, confirm_ms)
        self.replayer = SpoolReplayer(spool, redis_conn, queue, confirm_ms)

    def start(
        self, *, call_id: str, channel: str, caller: str, called: str, at: float, flow_id: str | None = None
    ) -> list[A.Action]:
        # A retried first request finds the call's state. Usually (the spool empty, the call unknown here) the
        # write itself checks that, atomically: one round trip for the whole first turn.
        spool_used = not self.local.is_empty()  # looked at once per turn: usually the only spool I/O
        quick = not spool_used and not self.copies.remembers(call_id)
        blob = None if quick else self.copies.load(call_id, spool_used, self.replayer.catch_up)
        if blob is not None:  # the channel retried the call's first request
            return S.cached_actions(blob, S.START_TURN) or []
        event = E.CallStarted(
            call_id=call_id, caller=caller, called=called, channel=channel, at=at, capabilities=self.capabilities
        )
        flow_id = flow_id or self._routed(called)  # a flow the channel forces, else the routing table's
        start = {"channel": channel, "caller": caller, "called": called, "started_at": at, "flow_id": flow_id}
        state, actions = self._first_turn(flow_id, event)
        existing = self._save(S.new_blob(call_id), state, event, actions, S.START_TURN, spool_used, start)
        return actions if existing is None else S.cached_actions(existing, S.START_TURN) or []

    def turn(self, call_id: str, event, turn_id: str | None = None) -> list[A.Action]:
        spool_used = not self.local.is_empty()
        blob = self.copies.load(call_id, spool_used, self.replayer.catch_up)
        if blob is None or not blob.get("state"):
            return _goodbye("unknown-call")
        cached = None if turn_id is None else S.cached_actions(blob, turn_id)
        if cached is not None:
            return cached
        state = blob["state"]
        try:
            flow = self.flows.get(state["flow_id"], state.get("revision"))
        except Exception as exc:  # the pinned revision vanished: end the call politely, do not crash the channel
            log.error("call %s: cannot load flow %s@%s: %s", call_id, state.get("flow_id"), state.get("revision"), exc)
            return _goodbye("error", self.fallback_text)
        new_state, actions = advance(flow, state, event)
        self._save(blob, new_state, event, actions, turn_id or f"v{blob['version'] + 1}", spool_used)
        return actions

    def answered(self, call_id: str, turn_id: str) -> list[A.Action] | None:
        """The actions of turn `turn_id` if some process took it already (an http step's answer is a turn taken
        in a worker thread: the Twilio poll that waits for it may reach any web process), else None."""
        blob = self.copies.load(call_id, not self.local.is_empty(), self.replayer.catch_up)
        return None if blob is None else S.cached_actions(blob, turn_id)

    def heard(self, call_id: str, prompts: list[dict]) -> None:
        """The channel's account of what the caller heard: each prompt with the time its first packet went out
        and its end (or barge-in), as timeline entries. Best effort: with Redis away they are only logged."""
        entries = [{"at": p["started_at"], "kind": "heard", "data": p} for p in prompts if "started_at" in p]
        if not entries:
            return
        try:
            with self.health.guard():
                calls = CallStore(self.redis)
                calls.append(call_id, entries)
                calls.extend_end(
                    call_id, max(float(p.get("ended_at") or p["started_at"]) for p in prompts if "started_at" in p)
                )
        except UNAVAILABLE as exc:
            log.warning("call %s: prompt times not kept (Redis: %s)", call_id, exc)

    def playing(self, call_id: str, prompt: dict | None) -> None:
        """What the caller hears right now (None: nothing), for the live view. Best effort, like `heard`."""
        try:
            with self.health.guard():
                CallStore(self.redis).set_playing(call_id, prompt)
        except UNAVAILABLE:
            pass  # the live view just shows the step

    def replay(self) -> int:
        """Replay the spool now (in this thread). Returns the number of entries applied."""
        return self.replayer.replay()

    def _routed(self, called: str) -> str:
        """The routing table's flow for `called` if it loads, else the process's default flow (a row may name a
        flow that was removed since: the caller still gets the default one rather than an apology)."""
        routed = self.router.flow_for(called)
        if not routed or routed == self.default_flow:
            return self.default_flow
        try:
            self.flows.get(routed)  # kept in the repository's cache for the first turn
        except Exception as exc:
            log.error(
                "call to %s: routed flow %s cannot be loaded (%s); %s answers", called, routed, exc, self.default_flow
            )
            return self.default_flow
        return routed

    def _first_turn(self, flow_id: str, event: E.CallStarted) -> tuple[dict, list[A.Action]]:
        try:
            flow = self.flows.get(flow_id)
        except Exception as exc:  # no such flow, or it cannot be loaded: apologise, record it, never crash
            log.error("call %s: cannot load flow %s: %s", event.call_id, flow_id, exc)
            state = {
                "call_id": event.call_id,
                "flow_id": flow_id,
                "done": True,
                "waiting": None,
                "outcome": "error",
                "path": [],
            }
            return state, [
                A.Log(event="error", data={"error": f"cannot load flow: {exc}"}),
                *_goodbye("error", self.fallback_text),
            ]
        return advance(flow, None, event)

    def _save(
        self,
        blob: dict,
        state: dict,
        event,
        actions: list[A.Action],
        turn_id: str,
        spool_used: bool,
        start: dict | None = None,
    ) -> dict | None:
        """Save the turn. A first turn (`start`) is only written if the call is new; else the call's blob is
        returned (the first request was delivered twice) and nothing is written."""
        texts = S.encode_actions(actions)  # the one encoding of this turn's actions
        new_blob = S.next_blob(blob, state, turn_id, texts)
        write = turn_write(blob, state, event, actions, texts, start=start)
        encoded = S.encode(new_blob)
        if spool_used and self.local.pending():  # keep the order: join the spooled writes
            self.turns.spool_turn(write, new_blob)
            self.replayer.in_background()
        else:
            result = self.turns.save(write, new_blob, encoded, spool_used, create=start is not None)
            if result is not None and result.existing is not None:
                return result.existing
        self.copies.remember(blob["call_id"], encoded)
        return None
