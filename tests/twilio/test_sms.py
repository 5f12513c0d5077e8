"""The flow in SMS text mode, end to end: signed /twilio/sms webhooks, real Redis, a real RQ worker run, and the
SMS the texter receives through the fake Twilio REST API."""

from __future__ import annotations

import itertools

import pytest

from ivr.store import connect, keys
from ivr.store.calls import CallStore
from ivr.worker import make_worker

from tests.twilio.twilio_caller import IVR_NUMBER, KNOWN, STRANGER, FlaskTransport, SignedPoster, TwilioCall

_messages = itertools.count(1)


@pytest.fixture
def sms_settings(settings, twilio_api):
    return settings.with_overrides(
        twilio_account_sid=twilio_api.account_sid,
        twilio_from_number=IVR_NUMBER,
        twilio_api_base_url=twilio_api.base_url,
        twilio_auth_token=twilio_api.auth_token,
    )


@pytest.fixture
def texting(make_app, sms_settings):
    poster = SignedPoster(FlaskTransport(make_app(sms_settings).test_client()), token=sms_settings.twilio_auth_token)

    def text(body: str, sender: str = STRANGER, sid: str | None = None):
        params = {
            "MessageSid": sid or f"SM{next(_messages):032x}",
            "AccountSid": "AC" + "0" * 32,
            "From": sender,
            "To": IVR_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        reply = poster.post("/twilio/sms", params)
        assert reply.status == 200, reply.body
        return reply, params

    return text


def message_text(reply) -> str:
    bodies = [m.findtext("Body") or m.text or "" for m in reply.xml.iter("Message")]
    assert len(bodies) <= 1
    return bodies[0] if bodies else ""


def run_worker(settings, redis_server) -> None:
    conn = connect(redis_server.url)
    make_worker(settings, conn).work(burst=True, with_scheduler=False, logging_level="WARNING")


def test_support_links_by_text_end_to_end(texting, sms_settings, redis_server, redis_conn, twilio_api):
    menu, _ = texting("hi")
    assert "This is not Skype" in message_text(menu) and "press 1 or say support" in message_text(menu)
    done, params = texting("1")
    assert "sent Skype's support links" in message_text(done) and "Goodbye" in message_text(done)
    again, _ = texting("1", sid=params["MessageSid"])  # Twilio delivered the same message twice
    assert again.body == done.body
    run_worker(sms_settings, redis_server)
    assert [(m["to"], m["from"]) for m in twilio_api.messages] == [(STRANGER, IVR_NUMBER)]
    assert "https://support.skype.com" in twilio_api.messages[0]["body"]
    calls = CallStore(redis_conn).recent()
    assert [(c.channel, c.outcome) for c in calls] == [("sms", "support_links_sent")]


def test_keywords_retries_and_a_new_conversation_after_the_last_ended(texting, redis_conn):
    texting("hello")
    wrong, _ = texting("pizza")
    assert "isn't one of the options" in message_text(wrong)
    chat, _ = texting("live chat")
    assert "link to a live chat" in message_text(chat)
    fresh, _ = texting("hi again")
    assert "This is not Skype" in message_text(fresh)
    assert len(CallStore(redis_conn).recent()) == 2


def test_callback_number_typed_with_punctuation(texting, redis_conn):
    texting("hi")
    texting("3")
    texting("2")
    confirm, _ = texting("+1 (555) 123-4567")
    assert "You entered 1 5 5 5 1 2 3 4 5 6 7" in message_text(confirm)
    done, _ = texting("1.")
    assert "call you back" in message_text(done)


def test_owner_by_text_is_told_by_email_not_transferred(texting, redis_conn):
    texting("hi")
    reply, _ = texting("owner")
    assert "let the owner know" in message_text(reply)
    assert CallStore(redis_conn).recent()[0].path[-2] == "tell_owner_by_email"


def test_known_contact_transfer_and_voicemail_have_no_sms_meaning(texting, redis_conn):
    reply, _ = texting("hi", sender=KNOWN)
    text = message_text(reply)
    assert "putting you through" in text and "Goodbye" in text
    record = CallStore(redis_conn).recent()[0]
    assert "owner_unavailable" in record.path and record.ended_at is not None


def test_conversation_state_expires(texting, redis_conn):
    texting("hi")
    key = keys.sms_conversation(STRANGER, IVR_NUMBER)
    assert 0 < redis_conn.ttl(key) <= keys.SMS_CONVERSATION_TTL
    redis_conn.delete(key)  # what the expiry does after a quiet spell
    restarted, _ = texting("1")
    assert "This is not Skype" in message_text(restarted)


def test_first_message_delivered_twice_starts_one_conversation(texting, redis_conn):
    first, params = texting("hi")
    again, _ = texting("hi", sid=params["MessageSid"])
    assert again.body == first.body and len(CallStore(redis_conn).recent()) == 1


def test_redis_down_texter_still_gets_the_key_information(texting, redis_server):
    redis_server.stop()
    try:
        reply, _ = texting("hi")
    finally:
        redis_server.start()
    assert "not Skype" in message_text(reply) and "https://support.skype.com" in message_text(reply)


def test_a_message_without_sender_or_sid_is_a_json_400(sms_settings, make_app):
    poster = SignedPoster(FlaskTransport(make_app(sms_settings).test_client()), token=sms_settings.twilio_auth_token)
    reply = poster.post("/twilio/sms", {"Body": "hi", "To": IVR_NUMBER})
    assert reply.status == 400 and "MessageSid" in reply.body


@pytest.mark.parametrize(
    "caller, number, reason",
    [
        ("tester", "tester", "not a valid phone number"),  # a softphone's caller ID
        ("+1٩٠٠٥٥٥١٢٣٤", "+19005551234", "premium-rate number"),
        ("+12125550123", "+12125550123", "region US not allowed (IVR_CALLBACK_REGIONS)"),  # the flow's country is GB
    ],
)
def test_a_caller_the_policy_refuses_can_call_but_gets_no_text_and_the_timeline_says_why(
    make_app, sms_settings, redis_server, redis_conn, twilio_api, caller, number, reason
):
    poster = SignedPoster(FlaskTransport(make_app(sms_settings).test_client()), token=sms_settings.twilio_auth_token)
    call = TwilioCall(poster, caller=caller)
    assert "This is not Skype" in " ".join(call.answer().said())
    assert "sent Skype's support links" in call.press("1").said()[0]  # the flow itself goes on as for anyone
    run_worker(sms_settings, redis_server)
    assert twilio_api.messages == []
    notes = [e["data"] for e in CallStore(redis_conn).timeline(call.sid) if e["kind"] == "note"]
    assert notes == [{"type": "log", "event": "sms_refused", "data": {"number": number, "reason": reason}}]
