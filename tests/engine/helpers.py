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


# One row per action type: a compact, stable description for tables (logs are left out).
_SUMMARIES = {
    A.Say: lambda a: f"say:{a.text}" if a.text else f"play:{a.audio}",
    A.Gather: lambda a: f"gather:{a.step}",
    A.Job: lambda a: f"job:{a.kind}",
    A.Transfer: lambda a: f"transfer:{a.target}",
    A.Record: lambda a: f"record:{a.max_length:g}",
    A.Hangup: lambda a: f"hangup:{a.reason}",
}
# The steps of a business-hours flow: "Open." or "Closed.", then hang up (after the flow's own business_hours).
OPEN_OR_CLOSED = """start: hours
steps:
  hours: {type: business_hours, open: open, closed: closed}
  open: {type: hangup, say: "Open."}
  closed: {type: hangup, say: "Closed."}
"""


def summary(action) -> str | None:
    describe = _SUMMARIES.get(type(action))
    return describe(action) if describe else None


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
