"""Whole calls through the shipped flow over signed Twilio webhooks (Flask test client, real Redis, real queue).

Each turn's TwiML is asserted: the verbs and their attributes, and the action URL the next turn follows.
"""

from __future__ import annotations

from rq import Queue

from ivr import jobs
from ivr.store.calls import CallStore

from tests.twilio.conftest import CLOSED_HOURS
from tests.twilio.twilio_caller import KNOWN, PUBLIC_BASE, TwilioCall, turn_number

WELCOME = "This is not Skype"
MENU = "To get Skype's support links by text message, press 1"


def queued(redis_conn) -> list[str]:
    return Queue(jobs.QUEUE_NAME, connection=redis_conn).job_ids


def assert_menu(reply, turn: int) -> None:
    assert reply.verbs() == ["Gather"]
    gather = reply.find("Gather")
    assert gather.attrib == {
        "action": f"{PUBLIC_BASE}/twilio/voice/gather?t={turn}",
        "method": "POST",
        "input": "dtmf speech",
        "timeout": "6",
        "numDigits": "1",
        "finishOnKey": "",
        "actionOnEmptyResult": "true",
        "bargeIn": "true",
        "speechTimeout": "auto",
        "language": "en-US",
        "hints": "skype,support,help,links,chat,live chat,callback,call back,call me,owner,person,operator",
    }
    assert MENU in " ".join(reply.said())
    assert [e.tag for e in gather] == ["Say"] * len(list(gather))


def answered(twilio) -> TwilioCall:
    """A caller (the default: not a Skype number) whose call Twilio has just answered."""
    call = TwilioCall(twilio)
    call.answer()
    return call


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


def test_speech_choice_and_the_turn_urls_advance(twilio, redis_conn):
    call = answered(twilio)
    reply = call.speak("support please")
    assert "sent Skype's support links" in reply.said()[0]
    assert reply.verbs()[-1] == "Hangup"


def test_chat_link(twilio, redis_conn):
    call = answered(twilio)
    reply = call.press("2")
    assert "link to a live chat" in reply.said()[0] and reply.verbs()[-1] == "Hangup"
    assert CallStore(redis_conn).get(call.sid).outcome == "chat_link_sent"


def test_callback_at_the_caller_id(twilio, redis_conn):
    call = answered(twilio)
    choice = call.press("3")
    assert choice.verbs() == ["Gather"] and turn_number(choice.action("Gather")) == 2
    assert choice.find("Gather").get("hints") == "this number,same number,different,other number"
    done = call.press("1")
    assert "call you back at" in done.said()[0] and done.verbs()[-1] == "Hangup"
    assert CallStore(redis_conn).get(call.sid).outcome == "callback_requested"


def test_callback_at_an_entered_number_with_a_retry_and_confirmation(twilio, redis_conn):
    call = answered(twilio)
    call.press("3")
    entry = call.press("2")
    gather = entry.find("Gather")
    assert (gather.get("input"), gather.get("numDigits"), gather.get("finishOnKey")) == ("dtmf speech", "15", "#")
    assert gather.get("hints") == "zero,oh,one,two,three,four,five,six,seven,eight,nine"
    short = call.press("12345")  # Twilio strips the finishOnKey from Digits
    assert "doesn't look like a full phone number" in " ".join(short.said())
    confirm = call.press("5551234567")
    assert "You entered 5 5 5 1 2 3 4 5 6 7" in " ".join(confirm.said())
    assert confirm.find("Gather").get("numDigits") == "1"
    again = call.press("2")  # "enter it again"
    assert again.find("Gather").get("numDigits") == "15"
    call.press("447700900123")
    done = call.press("1")
    assert "4 4 7 7 0 0 9 0 0 1 2 3" in done.said()[0] and done.verbs()[-1] == "Hangup"
    assert turn_number(call.replies[-2].action("Gather")) == 7


def test_callback_at_a_spoken_number_confirmed_by_yes(twilio, redis_conn):
    call = answered(twilio)
    call.press("3")
    call.press("2")
    confirm = call.speak("5 5 5, 1 2 3, 4 5 6 7.", confidence=0.8)  # Twilio writes spoken digits as numerals
    assert "You entered 5 5 5 1 2 3 4 5 6 7" in " ".join(confirm.said())
    gather = confirm.find("Gather")
    assert (gather.get("input"), gather.get("hints")) == ("dtmf speech", "yes,no,correct,one,two")
    done = call.speak("Yes, that's right.")
    assert "5 5 5 1 2 3 4 5 6 7" in done.said()[0] and done.verbs()[-1] == "Hangup"
    assert CallStore(redis_conn).get(call.sid).outcome == "callback_requested"


def test_no_input_and_bad_choices_run_out_into_links_anyway(twilio, redis_conn):
    call = answered(twilio)
    first = call.silence()
    assert "didn't hear a choice" in first.said()[0] and first.find("Gather") is not None
    second = call.press("9")
    assert "isn't one of the options" in second.said()[0]
    last = call.speak("banana")
    assert "send Skype's support links to you by text message anyway" in " ".join(last.said())
    assert last.verbs()[-1] == "Hangup"
    assert len(queued(redis_conn)) == 1


def test_callback_choice_exhausted_uses_the_caller_id(twilio, redis_conn):
    call = answered(twilio)
    call.press("3")
    call.silence()
    call.silence()
    done = call.silence()
    assert "call you back at" in " ".join(done.said()) and done.verbs()[-1] == "Hangup"


def test_known_contact_is_put_through_and_the_call_ends_when_the_bridge_ends(twilio, redis_conn):
    call = TwilioCall(twilio, caller=KNOWN)
    first = call.answer()
    assert first.verbs() == ["Say", "Dial"] and "Hi Sam, putting you through to Alex" in first.said()[0]
    dial = first.find("Dial")
    assert (dial.get("timeout"), dial.get("action"), dial.find("Number").text) == (
        "25",
        f"{PUBLIC_BASE}/twilio/voice/dial?t=1",
        "+442079460100",
    )
    done = call.dial_result("completed", duration=42)
    assert done.verbs() == ["Hangup"]
    assert CallStore(redis_conn).get(call.sid).ended_at is not None


def test_owner_busy_leads_to_voicemail_and_the_email_follow_up(twilio, redis_conn):
    call = TwilioCall(twilio, caller=KNOWN)
    call.answer()
    voicemail = call.dial_result("busy")
    assert voicemail.verbs() == ["Say", "Record"] and "leave a message" in voicemail.said()[0]
    record = voicemail.find("Record")
    assert record.attrib == {
        "maxLength": "120",
        "timeout": "5",
        "finishOnKey": "#",
        "playBeep": "true",
        "action": f"{PUBLIC_BASE}/twilio/voice/record?t=2",
        "method": "POST",
    }
    done = call.recorded(17)
    assert done.verbs() == ["Say", "Hangup"]
    assert len(queued(redis_conn)) == 1  # the voicemail email


def test_owner_in_business_hours_no_answer_then_empty_voicemail(flask_twilio, redis_conn):
    call = TwilioCall(flask_twilio)
    call.answer()
    transfer = call.press("0")
    assert transfer.verbs() == ["Say", "Dial"] and "Please hold" in transfer.said()[0]
    voicemail = call.dial_result("no-answer")
    assert voicemail.find("Record") is not None
    done = call.recorded(0)
    assert done.verbs()[-1] == "Hangup"


def test_owner_after_hours_goes_straight_to_voicemail(flask_twilio, redis_conn, clock):
    clock.at = CLOSED_HOURS
    call = TwilioCall(flask_twilio)
    call.answer()
    reply = call.press("0")
    assert reply.verbs() == ["Say", "Say", "Record"] and "Alex is not available" in reply.said()[0]
    assert call.recorded(30).verbs()[-1] == "Hangup"


def test_owner_route_on_the_real_clock(twilio, redis_conn):
    """Over gunicorn the clock is real: in hours the owner is dialled, out of hours the caller hears why not."""
    call = answered(twilio)
    reply = call.press("0")
    if reply.find("Dial") is not None:
        reply = call.dial_result("failed")
    else:
        assert "Alex is not available" in reply.said()[0]
    assert reply.find("Record") is not None
    assert call.recorded(5).verbs()[-1] == "Hangup"
    assert CallStore(redis_conn).get(call.sid).path[-1] == "goodbye"


def test_the_voice_url_can_name_the_flow(twilio, redis_conn):
    call = TwilioCall(twilio)
    assert_menu(call.answer("/twilio/voice?flow=skype-receptionist"), 1)
    assert CallStore(redis_conn).get(call.sid).flow_id == "skype-receptionist"
    missing = TwilioCall(twilio).answer("/twilio/voice?flow=no-such-flow")
    assert missing.verbs() == ["Say", "Hangup"] and "not Skype" in missing.said()[0]  # the fallback message
