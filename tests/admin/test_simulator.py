"""The browser simulator's endpoints: the same engine, a chosen revision, a tamper-proof client-held state, and
recorded calls that reach the call log through call_session."""

from __future__ import annotations

from ivr.store.calls import CallStore
from tests.admin.helpers import shipped_yaml

FLOW = "skype-receptionist"
AT = "2026-11-23T12:00"


def says(body) -> list[str]:
    return [a["text"] for a in body["actions"] if a["type"] == "say"]


def test_unrecorded_call_runs_on_the_chosen_revision(admin, redis_conn):
    admin.post(f"/flows/{FLOW}/save", data={"yaml": shipped_yaml(), "message": "one", "publish": "1"})
    admin.post(f"/flows/{FLOW}/save", data={"yaml": shipped_yaml().replace("Goodbye.", "See you."), "message": "two"})
    started = admin.post("/simulator/start", json={"flow": FLOW, "revision": "2", "at": AT, "record": False}).json
    assert started["revision"] == "2" and started["waiting"] == "input" and not started["recorded"]
    ended = admin.post("/simulator/turn", json={"sim": started["sim"], "input": "1"}).json
    assert ended["done"] and "Thank you for calling. See you." in says(ended)
    assert [a["kind"] for a in ended["actions"] if a["type"] == "job"] == ["sms"]
    published = admin.post("/simulator/start", json={"flow": FLOW, "at": AT}).json
    assert published["revision"] == "1"
    assert CallStore(redis_conn).count() == 0  # nothing recorded
    again = admin.post("/simulator/turn", json={"sim": started["sim"], "input": "1"}).json  # state is client-side
    assert again["done"]
    assert admin.post("/simulator/turn", json={"sim": ended["sim"], "input": "1"}).status_code == 400


def test_tampered_or_bad_input_is_refused(admin):
    started = admin.post("/simulator/start", json={"flow": FLOW, "at": AT}).json
    forged = started["sim"][:-3] + ("AAA" if not started["sim"].endswith("AAA") else "BBB")
    response = admin.post("/simulator/turn", json={"sim": forged, "input": "1"})
    assert response.status_code == 400
    response = admin.post("/simulator/turn", json={"sim": started["sim"], "input": "press one please"})
    assert response.status_code == 400
    assert admin.post("/simulator/start", json={"flow": "no-such-flow"}).status_code == 404
    assert admin.post("/simulator/start", json={"flow": FLOW, "revision": "99"}).status_code == 404


def test_recorded_call_goes_through_call_session(admin, redis_conn):
    started = admin.post(
        "/simulator/start", json={"flow": FLOW, "at": AT, "record": True, "caller": "+15550001234"}
    ).json
    body = started
    for turn in ("3", "2", "442079460123#", "1"):
        body = admin.post("/simulator/turn", json={"sim": body["sim"], "input": turn}).json
    assert body["done"] and body["recorded"]
    call = CallStore(redis_conn).get(started["call_id"])
    assert (call.channel, call.caller, call.outcome) == ("simulator", "+15550001234", "callback_requested")
    assert "enter_callback_number" in call.path
    assert started["call_id"] in admin.get("/calls/?channel=simulator").text
    assert admin.get("/api/v1/analytics?from=2026-11-23&to=2026-11-23").json["total_calls"] == 1


def test_graph_fragment(admin):
    fragment = admin.get(f"/simulator/graph?flow={FLOW}").text
    assert fragment.startswith('<div class="flow-graph-host"') and "&#34;main_menu&#34;" in fragment


def test_viewers_simulate_without_recording(viewer, redis_conn):
    assert viewer.post("/simulator/start", json={"flow": FLOW, "at": AT}).status_code == 200
    response = viewer.post("/simulator/start", json={"flow": FLOW, "at": AT, "record": True})
    assert response.status_code == 403 and CallStore(redis_conn).count() == 0
    assert "admin role" in response.json["error"]["message"]  # JSON, for the page's script
