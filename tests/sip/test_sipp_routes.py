"""One SIP process serves every flow: SIPp calls two Request-URI users (a number, a name) and each call gets the
flow the routing table names for it, through the wiring `ivr sip` uses (open_call_session) and a real Redis; with
a forced flow (`ivr sip --flow`) the table is not asked."""

from __future__ import annotations

import pytest

from ivr.call_session.wiring import open_call_session
from ivr.channels.sip.session import flow_app
from ivr.settings import Settings
from ivr.store.calls import CallStore
from ivr.store.routes import RouteStore, RouteTable
from tests.routing_flows import write_flows

from .conftest import run_sipp, sipp_counts

pytestmark = pytest.mark.slow  # three SIPp calls in real time (~2 s each)


def test_two_request_uri_users_reach_two_flows(start_server, redis_conn, redis_server, tmp_path):
    flows = write_flows(tmp_path / "flows", "sales", "support", "main")
    RouteStore(redis_conn).replace(RouteTable({"+442079460123": "sales", "support": "support"}, default="main"))
    settings = Settings(data_dir=tmp_path / "data", flows_dir=flows, redis_url=redis_server.url, default_flow="main")
    session = open_call_session(settings)
    routed = start_server(flow_app(session), audio_root=flows)
    forced = start_server(flow_app(session, "main"), audio_root=flows)  # what `ivr sip --flow main.yaml` runs
    for server, dialled in ((routed, "442079460123"), (routed, "support"), (forced, "+442079460123")):
        result = run_sipp("uac_dialled.xml", server.port, timeout=30, cwd=tmp_path, subst={"DIALLED": dialled})
        assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    assert routed.wait_idle()["live"] == forced.wait_idle()["live"] == 0
    calls = CallStore(redis_conn)
    found = {c.called: (c.flow_id, c.path[0]) for c in calls.recent()}
    assert found == {
        "442079460123": ("sales", "sales_greeting"),  # a trunk's number without its '+'
        "support": ("support", "support_greeting"),  # a SIP user name
        "+442079460123": ("main", "main_greeting"),  # --flow wins over the table
    }
    heard = [e["data"].get("text") for c in calls.recent() for e in calls.timeline(c.id) if e["kind"] == "heard"]
    assert sorted(heard) == ["This is main.", "This is sales.", "This is support."]
