"""docs/flows.md's http example, run against a real web service on loopback (its URL swapped for the service's)."""

from __future__ import annotations

import json

import yaml

from ivr.call_session.http_request import HttpRunner
from ivr.channels.simulator import SimulatedCall, play
from ivr.flows import build_flow
from tests.fakes.web_service import WebService
from tests.flows.test_docs_examples import blocks


def test_the_docs_http_example_greets_the_caller_from_the_answer():
    (text,) = [t for lang, t in blocks() if lang == "yaml" and yaml.safe_load(t)["id"] == "example-http"]
    with WebService() as service:
        flow = build_flow(text.replace("https://crm.example.com/api/callers", service.url + "/customer"), "doc.yaml")
        call = play(SimulatedCall(flow, caller="+15550001111", http=HttpRunner([service.url + "/"])), [], at=0)
        (asked,) = service.requests
    assert call.said == ["Hello Ada. Your balance is 12.5 dollars.", "Goodbye."]
    assert json.loads(asked["body"]) == {"number": "+15550001111"} and asked["headers"]["X-Line"] == call.called
