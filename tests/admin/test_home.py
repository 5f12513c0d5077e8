"""The home page (issue 19): health, today's calls, failed follow-ups with their reason, open callbacks and chats,
the set-up checklist, the test email/SMS buttons; and /healthz?verbose with the same set-up check."""

from __future__ import annotations

import time

from rq import Queue

from ivr import jobs
from ivr.call_session.writes import apply_write, new_write
from ivr.store import keys
from ivr.store.followups import FollowupStore, Status
from ivr.store.users import Role, TokenStore
from tests.admin.conftest import without_twilio
from tests.admin.test_health import app_with, fresh_probe_cache, sip_listener  # noqa: F401 (fixtures)


def start_call(conn, call_id: str, outcome: str = "") -> None:
    write = new_write(call_id, 1, at=time.time())
    write["start"] = {"channel": "sip", "caller": "tester", "called": "+1", "started_at": time.time()}
    if outcome:
        write["finish"] = {"ended_at": time.time(), "outcome": outcome}
    apply_write(conn, Queue(jobs.QUEUE_NAME, connection=conn), write)


def test_login_lands_on_home_with_health_and_the_checklist(admin):
    page = admin.get("/")
    assert page.status_code == 200
    for section in (
        'id="health"',
        'id="today"',
        'id="followups"',
        'id="open-callbacks"',
        'id="open-chats"',
        'id="setup"',
    ):
        assert section in page.text
    assert 'id="setup-smtp" data-state="not configured"' in page.text
    assert "SMTP_HOST is not set" in page.text and "No calls today yet." in page.text


def test_home_shows_todays_outcomes_and_a_failed_follow_up_with_its_reason(admin, redis_conn):
    start_call(redis_conn, "c1", outcome="support_links_sent")
    followups = FollowupStore(redis_conn)
    followups.create("c1:sms:1", kind="sms", call_id="c1", at=time.time())
    followups.record(
        "c1:sms:1", Status.FAILED, at=time.time(), detail="not retried: refused tester: not a valid phone number"
    )
    page = admin.get("/").text
    assert "support_links_sent" in page and "1 call" in page
    assert "refused tester: not a valid phone number" in page


def test_viewers_get_no_test_buttons_and_cannot_post_them(viewer):
    assert "Send a test email" not in viewer.get("/").text
    assert viewer.post("/setup/test-email", data={"to": "a@example.test"}).status_code == 403


def test_test_email_goes_through_smtp_and_a_missing_smtp_host_is_said(app, admin, smtp_sink, settings):
    reply = admin.post("/setup/test-email", data={"to": "owner@example.test"}, follow_redirects=True)
    assert "SMTP_HOST is not set" in reply.text and smtp_sink.envelopes == []
    app.config["IVR_SETTINGS"] = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=smtp_sink.port)
    reply = admin.post("/setup/test-email", data={"to": "owner@example.test"}, follow_redirects=True)
    assert "Test email sent" in reply.text and smtp_sink.wait_for(1)
    assert smtp_sink.messages[0]["To"] == "owner@example.test"


def test_test_sms_through_the_fake_twilio_and_the_policy(app, admin, twilio_api, settings):
    app.config["IVR_SETTINGS"] = settings.with_overrides(
        twilio_account_sid=twilio_api.account_sid,
        twilio_auth_token=twilio_api.auth_token,
        twilio_from_number="+15550000000",
        twilio_api_base_url=twilio_api.base_url,
    )
    refused = admin.post("/setup/test-sms", data={"to": "tester"}, follow_redirects=True)
    assert "not sent" in refused.text and twilio_api.messages == []
    sent = admin.post("/setup/test-sms", data={"to": "+12125550001"}, follow_redirects=True)
    assert "Test SMS sent" in sent.text and [m["to"] for m in twilio_api.messages] == ["+12125550001"]


def test_healthz_verbose_has_the_set_up_check_for_a_token_only(settings, redis_conn, password_hash, sip_listener):  # noqa: F811
    app = app_with(without_twilio(settings), redis_conn, password_hash, sip_port=sip_listener)
    _, secret = TokenStore(redis_conn).create(name="monitor", role=Role.VIEWER, owner="ada")
    assert "setup" not in app.test_client().get("/healthz?verbose").json
    body = app.test_client().get("/healthz?verbose", headers={"Authorization": f"Bearer {secret}"}).json
    items = {i["key"]: i for i in body["setup"]["items"]}
    assert items["sip"]["state"] == "ok" and "answers OPTIONS" in items["sip"]["detail"]  # a real SIP listener
    assert items["smtp"]["state"] == "not configured"
    assert body["setup"]["failing"] == ["secret_key"]  # the fixtures' "test-secret" is too short to be safe


def test_calls_list_filters_on_follow_up_failed_and_the_call_page_says_delivery(admin, redis_conn):
    start_call(redis_conn, "ok1", outcome="support_links_sent")
    start_call(redis_conn, "bad1", outcome="support_links_sent")
    followups = FollowupStore(redis_conn)
    for call_id, status in (("ok1", Status.DELIVERED), ("bad1", Status.FAILED)):
        followups.create(f"{call_id}:sms:1", kind="sms", call_id=call_id, at=time.time())
        redis_conn.rpush(keys.call_jobs(call_id), f"{call_id}:sms:1")
        followups.record(f"{call_id}:sms:1", status, at=time.time(), detail="x")
    failed_only = admin.get("/calls/?followup=failed").text
    assert "/calls/bad1" in failed_only and "/calls/ok1" not in failed_only and "follow-up failed" in failed_only
    assert admin.get("/api/v1/calls?followup=failed").json["calls"][0]["id"] == "bad1"
    assert 'id="delivery">follow-ups failed' in admin.get("/calls/bad1").text
    assert 'id="delivery">follow-ups delivered' in admin.get("/calls/ok1").text
