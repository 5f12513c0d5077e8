"""Run a flow without a phone: scripted turns or an interactive console, through the same engine.

`run_script` is what the CLI, the tests and the browser simulator share. With a `session` (a CallSession)
turns go through storage and the job queue exactly as a phone call's would; without one, the engine runs
in memory and nothing is recorded.
"""
from __future__ import annotations

import itertools
import uuid

from .channels.simulator import Transcript, parse_turn
from .engine import advance
from .engine.events import CallStarted, HungUp


def run_script(flow, turns, caller: str = "+15550009999", called: str = "+15550000000", at: float = 0.0,
               step_seconds: float = 5.0, session=None, call_id: str | None = None,
               channel: str = "simulator") -> Transcript:
    """Start a call and feed each turn while the flow waits; stops when the call ends or turns run out."""
    call_id = call_id or f"sim-{uuid.uuid4().hex[:12]}"
    transcript = Transcript()
    clock = itertools.count()

    def step(event):
        if session is not None:
            actions = session.turn(call_id, event) if not isinstance(event, CallStarted) else session.start(
                call_id=call_id, channel=channel, caller=caller, called=called, at=event.at, flow_id=flow.id)
            transcript.state = None
        else:
            transcript.state, actions = advance(flow, transcript.state, event)
        transcript.actions.extend(actions)
        return actions

    actions = step(CallStarted(call_id=call_id, caller=caller, called=called, channel=channel, at=at))
    for turn in turns:
        if _ended(actions, transcript):
            break
        actions = step(parse_turn(turn, at + step_seconds * (next(clock) + 1)))
    if not _ended(actions, transcript):
        step(HungUp(at=at + step_seconds * (next(clock) + 1)))
    return transcript


def _ended(actions, transcript: Transcript) -> bool:
    if transcript.state is not None:
        return bool(transcript.state.get("done"))
    return any(getattr(a, "type", "") == "hangup" for a in actions)
