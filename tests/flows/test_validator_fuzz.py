"""The validator never crashes: valid flows with random damage (a value replaced by anything, a key removed or
added) always come back as a list of located problems, or as a flow that loads. A crash here would be a 500 in
the flow editor or a flow that half-loads."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from ivr.flows import FlowInvalid, build_flow

EXAMPLES = int(os.environ.get("IVR_PROPERTY_EXAMPLES", "200"))  # raise it to hunt for bugs locally
HERE = Path(__file__).parent
SOURCES = [
    HERE / "good" / "every_step.yaml",
    HERE / "good" / "subflow" / "main.yaml",
    HERE.parents[1] / "flows" / "skype-receptionist.yaml",
]
FLOWS = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in SOURCES]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "{{",
            "}}",
            "{{ x }}",
            "{{caller.number|nope}}",
            "(",
            "[a-",
            "*",
            "25:00",
            "17:00-09:00",
            "Mars/Base",
            "",
            "goodbye",
            "menu",
            "hangup",
            "sms",
            "2026-02-30",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def damage(data, draw):
    """Walk to a random node and replace, delete or add something there."""
    node = data
    while True:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        if not children:
            break
        key, child = children[draw(st.integers(0, len(children) - 1))]
        if not isinstance(child, (dict, list)) or draw(st.integers(0, 3)) == 0:
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                node[key] = draw(values)
            elif action == "delete":
                del node[key]
            elif isinstance(node, dict):
                node[draw(st.sampled_from(["next", "goto", "type", "x", "timeout", "choices", "rules", "when"]))] = (
                    draw(values)
                )
            else:
                node.append(draw(values))
            return
        node = child


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=st.integers(0, len(FLOWS) - 1), rounds=st.integers(1, 4), data=st.data())
def test_damaged_flows_give_problems_not_crashes(source, rounds, data):
    flow = yaml.safe_load(yaml.safe_dump(FLOWS[source]))
    for _ in range(rounds):
        damage(flow, data.draw)
    text = yaml.safe_dump(flow, sort_keys=False)
    try:
        loaded = build_flow(text, "damaged.yaml", flows_dir=SOURCES[source].parent)
    except FlowInvalid as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1 and problem.message
        return
    # whatever the validator lets through must run: a few calls never hit an internal error
    for caller, answers in (("+15550100200", ["1", "3", "2"]), ("+15559990000", [None] * 4)):
        state, actions = advance(loaded, None, E.CallStarted("fuzz", caller, "+15550000000", "sip", 1_795_000_000))
        for answer in answers:
            event = {
                "input": E.NoInput(1_795_000_100) if answer is None else E.Digits(answer, 1_795_000_100),
                "transfer": E.TransferResult(False, 1_795_000_100),
                "record": E.RecordingDone(1_795_000_100),
            }
            state, more = advance(loaded, state, event.get(state["waiting"], E.HungUp(1_795_000_100)))
            actions += more
        errors = [a.data for a in actions if isinstance(a, A.Log) and a.event == "error"]
        assert all(e == {"error": "step budget exceeded", "step": e.get("step")} for e in errors), errors


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.integers(0, len(SOURCES) - 1),
    edits=st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 40),
            st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@` \n\tab1") + ["\x00", "é"]), max_size=6),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_damaged_yaml_text_gives_problems_not_crashes(source, edits):
    text = SOURCES[source].read_text(encoding="utf-8")
    for where, cut, insert in edits:  # cut some characters somewhere and insert others
        at = int(where * len(text))
        text = text[:at] + insert + text[at + cut :]
    try:
        build_flow(text, "damaged.yaml", flows_dir=SOURCES[source].parent)
    except FlowInvalid as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.column >= 1 and problem.message
