"""email, sms and webhook tasks through a real RQ worker to aiosmtpd, the fake Twilio API and a webhook receiver."""

import time

import pytest

from ivr.jobs import rq_job_id
from ivr.jobs.webhook import sign, verify
from ivr.store.followups import FollowupStore
from ivr.system import recordings

TWILIO_RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Recordings/RE" + "2" * 32


def _status(harness, job_id):
    return FollowupStore(harness.conn).get(job_id)


def test_email_text_and_html_with_voicemail_attached(harness, smtp_sink, settings):
    made = recordings.new_recording(recordings.folder_in(settings.data_dir), "call-1")
    made.path.parent.mkdir()
    made.path.write_bytes(b"RIFF....WAVEfmt fake audio")
    recording = made.path
    harness.queue_job(
        "email",
        "c1:owner_unavailable:1",
        {
            "to": "owner@example.test",
            "subject": "Voicemail from +12125550001",
            "message": "You have a voicemail.",
            "caller": "+12125550001",
            "recording_url": made.reference,
            "recording_duration": 7.4,
        },
    )
    harness.work()
    assert smtp_sink.wait_for(1)
    message = smtp_sink.messages[0]
    assert message["Subject"] == "Voicemail from +12125550001"
    assert message["Message-ID"] == f"<{rq_job_id('c1:owner_unavailable:1')}@ivr>"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "You have a voicemail." in text and "attached" in text and "+12125550001" in html
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == [recording.name]
    assert attachments[0].get_content() == recording.read_bytes()
    record = _status(harness, "c1:owner_unavailable:1")
    assert record["status"] == "delivered" and len(record["attempts"]) == 1


def test_email_links_a_twilio_voicemail_and_escapes_html(harness, smtp_sink):
    harness.queue_job(
        "email",
        "c1:vm:1",
        {
            "to": "owner@example.test",
            "message": "<b>hi</b>",
            "recording_url": TWILIO_RECORDING,
            "recording_duration": 3,
        },
    )
    harness.work()
    assert smtp_sink.wait_for(1)
    message = smtp_sink.messages[0]
    assert TWILIO_RECORDING in message.get_body(("plain",)).get_content()
    assert "&lt;b&gt;hi&lt;/b&gt;" in message.get_body(("html",)).get_content()
    assert list(message.iter_attachments()) == []


def test_email_attaches_or_links_no_file_or_url_the_product_did_not_make(harness, smtp_sink, settings):
    """Issue 12 item 4: the email job attached any readable local file a recording URL named."""
    secret = settings.data_dir / "secret-key"
    secret.write_text("the-flask-secret\n")
    folder = recordings.folder_in(settings.data_dir)
    folder.mkdir()
    other = recordings.new_recording(folder, "another-call")
    other.path.write_bytes(b"RIFF another caller's voicemail")
    sneaky = [
        str(secret),
        f"file://{secret}",
        "secret-key",
        "../secret-key",
        other.reference,
        str(other.path),
        "recording:../secret-key",
        "https://rec.example.test/r1.wav",
    ]
    for n, url in enumerate(sneaky):
        harness.queue_job(
            "email",
            f"c1:vm:{n}",
            {
                "to": "owner@example.test",
                "message": "You have a voicemail.",
                "recording_url": url,
                "recording_duration": 3,
            },
        )
    harness.work()
    assert smtp_sink.wait_for(len(sneaky))
    by_id = {message["Message-ID"]: message for message in smtp_sink.messages}
    for n, url in enumerate(sneaky):
        message = by_id[f"<{rq_job_id(f'c1:vm:{n}')}@ivr>"]
        assert list(message.iter_attachments()) == [], url
        text = message.get_body(("plain",)).get_content() + message.get_body(("html",)).get_content()
        assert "the-flask-secret" not in text and url not in text and "attached" not in text


def test_refused_recipient_fails_for_good_without_retry(harness, smtp_sink):
    harness.queue_job("email", "c1:mail:1", {"to": "nobody@refused.invalid", "message": "x"})
    harness.work()
    record = _status(harness, "c1:mail:1")
    assert record["status"] == "failed" and "not retried" in record["detail"]
    assert len(harness.queue.scheduled_job_registry) == 0
    assert smtp_sink.messages == []


def test_smtp_down_is_retried_and_visible(harness, settings, smtp_sink):
    smtp_sink.stop()
    harness.queue_job("email", "c1:mail:2", {"to": "owner@example.test", "message": "x"})
    harness.work()
    record = _status(harness, "c1:mail:2")
    assert record["status"] == "retrying" and "connection was refused" in record["detail"]  # words, not an errno
    assert "SMTP_HOST=127.0.0.1" in record["detail"]
    assert harness.queue.scheduled_job_registry.get_job_ids() == [rq_job_id("c1:mail:2")]


def test_sms_through_twilio_rest_client(harness, twilio_api):
    harness.queue_job("sms", "c1:send_support_links:1", {"to": "+12125550001", "message": "Skype help: ..."})
    harness.work()
    assert [(m["to"], m["from"], m["body"]) for m in twilio_api.messages] == [
        ("+12125550001", "+15550000000", "Skype help: ...")
    ]
    record = _status(harness, "c1:send_support_links:1")
    assert record["status"] == "delivered" and twilio_api.messages[0]["sid"] in record["detail"]


def test_sms_twilio_refuses_fails_with_twilios_error_and_is_not_retried(harness, twilio_api):
    twilio_api.fail_next(400, 21211, "Invalid 'To' Phone Number")
    harness.queue_job("sms", "c1:sms:1", {"to": "+12125550123", "message": "hi"})
    harness.work()
    record = _status(harness, "c1:sms:1")
    assert record["status"] == "failed" and "21211" in record["detail"]
    assert twilio_api.requests == 1 and len(harness.queue.scheduled_job_registry) == 0


def test_sms_to_an_invalid_number_is_refused_before_twilio_and_not_retried(harness, twilio_api):
    harness.queue_job("sms", "c1:sms:1", {"to": "12", "message": "hi"})
    harness.work()
    record = _status(harness, "c1:sms:1")
    assert record["status"] == "failed" and "not a valid phone number" in record["detail"]
    assert twilio_api.requests == 0 and len(harness.queue.scheduled_job_registry) == 0


def test_sms_rate_limit_per_number_across_spellings(harness, settings, twilio_api):
    harness.settings = settings.with_overrides(sms_rate_limit_per_day=2)
    for n, to in enumerate(["+12125550123", "+1 212 555 0123", "+1212555012３"]):
        harness.queue_job("sms", f"c{n}:sms:1", {"to": to, "message": "hi"}, call_id=f"c{n}")
    harness.work()
    assert [m["to"] for m in twilio_api.messages] == ["+12125550123"] * 2
    assert "rate limit" in _status(harness, "c2:sms:1")["detail"]


def test_sms_server_error_is_retried(harness, twilio_api):
    twilio_api.fail_next(500, 20500, "Internal Server Error")
    harness.queue_job("sms", "c1:sms:2", {"to": "+12125550001", "message": "hi"})
    harness.work()
    assert _status(harness, "c1:sms:2")["status"] == "retrying"
    assert harness.queue.scheduled_job_registry.get_job_ids() == [rq_job_id("c1:sms:2")]


def test_a_retried_sms_counts_once_against_its_numbers_limit(harness, settings, twilio_api):
    harness.settings = settings.with_overrides(sms_rate_limit_per_day=1)
    twilio_api.fail_next(500, 20500, "Internal Server Error")
    harness.queue_job("sms", "c1:sms:3", {"to": "+12125550001", "message": "hi"})
    deadline = time.monotonic() + 30
    while _status(harness, "c1:sms:3")["status"] != "delivered" and time.monotonic() < deadline:
        harness.work()  # each burst also moves the due retry back onto the queue
        time.sleep(0.5)
    assert [a["status"] for a in _status(harness, "c1:sms:3")["attempts"]] == ["retrying", "delivered"]
    assert [m["to"] for m in twilio_api.messages] == ["+12125550001"]


@pytest.mark.slow
def test_webhook_signed_retried_on_5xx_and_429_then_delivered_once(harness, webhook_receiver):
    webhook_receiver.responses = [500, 429]
    harness.queue_job(
        "webhook",
        "c1:__end__:1:wh0",
        {"url": webhook_receiver.url, "event": "call.finished", "data": {"outcome": "voicemail"}},
    )
    deadline = time.monotonic() + 30
    while _status(harness, "c1:__end__:1:wh0")["status"] != "delivered" and time.monotonic() < deadline:
        harness.work()  # each burst also moves due retries (1 s, then 4 s backoff) back onto the queue
        time.sleep(0.5)
    record = _status(harness, "c1:__end__:1:wh0")
    assert record["status"] == "delivered"
    assert [a["status"] for a in record["attempts"]] == ["retrying", "retrying", "delivered"]
    assert [d["status"] for d in webhook_receiver.deliveries] == [500, 429, 200]
    assert webhook_receiver.unique_keys() == {"c1:__end__:1:wh0"}
    bodies = {str(d["event"]) for d in webhook_receiver.deliveries}
    assert len(bodies) == 1  # the same document every time
    event = webhook_receiver.deliveries[-1]["event"]
    assert (event["event"], event["call_id"], event["data"]) == ("call.finished", "call-1", {"outcome": "voicemail"})
    assert webhook_receiver.rejected == 0


def test_webhook_4xx_is_final_and_a_wrong_secret_is_rejected(harness, settings, webhook_receiver):
    webhook_receiver.responses = [400]
    harness.queue_job("webhook", "c1:wh:1", {"url": webhook_receiver.url, "event": "x"})
    harness.work()
    assert _status(harness, "c1:wh:1")["status"] == "failed"
    harness.settings = settings.with_overrides(webhook_secret="wrong")
    harness.queue_job("webhook", "c1:wh:2", {"url": webhook_receiver.url, "event": "x"})
    harness.work()
    record = _status(harness, "c1:wh:2")
    assert record["status"] == "failed" and "401" in record["detail"]
    assert webhook_receiver.rejected == 1
    assert len(webhook_receiver.deliveries) == 1


def test_signature_helpers_reject_tampering_and_replays():
    body = b'{"a":1}'
    header = sign("k", 1000, body)
    assert verify("k", header, body, now=1000)
    assert not verify("k", header, b'{"a":2}', now=1000)
    assert not verify("other", header, body, now=1000)
    assert not verify("k", header, body, now=1000 + 301)  # too old: a replay
    assert not verify("k", "garbage", body, now=1000)


def test_the_worker_reports_its_heartbeat_for_healthz(harness):
    from ivr.store import heartbeats

    harness.work()
    beat = heartbeats.read(harness.conn)["worker"]
    assert beat is not None and beat["queues"] == ["ivr"]


def test_non_ascii_subject_and_body_survive_the_trip(harness, smtp_sink):
    harness.queue_job(
        "email", "c1:mail:9", {"to": "owner@example.test", "subject": "Voicemail von Müller ☎", "message": "Grüße"}
    )
    harness.work()
    assert smtp_sink.wait_for(1)
    message = smtp_sink.messages[0]
    assert message["Subject"] == "Voicemail von Müller ☎"
    assert message.get_body(("plain",)).get_content().startswith("Grüße")


def test_a_follow_up_webhook_carries_the_fields_the_flow_rendered():
    import json

    from ivr.jobs.webhook import body_for

    body = json.loads(
        body_for(
            "c1:notify:1",
            {
                "url": "http://x",
                "event": "lead",
                "call_id": "c1",
                "message": "Caller +1555 wants a demo",
                "link": "https://x/y",
            },
        )
    )
    assert body["event"] == "lead" and body["data"] == {"message": "Caller +1555 wants a demo", "link": "https://x/y"}
