"""Failures visible where they happen (issue 19): configuration errors are final and named in words, failed and
retrying follow-ups are listed with their reason, and the call record counts its failed follow-ups."""

import logging

from rq import Queue

from ivr import jobs
from ivr.call_session.writes import apply_write, new_write
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore


def test_a_callback_without_twilio_credentials_is_not_retried(harness, settings, twilio_api):
    harness.settings = settings.with_overrides(twilio_auth_token="")
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001"})
    for _ in range(4):
        harness.work()
    record = FollowupStore(harness.conn).get("c1:cb:1")
    assert record["status"] == "failed"
    assert [a["status"] for a in record["attempts"]] == ["scheduled", "failed"]  # one attempt, no retry
    assert "TWILIO_AUTH_TOKEN" in record["detail"] and "not retried" in record["detail"]


def test_an_email_without_smtp_host_fails_at_once_naming_the_setting(harness, settings, smtp_sink, caplog):
    harness.settings = settings.with_overrides(smtp_host="localhost")  # the default: SMTP_HOST absent
    harness.queue_job("email", "c1:mail:1", {"to": "owner@example.test", "message": "hi"})
    with caplog.at_level(logging.WARNING, logger="ivr.jobs.delivery"):
        harness.work()
    record = FollowupStore(harness.conn).get("c1:mail:1")
    assert record["status"] == "failed" and "SMTP_HOST is not set" in record["detail"]
    assert len(record["attempts"]) == 1
    assert any("SMTP_HOST is not set" in r.getMessage() for r in caplog.records)  # the log says it, too


def test_an_unreachable_mail_server_reads_as_a_sentence(harness, settings):
    harness.settings = settings.with_overrides(smtp_host="127.0.0.1", smtp_port=1)
    harness.queue_job("email", "c1:mail:1", {"to": "owner@example.test", "message": "hi"})
    harness.work()
    detail = FollowupStore(harness.conn).get("c1:mail:1")["detail"]
    assert "SMTP_HOST=127.0.0.1" in detail and "refused" in detail and "Errno" not in detail


def start_call(conn, call_id: str) -> None:
    write = new_write(call_id, 1, at=1.0)
    write["start"] = {"channel": "sip", "caller": "tester", "called": "+1", "started_at": 1.0}
    apply_write(conn, Queue(jobs.QUEUE_NAME, connection=conn), write)


def test_failed_follow_ups_are_listed_with_their_reason_and_counted_on_the_call(harness, twilio_api):
    start_call(harness.conn, "t1")
    harness.queue_job("sms", "t1:sms:1", {"caller": "tester", "message": "links"}, call_id="t1")
    harness.queue_job("sms", "t1:sms:2", {"to": "+12125550001", "message": "links"}, call_id="t1")
    harness.work()
    followups = FollowupStore(harness.conn)
    troubled = followups.troubled(10)
    assert [f["job_id"] for f in troubled] == ["t1:sms:1"]
    assert "tester" in troubled[0]["detail"] and "not retried" in troubled[0]["detail"]
    assert CallStore(harness.conn).get("t1").followups_failed == 1
