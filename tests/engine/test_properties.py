"""Property tests: random valid flows driven by random caller behaviour.

Flows are generated as plain data over every step type, dumped to YAML and loaded through the real validator
(`build_flow`); the generator keeps them valid by construction (a spine i -> i+1 makes every step reachable,
only input steps may jump backwards, so every cycle waits for the caller). For any event sequence:
- `advance` never fails internally (the only error it may log is the step budget),
- a call enters at most `max_steps` steps, and answering every wait with silence/failure ends it,
- the state stays JSON data, and a call continued from JSON copies behaves exactly the same,
- `advance` is deterministic and never mutates the state it was given,
- each turn renders sensibly (prompts before the one action that waits or ends), and once a call is done
  nothing more happens; job idempotency keys are unique within a call.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from ivr.flows import FlowInvalid, build_flow
from ivr.flows.names import BUILTIN_NAMES

EXAMPLES = int(os.environ.get("IVR_PROPERTY_EXAMPLES", "250"))  # raise it to hunt for bugs locally
SUBFLOWS = Path(__file__).parents[1] / "flows" / "good" / "subflow"  # survey.yaml: a menu, then return
T0 = 1_790_000_000.0  # 2026-09-21, a Monday
VARIABLES = {
    "owner": {"name": "Alex", "number": "+15550100100", "email": "owner@example.com"},
    "plan": "gold",
    "zero": 0,
    "flag": True,
}
BUILTIN = ("caller.", "called.", "channel", "call.id", "digits", "speech")  # not recording.*, capabilities.*
NAMES = [
    "owner.name",
    "owner.number",
    "plan",
    "zero",
    "flag",
    *sorted(n for n in BUILTIN_NAMES if n.startswith(BUILTIN)),
]
INPUT_TYPES = ("menu", "collect_digits")
STEP_TYPES = (
    "say",
    "menu",
    "collect_digits",
    "branch",
    "business_hours",
    "set",
    "follow_up",
    "callback",
    "transfer",
    "voicemail",
    "goto",
    "hangup",
)
KEYS = "0123456789*#"
KEYWORD_POOLS = [["sales", "buy"], ["support", "help"], ["operator", "live chat"], ["one", "yes"]]
WORDS = ["sales", "support", "one", "two", "three", "nine", "star", "help", "operator", "yes", "no", "the", "a"]

text = st.sampled_from(
    [
        "Hello.",
        "Press a key.",
        "",
        "Welcome to {{owner.name}}.",
        "You said {{speech}}.",
        "Your number is {{caller.number|spell}}.",
        "{{digits|upper}} {{plan|lower}}",
        "Plan {{ plan }} for {{caller.name}} on {{channel}}.",
    ]
)
prompt = st.one_of(
    text.filter(bool),
    st.fixed_dictionaries({"text": text}, optional={"voice": st.just("alice"), "language": st.just("en-GB")}),
    st.just({"audio": "prompts/hello.wav"}),
)
timeout = st.one_of(st.integers(1, 30), st.floats(0.5, 30, allow_nan=False))


@st.composite
def condition(draw):
    kinds = draw(
        st.lists(
            st.sampled_from(["var", "caller", "caller_prefix", "caller_in", "channel", "days", "time", "date"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    when = {}
    for kind in kinds:
        if kind == "var":
            when["var"] = draw(st.sampled_from(NAMES + ["unset"]))
            test = draw(st.sampled_from(["equals", "not_equals", "in", "matches", "empty"]))
            if test == "equals" or test == "not_equals":
                when[test] = draw(
                    st.one_of(st.sampled_from(["gold", "1", "", "sip"]), st.integers(0, 3), st.booleans())
                )
            elif test == "in":
                when["in"] = draw(st.lists(st.sampled_from(["gold", "1", "2", "sip", 1]), max_size=3))
            elif test == "matches":
                when["matches"] = draw(st.sampled_from(["^g", "[0-9]+", "^$", ".*", "(a|b)*c?"]))
            elif test == "empty":
                when["empty"] = draw(st.booleans())
        elif kind == "caller":
            when["caller"] = draw(st.sampled_from(["+15550001111", ["+15550001111", "+442071234567"]]))
        elif kind == "caller_prefix":
            when["caller_prefix"] = draw(st.sampled_from(["+1", ["+44", "+1555"], ""]))
        elif kind == "caller_in":
            when["caller_in"] = draw(st.sampled_from(["staff", ["staff", "family"]]))
        elif kind == "channel":
            when["channel"] = draw(st.sampled_from(["sip", "sms", ["twilio", "simulator"]]))
        elif kind == "days":
            when["days"] = draw(
                st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), max_size=3)
            )
        elif kind == "time":
            when["time"] = draw(st.sampled_from([["09:00", "17:00"], ["22:00", "06:00"], ["00:00", "24:00"]]))
        else:
            when["date"] = draw(st.sampled_from(["2026-09-21", ["2026-12-25", "2027-01-01"]]))
    return when


@st.composite
def step(draw, index: int, count: int):
    """Step `index` of `count`; step ids are s0..s{count-1}, and `end` (a hangup) closes the spine."""
    ids = [f"s{i}" for i in range(count)] + ["end"]
    spine = ids[index + 1]
    forward = st.sampled_from(ids[index + 1 :])
    anywhere = st.sampled_from(ids)
    kind = draw(st.sampled_from(STEP_TYPES[:-1]))  # hangup is the `end` step (and a possible target)
    spec: dict = {"type": kind}
    if kind == "say":
        spec.update(text=draw(text.filter(bool)), next=spine)
        if draw(st.booleans()):
            spec.update(repeat=draw(st.integers(1, 3)), barge_in=draw(st.booleans()))
    elif kind == "menu":
        digits = draw(st.lists(st.text(KEYS, min_size=1, max_size=2), min_size=1, max_size=4, unique=True))
        choices = []
        for digit, own_words in zip(digits, KEYWORD_POOLS):  # each choice has its own words (no duplicates)
            choice = {
                "digit": int(digit) if digit.isdigit() and draw(st.booleans()) and str(int(digit)) == digit else digit,
                "goto": draw(anywhere),
            }
            if draw(st.booleans()):
                choice["keywords"] = draw(st.lists(st.sampled_from(own_words), min_size=1, max_size=2))
            choices.append(choice)
        spec.update(
            prompt=draw(prompt),
            choices=choices,
            exhausted=spine,
            max_retries=draw(st.integers(0, 3)),
            timeout=draw(timeout),
        )
        if draw(st.booleans()):
            spec.update(
                no_input=draw(prompt),
                no_match=draw(prompt),
                save_as="choice",
                min_confidence=draw(st.floats(0, 1)),
                barge_in=draw(st.booleans()),
            )
    elif kind == "collect_digits":
        low = draw(st.integers(1, 6))
        spec.update(
            prompt=draw(prompt),
            save_as="number",
            min_digits=low,
            max_digits=draw(st.integers(low, 10)),
            finish_on_key=draw(st.sampled_from(["#", "*", ""])),
            max_retries=draw(st.integers(0, 3)),
            next=spine,
            exhausted=draw(anywhere),
        )
        if draw(st.booleans()):
            spec["pattern"] = draw(st.sampled_from(["[0-9]+", "1.*", "[0-9]{3,}", "(12)+|5*"]))
        confirm = draw(st.sampled_from([None, True, False, "You typed {{number|spell}}. Press 1 or 2."]))
        if confirm is not None:
            spec["confirm"] = confirm
    elif kind == "branch":
        rules = draw(
            st.lists(st.builds(lambda when, goto: {"when": when, "goto": goto}, condition(), forward), max_size=3)
        )
        spec.update(rules=rules, otherwise=spine)
    elif kind == "business_hours":
        other = draw(forward)
        spec.update(open=spine, closed=other) if draw(st.booleans()) else spec.update(open=other, closed=spine)
    elif kind == "set":
        spec.update(
            vars=draw(
                st.dictionaries(
                    st.sampled_from(["plan", "note", "owner.name", "n"]),
                    st.one_of(text, st.integers(-5, 5), st.booleans()),
                    min_size=1,
                    max_size=3,
                )
            ),
            next=spine,
        )
    elif kind == "follow_up":
        job_kind = draw(st.sampled_from(["email", "sms", "webhook", "chat"]))
        spec.update(kind=job_kind, next=spine, message=draw(text))
        if job_kind == "webhook":
            spec.update(url="https://example.com/hook", event="call.note")
        else:
            spec["to"] = draw(st.sampled_from(["{{caller.number}}", "{{owner.email}}"]))
        if job_kind == "email":
            spec["subject"] = draw(text)
        if draw(st.booleans()):
            spec["say"] = draw(prompt)
    elif kind == "callback":
        spec.update(next=spine)
        if draw(st.booleans()):
            spec.update(number="{{caller.number}}", say=draw(prompt))
    elif kind == "transfer":
        spec.update(
            to=draw(st.sampled_from(["{{owner.number}}", "sip:owner@example.com"])), failed=spine, timeout=draw(timeout)
        )
        if draw(st.booleans()):
            spec["say"] = draw(prompt)
    elif kind == "voicemail":
        spec.update(next=spine, max_length=draw(st.integers(1, 300)))
        if draw(st.booleans()):
            spec["follow_up"] = {
                "kind": "email",
                "to": "{{owner.email}}",
                "subject": "Voicemail",
                "message": "{{recording.url}} ({{recording.duration}} s)",
            }
    else:  # goto the survey subflow, which asks for a rating and returns
        spec.update(flow="survey", next=spine)
    return spec


@st.composite
def flows(draw):
    count = draw(st.integers(1, 12))
    steps = {f"s{i}": draw(step(i, count)) for i in range(count)}
    steps["end"] = {"type": "hangup"} | ({"say": draw(prompt)} if draw(st.booleans()) else {})
    data = {
        "id": "generated",
        "start": "s0",
        "max_steps": draw(st.integers(3, 60)),
        "variables": VARIABLES,
        "speech": draw(st.booleans()),
        "timezone": draw(st.sampled_from(["UTC", "Europe/London", "America/New_York"])),
        "contacts": {"staff": ["+15550001111"], "family": [{"number": "+442071234567", "name": "Sam"}]},
        "business_hours": {
            "timezone": "Europe/London",
            "weekly": {"mon": ["09:00-17:00"], "sat": ["10:00-12:00", "13:00-24:00"]},
            "holidays": [{"date": "2026-12-25"}, {"date": "2026-09-22", "hours": ["10:00-11:00"]}],
        },
        "steps": steps,
    }
    if draw(st.booleans()):
        data["webhooks"] = ["https://example.com/ivr"]
    return yaml.safe_dump(data, sort_keys=False)


def random_event(draw, flow, state: dict, at: float):
    """Any event at all, or (more often) a plausible answer to what the call is waiting for."""
    kind = draw(
        st.sampled_from(["answer"] * 8 + ["digits", "speech", "no_input", "transfer", "recording", "job", "hung_up"])
    )
    waiting = state["waiting"] if state else None
    current = flow.flow_for(state["current_flow"]).steps.get(state["step"]) if state else None
    if kind == "answer":
        kind = {
            "input": draw(st.sampled_from(["choice", "choice", "number", "digits", "speech", "no_input"])),
            "transfer": "transfer",
            "record": "recording",
        }.get(waiting, "no_input")
        if kind in ("choice", "number") and getattr(current, "kind", "") == "collect_digits":
            kind = "choice" if state["scratch"].get("candidate") else "number"
    if kind == "choice":  # a key the current menu offers, or a confirmation key
        offered = [str(c["digit"]) for c in getattr(current, "choices", ()) if "digit" in c] or ["1", "2"]
        return E.Digits(digits=draw(st.sampled_from(offered)), at=at)
    if kind == "number":  # mostly the length collect_digits wants
        low, high = getattr(current, "min_digits", 1), getattr(current, "max_digits", 11)
        size = draw(st.one_of(st.integers(low, high), st.integers(0, high + 2)))
        number = "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=size, max_size=size)))
        return E.Digits(digits=number + draw(st.sampled_from(["", "#", "*"])), at=at)
    if kind == "digits":
        return E.Digits(digits=draw(st.text(KEYS, min_size=1, max_size=12)), at=at)
    if kind == "speech":
        words = draw(st.lists(st.sampled_from(WORDS), min_size=0, max_size=4))
        return E.Speech(text=" ".join(words), at=at, confidence=draw(st.floats(0, 1)))
    if kind == "transfer":
        return E.TransferResult(ok=draw(st.booleans()), at=at, reason=draw(st.sampled_from(["busy", "completed"])))
    if kind == "recording":
        seconds = draw(st.sampled_from([0, 0.4, 3, 119.6]))
        return E.RecordingDone(at=at, url="file:///vm.wav" if seconds else "", duration=seconds)
    if kind == "job":
        return E.JobResult(job_id="j1", ok=draw(st.booleans()), at=at)
    if kind == "hung_up":
        return E.HungUp(at=at)
    return E.NoInput(at=at)


BLOCKING = (A.Gather, A.Transfer, A.Record, A.Hangup)
WAIT_ACTION = {"input": A.Gather, "transfer": A.Transfer, "record": A.Record}


def drain_event(state: dict, at: float):
    """The answer that makes the least progress for what the call waits for: silence, a failed transfer,
    an empty recording. Even so the call must end (retries are bounded, the step budget is finite)."""
    return {
        "input": E.NoInput(at=at),
        "transfer": E.TransferResult(ok=False, at=at, reason="busy"),
        "record": E.RecordingDone(at=at),
    }.get(state["waiting"], E.NoInput(at=at))


def run_call(flow, first, choose, turns_wanted: int, through_json: bool):
    """Start with `first`, feed `turns_wanted` events from `choose(state, index)`, then drain until the call
    ends (bounded: every wait ends after at most max_retries + 1 <= 4 answers, the budget is max_steps).
    Returns [(event, state after, actions)] per turn."""
    state, turns, at = None, [], first.at
    budget = (flow.max_steps + 2) * 12
    for index in range(turns_wanted + 1 + budget):
        if index == 0:
            event = first
        elif index <= turns_wanted:
            event = choose(state, index)
        elif state["done"]:
            break
        else:
            at = turns[-1][0].at + 7
            event = drain_event(state, at)
        given_state = copy.deepcopy(state)
        if through_json and state is not None:
            state = json.loads(json.dumps(state))
        new_state, actions = advance(flow, state, event)
        assert state == given_state, "advance must not mutate the state it is given"
        state = new_state
        turns.append((event, copy.deepcopy(state), list(actions)))
    return turns


def check_turn(flow, event, state, actions, was_done: bool):
    assert json.loads(json.dumps(state)) == state
    for action in actions:
        json.dumps(A.to_dict(action))
        if isinstance(action, A.Log) and action.event == "error":
            assert action.data["error"] == "step budget exceeded", action.data
    if was_done:
        assert actions == [], "nothing happens once a call is done"
        return
    blocking = [a for a in actions if isinstance(a, BLOCKING)]
    assert len(blocking) <= 1, f"one wait or end per turn, got {blocking}"
    if blocking:
        tail = actions[actions.index(blocking[0]) + 1 :]
        assert not any(isinstance(a, (A.Say, A.Gather)) for a in tail), "nothing is said after a wait or hangup"
        if isinstance(blocking[0], A.Hangup):
            assert state["done"] and state["waiting"] is None
        else:
            assert not state["done"] and isinstance(blocking[0], WAIT_ACTION[state["waiting"]])
    elif isinstance(event, E.CallStarted):
        assert False, "a call start always waits for something or ends"
    if (
        state["done"]
        and not isinstance(event, E.HungUp)
        and not (isinstance(event, E.TransferResult) and state["outcome"] in ("transferred",) and not blocking)
    ):
        assert blocking and isinstance(blocking[0], A.Hangup), "a call the IVR ends is hung up"


@settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    flow_text=flows(),
    data=st.data(),
    turns_wanted=st.integers(0, 30),
    start_offset=st.integers(0, 400 * 86_400),
    channel=st.sampled_from(["sip", "twilio", "sms", "simulator"]),
    caller=st.sampled_from(["+15550001111", "+442071234567", "+15559998888", ""]),
)
def test_random_flows_and_callers(flow_text, data, turns_wanted, start_offset, channel, caller):
    try:
        flow = build_flow(flow_text, "generated.yaml", flows_dir=SUBFLOWS)
    except FlowInvalid:  # the generator aims to be valid (checked below); skip the rare miss
        assume(False)
    first = E.CallStarted(call_id="call-1", caller=caller, called="+15550000000", channel=channel, at=T0 + start_offset)
    played = []

    def choose(state, index):
        at = (played[-1].at if played else first.at) + data.draw(st.floats(0, 90_000, allow_nan=False))
        played.append(random_event(data.draw, flow, state, at))
        return played[-1]

    turns = run_call(flow, first, choose, turns_wanted, through_json=False)
    final = turns[-1][1]
    assert final["done"], "silence and failures must end every call"
    steps_entered = sum(1 for _, _, acts in turns for a in acts if isinstance(a, A.Log) and a.event == "step")
    assert steps_entered <= flow.max_steps
    assert len(final["path"]) == steps_entered
    keys = [a.idempotency_key for _, _, acts in turns for a in acts if isinstance(a, A.Job)]
    assert len(keys) == len(set(keys)), f"duplicate job keys: {keys}"
    was_done = False
    for event, state, actions in turns:
        check_turn(flow, event, state, actions, was_done)
        was_done = state["done"]
    # deterministic, and a call continued from JSON copies of its state (another process) is the same call
    again = run_call(flow, first, lambda state, index: played[index - 1], len(played), through_json=True)
    assert [(s, [A.to_dict(a) for a in acts]) for _, s, acts in again] == [
        (s, [A.to_dict(a) for a in acts]) for _, s, acts in turns
    ]


def test_the_generator_mostly_makes_valid_flows():
    """Guards the property test against silently testing nothing: generated flows must pass the validator."""
    valid = []

    @settings(max_examples=60, deadline=None, database=None)
    @given(flows())
    def sample(flow_text):
        try:
            build_flow(flow_text, "generated.yaml", flows_dir=SUBFLOWS)
            valid.append(True)
        except FlowInvalid as exc:
            valid.append(False)
            print(exc)

    sample()
    assert sum(valid) >= 0.95 * len(valid)
