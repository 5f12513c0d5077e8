"""The bridged transfer's whisper on Twilio, through signed webhooks: `<Dial><Number url=...>`, the prompt and
the accept key on the owner's leg, and the dial action's `DialBridged` (the owner declined) -> voicemail."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

from tests.twilio.twilio_caller import PUBLIC_BASE, STRANGER, TwilioCall, new_sid

OWNER = "+442079460100"


def owner_leg(call: TwilioCall, number_element) -> dict:
    """What Twilio posts on the owner's leg: its own CallSid, the parent call's, the owner as To."""
    return {
        "CallSid": new_sid(),
        "ParentCallSid": call.sid,
        "AccountSid": "AC" + "0" * 32,
        "From": call.called,
        "To": OWNER,
        "CallStatus": "in-progress",
        "Direction": "outbound-dial",
        "ApiVersion": "2010-04-01",
    }


def dial_the_owner(flask_twilio) -> tuple[TwilioCall, object]:
    call = TwilioCall(flask_twilio)
    call.answer()
    transfer = call.press("0")
    assert transfer.verbs() == ["Say", "Dial"]
    number = transfer.find("Dial/Number")
    assert number.text == OWNER and number.get("method") == "POST"
    return call, number


def test_the_owner_hears_who_is_calling_and_takes_the_call_with_1(flask_twilio, redis_conn):
    call, number = dial_the_owner(flask_twilio)
    url = number.get("url")
    assert url.startswith(f"{PUBLIC_BASE}/twilio/voice/whisper?")
    assert parse_qs(urlsplit(url).query)["accept"] == ["1"]
    whisper = flask_twilio.post(url, owner_leg(call, number))
    assert whisper.status == 200 and whisper.verbs() == ["Gather", "Say", "Hangup"]
    gather = whisper.find("Gather")
    assert (gather.get("numDigits"), gather.get("input")) == ("1", "dtmf")
    said = gather.find("Say").text
    assert f"A caller from {STRANGER}, looking for Skype support. Press 1 to take the call" in said
    accepted = flask_twilio.post(urljoin(url, gather.get("action")), {**owner_leg(call, number), "Digits": "1"})
    assert accepted.status == 200 and accepted.verbs() == []  # an empty response ends the whisper: bridged
    done = call._post(
        call.last.action("Dial"), call.params(DialCallStatus="completed", DialCallDuration=40, DialBridged="true")
    )
    assert done.verbs() == ["Hangup"]


def test_the_owner_pressing_2_sends_the_caller_to_voicemail(flask_twilio, redis_conn):
    call, number = dial_the_owner(flask_twilio)
    whisper = flask_twilio.post(number.get("url"), owner_leg(call, number))
    answer_url = urljoin(number.get("url"), whisper.find("Gather").get("action"))
    declined = flask_twilio.post(answer_url, {**owner_leg(call, number), "Digits": "2"})
    assert declined.verbs() == ["Say", "Hangup"]
    voicemail = call._post(
        call.last.action("Dial"), call.params(DialCallStatus="completed", DialCallDuration=6, DialBridged="false")
    )
    assert voicemail.find("Record") is not None


def test_a_whisper_url_with_a_forged_prompt_is_refused(flask_twilio, redis_conn):
    call, number = dial_the_owner(flask_twilio)
    signed = flask_twilio.post(number.get("url"), owner_leg(call, number))
    assert signed.status == 200
    forged = number.get("url").replace("accept=1", "accept=9")
    url = urljoin(PUBLIC_BASE, forged)
    reply = flask_twilio.transport.post(url, owner_leg(call, number), {"X-Twilio-Signature": "forged"})
    assert reply[0] == 403


def test_only_a_bridged_transfer_with_a_whisper_gets_a_whisper_url():
    import xml.etree.ElementTree as ET

    from ivr.channels.twilio import voice
    from ivr.engine import actions as A

    urls = voice.TurnUrls("/g?t=1", "/d?t=1", "/r?t=1", whisper="/w")

    def dialled(transfer):
        return ET.fromstring(voice.render([transfer], urls)).find("Dial")[0]

    whispered = dialled(A.Transfer(target="sip:owner@pbx.example", whisper="Press 1.", accept_digit="5"))
    assert whispered.tag == "Sip" and parse_qs(urlsplit(whispered.get("url")).query) == {
        "text": ["Press 1."],
        "accept": ["5"],
    }
    assert dialled(A.Transfer(target="+442079460100")).get("url") is None
    assert dialled(A.Transfer(target="+442079460100", whisper="Press 1.", mode="refer")).get("url") is None
    assert voice.dial_event({"DialCallStatus": "completed", "DialBridged": "false"}, 1.0).reason == "declined"
