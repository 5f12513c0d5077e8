"""advance(flow, state, event) -> (state, actions): the engine's single entry point.

A turn: copy the state, let the waiting step handle the event (or start the call), then enter steps
until one waits for the caller or the call ends. It never raises: an unexpected error or a runaway flow
ends the call with a polite goodbye and a logged error. The state stays plain JSON data.
"""
from __future__ import annotations

from .actions import GOODBYE, Hangup, Log, Say
from .events import CallStarted, Digits, HungUp, JobResult
from .steps import Context, Outcome

TYPEAHEAD_LIMIT = 32


def new_state(flow, event: CallStarted) -> dict:
    variables = dict(flow.variables)
    variables.update({"caller.number": event.caller, "caller.name": flow.contact_names.get(event.caller, ""),
                      "called.number": event.called, "channel": event.channel, "call.id": event.call_id})
    return {"call_id": event.call_id, "flow_id": flow.id, "revision": flow.revision, "caller": event.caller,
            "called": event.called, "channel": event.channel, "started_at": event.at, "at": event.at,
            "vars": variables, "step": None, "current_flow": None, "stack": [], "scratch": {}, "visits": {},
            "path": [], "steps": 0, "waiting": None, "done": False, "outcome": "", "typeahead": ""}


def _copy(state: dict) -> dict:
    copied = dict(state)
    for key in ("vars", "scratch", "visits"):
        copied[key] = dict(state[key])
    copied["path"] = list(state["path"])
    copied["stack"] = [dict(frame) for frame in state["stack"]]
    return copied


def advance(flow, state: dict | None, event) -> tuple[dict, list]:
    try:
        return _advance(flow, state, event)
    except Exception as exc:  # the engine must never take a call down
        if not state or not isinstance(state, dict) or "call_id" not in state:
            state = new_state(flow, event) if isinstance(event, CallStarted) else {
                "call_id": "", "flow_id": flow.id, "done": True, "waiting": None, "outcome": "error", "path": []}
        state = dict(state, done=True, waiting=None, outcome="error")
        return state, [Log(event="error", data={"error": f"{type(exc).__name__}: {exc}"}),
                       Say(text=GOODBYE, voice=flow.voice, language=flow.language, barge_in=False),
                       Hangup(reason="error")]


def _advance(flow, state, event):
    if isinstance(event, CallStarted):
        state = new_state(flow, event)
        actions = [Log(event="call_started", data={"caller": event.caller, "called": event.called,
                                                   "channel": event.channel, "flow": flow.id,
                                                   "revision": flow.revision})]
        return _run(flow, state, Context(flow, state, event.at), flow.start, actions)
    if not state or state.get("done"):
        return state, []
    state = _copy(state)
    state["at"] = event.at
    current = flow.flow_for(state["current_flow"])
    ctx = Context(current, state, event.at)
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


def _run(flow, state, ctx: Context, step_id: str | None, actions: list):
    return _follow(ctx, None, Outcome(next=step_id), actions)


def _follow(ctx: Context, step, outcome: Outcome, actions: list):
    """Apply an outcome, then keep entering steps until one waits or the call ends."""
    state = ctx.state
    while True:
        actions.extend(outcome.actions)
        if outcome.wait:
            state["waiting"] = outcome.wait
            if outcome.wait == "input" and state["typeahead"] and step is not None:
                buffered, state["typeahead"] = state["typeahead"], ""
                actions.append(Log(event="typeahead", data={"step": step.id, "digits": buffered}))
                outcome = step.handle(ctx, Digits(digits=buffered, at=ctx.at))
                continue
            return state, actions
        state["waiting"] = None
        if outcome.end == "return" and state["stack"]:
            frame = state["stack"].pop()
            state["current_flow"] = None if frame["flow"] == state["flow_id"] else frame["flow"]
            ctx.flow = ctx.flow.flow_for(state["flow_id"]).flow_for(state["current_flow"])
            outcome = Outcome(next=frame["next"], end=None if frame["next"] else "completed")
            continue
        if outcome.end or not outcome.next:
            ended = outcome.end if outcome.end in ("transferred",) else "completed"
            return _finish(ctx, actions, ended)
        state["steps"] += 1
        root = ctx.flow.flow_for(state["flow_id"])
        if state["steps"] > root.max_steps:
            actions.append(Log(event="error", data={"error": "step budget exceeded", "step": outcome.next}))
            actions.append(Say(text=GOODBYE, voice=root.voice, language=root.language, barge_in=False))
            state["outcome"] = "error"
            return _finish(ctx, actions, "error", hangup_reason="error")
        ctx.flow = root.flow_for(state["current_flow"])  # a goto may have switched flows
        step = ctx.flow.steps[outcome.next]
        key = ctx.state_key(step.id)
        state["step"] = step.id
        state["scratch"] = {}
        state["visits"][key] = state["visits"].get(key, 0) + 1
        state["path"].append(key)
        actions.append(Log(event="step", data={"step": key, "type": step.kind}))
        if step.outcome and not step.outcome_on_success:  # a step's `outcome` labels the call when it runs
            state["outcome"] = step.outcome
        outcome = step.enter(ctx)


def _finish(ctx: Context, actions: list, how: str, caller_hung_up: bool = False, hangup_reason: str = ""):
    state = ctx.state
    if how == "transferred":
        state["outcome"] = state["outcome"] or "transferred"
    elif not state["outcome"]:
        state["outcome"] = how
    state["done"] = True
    state["waiting"] = None
    flow = ctx.flow.flow_for(state["flow_id"])
    for index, url in enumerate(flow.webhooks):
        actions.append(ctx.job("__end__", "webhook", {"url": url, "event": "call.finished",
                                                       "data": {"outcome": state["outcome"], "path": state["path"]}},
                               suffix=f":wh{index}"))
    actions.append(Log(event="call_finished", data={"outcome": state["outcome"], "steps": state["steps"]}))
    if not caller_hung_up:
        actions.append(Hangup(reason=hangup_reason or how))
    return state, actions
