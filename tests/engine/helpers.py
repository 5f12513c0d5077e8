"""Helpers for table-driven engine tests: build a flow from YAML text, feed events, summarise actions."""

from __future__ import annotations

import textwrap

from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from ivr.flows import build_flow

T0 = 1_795_000_000.0  # Wednesday 2026-11-18 11:06:40 UTC (London time too)


def flow_from(yaml_text: str, **kwargs):
    return build_flow(textwrap.dedent(yaml_text), "test.yaml", **kwargs)


def summary(action) -> str | None:
    """A compact, stable description of an action for tables (logs are left out)."""
    if isinstance(action, A.Say):
        return f"say:{action.text}" if action.text else f"play:{action.audio}"
    if isinstance(action, A.Gather):
        return f"gather:{action.step}"
    if isinstance(action, A.Job):
        return f"job:{action.kind}"
    if isinstance(action, A.Transfer):
        return f"transfer:{action.target}"
    if isinstance(action, A.Record):
        return f"record:{action.max_length:g}"
    if isinstance(action, A.Hangup):
        return f"hangup:{action.reason}"
    return None


def play(flow, turns, caller="+15550001111", channel="sip", at=T0):
    """Start a call, feed events (built from compact specs), return (state, list of per-turn summaries)."""
    state, actions = advance(
        flow, None, E.CallStarted(call_id="c1", caller=caller, called="+15550000000", channel=channel, at=at)
    )
    turns_out = [[s for s in map(summary, actions) if s]]
    all_actions = list(actions)
    for index, turn in enumerate(turns, 1):
        event = make_event(turn, at + index * 10)
        state, actions = advance(flow, state, event)
        all_actions += actions
        turns_out.append([s for s in map(summary, actions) if s])
    return state, turns_out, all_actions


def make_event(turn, at):
    if not isinstance(turn, str):
        return turn
    kind, _, value = turn.partition(":")
    return {
        "digits": lambda: E.Digits(digits=value, at=at),
        "speech": lambda: E.Speech(text=value, at=at),
        "silence": lambda: E.NoInput(at=at),
        "hangup": lambda: E.HungUp(at=at),
        "transfer": lambda: E.TransferResult(ok=value == "ok", reason=value, at=at),
        "record": lambda: E.RecordingDone(
            url="/tmp/vm.wav" if float(value or 0) > 0 else "", duration=float(value or 0), at=at
        ),
        "job": lambda: E.JobResult(job_id="j1", ok=value == "ok", at=at),
    }[kind]()
