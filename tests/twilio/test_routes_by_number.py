"""One web app serves every flow: Twilio's signed webhooks for two `To` numbers reach the two flows the routing
table names (a number written any way finds its row), `?flow=` still forces one, and the admin's call page shows
the flow each routed call ran."""

from __future__ import annotations

import shutil

from ivr.store.routes import RouteStore, RouteTable
from ivr.store.users import Role, UserStore
from tests.admin.helpers import PASSWORD, login
from tests.routing_flows import write_flows
from tests.twilio.conftest import FLOWS
from tests.twilio.twilio_caller import FlaskTransport, SignedPoster, TwilioCall

SALES, SUPPORT = "+442079460123", "+442079460124"


def test_two_to_numbers_reach_two_flows_and_the_admin_shows_each(make_app, settings, redis_conn, tmp_path):
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    write_flows(flows, "sales", "support")
    RouteStore(redis_conn).replace(RouteTable({SALES: "sales", SUPPORT: "support"}))
    app = make_app(settings.with_overrides(flows_dir=flows))
    client = app.test_client()
    poster = SignedPoster(FlaskTransport(client))
    sales = TwilioCall(poster, called=SALES)
    assert sales.answer().said() == ["This is sales."]
    support = TwilioCall(poster, called="+44 20 7946 0124")  # as a number may arrive from a SIP trunk or domain
    assert support.answer().said() == ["This is support."]
    forced = TwilioCall(poster, called=SALES)
    assert forced.answer("/twilio/voice?flow=support").said() == ["This is support."]
    other = TwilioCall(poster, called="+15550000000")  # no row, no table default: IVR_DEFAULT_FLOW
    assert other.answer().said() != ["This is sales."] and other.last.said()
    UserStore(redis_conn).save_hashed("ada", _password_hash(), Role.VIEWER)
    assert login(client, "ada").status_code == 302
    for call, flow_id in ((sales, "sales"), (support, "support"), (forced, "support"), (other, settings.default_flow)):
        page = client.get(f"/calls/{call.sid}").text
        assert f'href="/flows/{flow_id}"' in page, flow_id


def _password_hash() -> str:
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # a quick hash: this test logs in once
