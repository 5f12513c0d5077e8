"""advance(flow, state, event) -> (state, actions): the engine's single entry point.

A turn: copy the state, let the waiting step handle the event (or start the call), then enter steps
until one waits for the caller or the call ends. It never raises: an unexpected error or a runaway flow
ends the call with a polite goodbye and a logged error. The state stays plain JSON data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .actions import GOODBYE, Action, Hangup, Log, RecordCall, Say
from .events import CallStarted, Digits, Event, HungUp, JobResult
from .flow import Flow
from .language import LANGUAGE_VAR, language_for_caller
from .prompt import Prompt
from .states import End, Move, Waiting
from .steps import Context, Outcome, Step

State = dict[str, Any]
Turn = tuple[State, list[Action]]

TYPEAHEAD_LIMIT = 32


def new_state(flow: Flow, event: CallStarted) -> State:
    variables = dict(flow.variables)
    variables.update(
        {
            "caller.number": event.caller,
            "caller.name": flow.contact_names.get(event.caller, ""),
            "called.number": event.called,
            "channel": event.channel,
            "call.id": event.call_id,
            LANGUAGE_VAR: language_for_caller(event.caller, flow.language_by_prefix, flow.language),
        }
    )
    variables.update({f"capabilities.{name}": "yes" if ok else "no" for name, ok in event.capabilities.items()})
    return {
        "call_id": event.call_id,
        "flow_id": flow.id,
        "revision": flow.revision,
        "caller": event.caller,
        "called": event.called,
        "channel": event.channel,
        "started_at": event.at,
        "at": event.at,
        "capabilities": dict(event.capabilities),
        "vars": variables,
        "step": None,
        "current_flow": None,
        "stack": [],
        "scratch": {},
        "visits": {},
        "path": [],
        "steps": 0,
        "waiting": None,
        "done": False,
        "outcome": "",
        "typeahead": "",
    }


def _copy(state: State) -> State:
    copied = dict(state)  # spelled out, not a loop over the keys: this runs on every turn
    copied["vars"] = dict(state["vars"])
    copied["scratch"] = dict(state["scratch"])
    copied["visits"] = dict(state["visits"])
    copied["path"] = list(state["path"])
    copied["stack"] = [dict(frame) for frame in state["stack"]]
    return copied


def advance(flow: Flow, state: State | None, event: Event) -> tuple[State | None, list[Action]]:
    try:
        return _advance(flow, state, event)
    except Exception as exc:  # the engine must never take a call down
        if not state or not isinstance(state, dict) or "call_id" not in state:
            state = (
                new_state(flow, event)
                if isinstance(event, CallStarted)
                else {"call_id": "", "flow_id": flow.id, "done": True, "waiting": None, "outcome": "error", "path": []}
            )
        state = dict(state, done=True, waiting=None, outcome="error")
        return state, [
            Log(event="error", data={"error": f"{type(exc).__name__}: {exc}"}),
            _goodbye(flow, state),
            Hangup(reason="error"),
        ]


def _advance(flow: Flow, state: State | None, event: Event) -> tuple[State | None, list[Action]]:
    if isinstance(event, CallStarted):
        state = new_state(flow, event)
        actions: list[Action] = [
            Log(
                event="call_started",
                data={
                    "caller": event.caller,
                    "called": event.called,
                    "channel": event.channel,
                    "flow": flow.id,
                    "revision": flow.revision,
                },
            )
        ]
        if flow.record_consent:  # a recorded flow: the caller is told before anything is recorded
            actions += [Say(text=flow.record_consent, voice=flow.voice, language=flow.language, barge_in=False)]
            actions.append(RecordCall())
        return _follow(Context(flow, state, event.at), None, Outcome(next=flow.start), actions)
    if not state or state.get("done"):
        return state, []
    state = _copy(state)
    state["at"] = event.at
    current = flow.flow_for(state["current_flow"])
    ctx = Context(current, state, event.at, root=flow)
    if isinstance(event, HungUp):
        return _finish(ctx, [Log(event="hung_up", data={"step": state["step"]})], "abandoned", caller_hung_up=True)
    if isinstance(event, JobResult):
        return state, [Log(event="job_result", data={"job_id": event.job_id, "ok": event.ok, "detail": event.detail})]
    step = current.steps.get(state["step"])
    if step is None or state["waiting"] is None or step.waits is None:
        if isinstance(event, Digits):  # typed ahead while no input step was waiting: keep for the next one
            state["typeahead"] = (state["typeahead"] + event.digits)[-TYPEAHEAD_LIMIT:]
        return state, []
    outcome = step.handle(ctx, event)
    return _follow(ctx, step, outcome, [])


_GOODBYE = Prompt.builtin("goodbye")


def _goodbye(flow: Flow, state: State) -> Action:
    """The polite goodbye of a call that cannot go on, in the call's language (English if even that fails)."""
    try:
        ctx = Context(flow, state if isinstance(state.get("vars"), dict) else {"vars": {}}, 0.0)
        return ctx.say(_GOODBYE, barge_in=False)[0]
    except Exception:  # this runs while a call is failing: it must not fail too
        return Say(text=GOODBYE, voice=flow.voice, language=flow.language, barge_in=False)


# Read once: the loop below runs for every step a call enters, and enum attribute lookups are not free.
_INPUT, _RETURN, _TRANSFERRED, _COMPLETED = Waiting.INPUT, End.RETURN, End.TRANSFERRED, End.COMPLETED
_TYPEAHEAD, _RETURNED, _FINISH, _ENTER = Move.TYPEAHEAD, Move.RETURN, Move.FINISH, Move.ENTER

# What a handler gives back: the step and outcome to go on with, or the finished turn.
Next = tuple[Step | None, Outcome, Turn | None]


def _follow(ctx: Context, step: Step | None, outcome: Outcome, actions: list[Action]) -> Turn:
    """Apply an outcome, then keep entering steps until one waits or the call ends: each round picks the Move
    for the outcome and makes it with its handler from the transition table (_TRANSITIONS, below). A step that
    waits ends the turn here, without a handler: the commonest move, and a call less per turn (bench/before_after.py).
    """
    state = ctx.state
    while True:
        actions.extend(outcome.actions)
        state["waiting"] = outcome.wait or None
        if outcome.wait:  # inline, not a function: this runs for every step a call enters
            if outcome.wait != _INPUT or not state["typeahead"] or step is None:
                return state, actions  # the step waits for the channel: the turn is over
            move = _TYPEAHEAD
        elif outcome.end == _RETURN and state["stack"]:
            move = _RETURNED
        elif outcome.end or not outcome.next:
            move = _FINISH
        else:
            move = _ENTER
        step, outcome, turn = _TRANSITIONS[move](ctx, step, outcome, actions)
        if turn is not None:
            return turn


def _end(ctx: Context, step: Step | None, outcome: Outcome, actions: list[Action]) -> Next:
    how = _TRANSFERRED if outcome.end == _TRANSFERRED else _COMPLETED
    return step, outcome, _finish(ctx, actions, how)


def _typeahead(ctx: Context, step: Step | None, outcome: Outcome, actions: list[Action]) -> Next:
    assert step is not None  # _move only answers TYPEAHEAD for a step
    buffered, ctx.state["typeahead"] = ctx.state["typeahead"], ""
    actions.append(Log(event="typeahead", data={"step": step.id, "digits": buffered}))
    return step, step.handle(ctx, Digits(digits=buffered, at=ctx.at)), None


def _return(ctx: Context, step: Step | None, outcome: Outcome, actions: list[Action]) -> Next:
    state = ctx.state
    frame = state["stack"].pop()
    state["current_flow"] = None if frame["flow"] == state["flow_id"] else frame["flow"]
    ctx.flow = ctx.root.flow_for(state["current_flow"])
    return step, Outcome(next=frame["next"], end=None if frame["next"] else _COMPLETED), None


def _enter(ctx: Context, step: Step | None, outcome: Outcome, actions: list[Action]) -> Next:
    state = ctx.state
    state["steps"] += 1
    root = ctx.root
    if state["steps"] > root.max_steps:  # a runaway flow: end politely
        actions.append(Log(event="error", data={"error": "step budget exceeded", "step": outcome.next}))
        actions.append(_goodbye(root, state))
        state["outcome"] = "error"
        return step, outcome, _finish(ctx, actions, "error", hangup_reason="error")
    current = state["current_flow"]  # a goto may have switched flows; inline, as this runs for every step entered
    ctx.flow = root if not current or current == root.id else root.library[current]
    entered = ctx.flow.steps[outcome.next]
    key = entered.id if ctx.flow is root else f"{current}/{entered.id}"
    state["step"] = entered.id
    state["scratch"] = {}
    state["visits"][key] = state["visits"].get(key, 0) + 1
    state["path"].append(key)
    actions.append(Log(event="step", data={"step": key, "type": entered.kind}))
    if entered.outcome and not entered.outcome_on_success:  # a step's `outcome` labels the call when it runs
        state["outcome"] = entered.outcome
    return entered, entered.enter(ctx), None


# The transition table: each Move and the handler that makes it.
_TRANSITIONS: dict[Move, Callable[[Context, Step | None, Outcome, list[Action]], Next]] = {
    Move.TYPEAHEAD: _typeahead,
    Move.RETURN: _return,
    Move.FINISH: _end,
    Move.ENTER: _enter,
}


def _finish(
    ctx: Context, actions: list[Action], how: str, caller_hung_up: bool = False, hangup_reason: str = ""
) -> Turn:
    state = ctx.state
    if how == _TRANSFERRED:
        state["outcome"] = state["outcome"] or "transferred"
    elif not state["outcome"]:
        state["outcome"] = how
    state["done"] = True
    state["waiting"] = None
    flow = ctx.root
    for index, url in enumerate(flow.webhooks):
        actions.append(
            ctx.job(
                "__end__",
                "webhook",
                {"url": url, "event": "call.finished", "data": {"outcome": state["outcome"], "path": state["path"]}},
                suffix=f":wh{index}",
            )
        )
    actions.append(Log(event="call_finished", data={"outcome": state["outcome"], "steps": state["steps"]}))
    if not caller_hung_up:
        actions.append(Hangup(reason=hangup_reason or how))
    return state, actions
