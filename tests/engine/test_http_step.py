"""The http step in the pure engine: the HttpRequest action it emits, and what an HttpResult does to the call."""

from __future__ import annotations

import json

from ivr.engine import actions as A
from ivr.engine import advance
from ivr.engine import events as E
from ivr.engine.steps.http import MAX_VARIABLES, flatten
from tests.engine.helpers import T0, flow_from

FLOW = """
id: h
variables:
  account: "A-7"
start: lookup
steps:
  lookup:
    type: http
    url: "https://crm.example.com/callers/{{caller.number}}"
    headers: {X-Account: "{{account}}"}
    body: {number: "{{caller.number}}", tags: ["{{channel}}", 3], nested: {on: true}}
    timeout: 4
    retries: 2
    filler_after: 0.5
    filler: "Looking up {{account}}."
    ok: greet
    failed: sorry
  greet:
    type: say
    text: "Hello {{http.json.name}}, vip {{http.json.account.vip}}, tags {{http.json.tags}}."
    next: again
  again:
    type: http
    url: "https://crm.example.com/other"
    ok: bye
    failed: bye
  sorry:
    type: say
    text: "Sorry: {{http.reason}} ({{http.status}})."
    next: bye
  bye: {type: hangup}
"""


def start():
    return advance(
        flow_from(FLOW), None, E.CallStarted(call_id="c1", caller="+15550001111", called="+1", channel="sip", at=T0)
    )


def test_the_step_emits_a_rendered_request_and_waits_for_its_answer():
    state, actions = start()
    request = actions[-1]
    assert isinstance(request, A.HttpRequest)
    assert request.url == "https://crm.example.com/callers/+15550001111"
    assert request.method == "POST"  # a body makes POST the default
    assert request.headers == {"X-Account": "A-7"}
    assert json.loads(request.body) == {"number": "+15550001111", "tags": ["sip", 3], "nested": {"on": True}}
    assert (request.timeout, request.retries, request.filler_after) == (4.0, 2, 0.5)
    assert request.filler == "Looking up A-7." and request.idempotency_key == "c1:lookup:1"
    assert state["waiting"] == "http" and state["step"] == "lookup"
    again, nothing = advance(flow_from(FLOW), state, E.Digits(digits="1", at=T0 + 1))  # input does not answer it
    assert again["waiting"] == "http" and again["step"] == "lookup" and not [a for a in nothing if a.type != "log"]


def test_an_ok_answer_lands_in_variables_and_takes_ok_then_a_second_request_clears_them():
    flow = flow_from(FLOW)
    state, _ = start()
    data = {"name": "Ada", "account": {"vip": True}, "tags": ["gold", "early"]}
    state, actions = advance(flow, state, E.HttpResult(ok=True, at=T0 + 2, status=200, data=data))
    said = [a.text for a in actions if isinstance(a, A.Say)]
    assert said == ["Hello Ada, vip yes, tags gold, early."]
    assert state["vars"]["http.status"] == "200" and isinstance(actions[-1], A.HttpRequest)
    state, actions = advance(flow, state, E.HttpResult(ok=True, at=T0 + 3, status=204))
    assert not any(name.startswith("http.json.") for name in state["vars"])  # the first answer's fields are gone
    assert state["done"] and state["vars"]["http.status"] == "204"


def test_a_failed_answer_takes_failed_with_its_reason():
    state, _ = start()
    state, actions = advance(flow_from(FLOW), state, E.HttpResult(ok=False, at=T0 + 2, reason="timeout"))
    assert [a.text for a in actions if isinstance(a, A.Say)] == ["Sorry: timeout (0)."]
    assert state["done"] and state["path"] == ["lookup", "sorry", "bye"]


def test_the_action_and_the_event_round_trip_through_plain_json():
    _, actions = start()
    request = actions[-1]
    assert A.action_from_dict(json.loads(json.dumps(A.to_dict(request)))) == request
    result = E.HttpResult(ok=True, at=T0, status=200, data={"a": [1, {"b": None}]}, elapsed=0.25)
    assert E.event_from_dict(json.loads(json.dumps(E.to_dict(result)))) == result


def test_flatten_keeps_names_a_template_can_reach_and_caps_their_number():
    assert flatten({"a": {"b": 1, "not a name": 2, "c": [1, 2]}, "d": [{"e": 1}]}, "http.json") == {
        "http.json.a.b": "1",
        "http.json.a.c": "1, 2",
    }
    assert len(flatten({f"k{i}": i for i in range(MAX_VARIABLES * 2)}, "x")) == MAX_VARIABLES
    assert flatten("just text", "http.json") == {} and flatten(None, "http.json") == {}
