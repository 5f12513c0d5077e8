"""Whole calls through the shipped flow over signed Twilio webhooks (Flask test client, real Redis, real queue).

Each turn's TwiML is asserted: the verbs and their attributes, and the action URL the next turn follows.
"""
from __future__ import annotations

from rq import Queue

from ivr import jobs
from ivr.store.calls import CallStore

from tests.twilio.conftest import CLOSED_HOURS
from tests.twilio.twilio_caller import KNOWN, TwilioCall, turn_number

WELCOME = "This is not Skype"
MENU = "To get Skype's support links by text message, press 1"


def queued(redis_conn) -> list[str]:
    return Queue(jobs.QUEUE_NAME, connection=redis_conn).job_ids


def assert_menu(reply, turn: int) -> None:
    assert reply.verbs() == ["Gather"]
    gather = reply.find("Gather")
    assert gather.attrib == {
        "action": f"/twilio/voice/gather?t={turn}", "method": "POST", "input": "dtmf speech", "timeout": "6",
        "numDigits": "1", "finishOnKey": "", "actionOnEmptyResult": "true", "bargeIn": "true",
        "speechTimeout": "auto", "language": "en-US",
        "hints": "skype,support,help,links,chat,live chat,callback,call back,call me,owner,person,operator"}
    assert MENU in " ".join(reply.said())
    assert [e.tag for e in gather] == ["Say"] * len(list(gather))


def test_stranger_presses_1_and_gets_the_support_links_job(twilio, redis_conn):
    call = TwilioCall(twilio)
    first = call.answer()
    assert_menu(first, 1)
    assert WELCOME in first.said()[0] and first.find("Gather/Say").get("language") == "en-US"
    second = call.press("1")
    assert second.verbs() == ["Say", "Say", "Hangup"]
    assert "sent Skype's support links" in second.said()[0]
    record = CallStore(redis_conn).get(call.sid)
    assert (record.channel, record.caller, record.outcome) == ("twilio", call.caller, "support_links_sent")
    assert len(queued(redis_conn)) == 1
