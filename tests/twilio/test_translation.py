"""The pure translation layers: engine actions -> TwiML / SMS text, Twilio parameters -> engine events."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ivr.channels.twilio import sms, voice
from ivr.engine import actions as A
from ivr.engine import events as E

URLS = voice.TurnUrls("/g?t=1", "/d?t=1", "/r?t=1")


def tree(actions, play_url=None) -> ET.Element:
    return ET.fromstring(voice.render(actions, URLS, play_url))


def test_only_the_trailing_interruptible_prompts_go_inside_the_gather():
    doc = tree(
        [
            A.Say(text="one", barge_in=True),
            A.Say(text="two", barge_in=False),
            A.Say(text="three"),
            A.Gather(step="m", input=("dtmf",)),
        ]
    )
    assert [c.tag for c in doc] == ["Say", "Say", "Gather"]
    assert [s.text for s in doc.find("Gather")] == ["three"]


def test_a_gather_without_barge_in_plays_every_prompt_first():
    doc = tree([A.Say(text="one"), A.Gather(step="m", barge_in=False, timeout=2.2)])
    assert [c.tag for c in doc] == ["Say", "Gather"] and len(doc.find("Gather")) == 0
    assert doc.find("Gather").get("bargeIn") == "false" and doc.find("Gather").get("timeout") == "3"


def test_voices_twilio_knows_pass_others_do_not():
    doc = tree([A.Say(text="a", voice="Polly.Joanna", language="en-GB"), A.Say(text="b", voice="en-us+f3"), A.Hangup()])
    first, second = doc.findall("Say")
    assert (first.get("voice"), first.get("language")) == ("Polly.Joanna", "en-GB")
    assert second.get("voice") is None


def test_sip_transfer_with_caller_id_and_play_urls():
    doc = tree(
        [A.Say(text="hold on"), A.Transfer(target="sip:owner@pbx.example", timeout=10, caller_id="+1555")],
        play_url=lambda say: f"/audio/{len(say.text)}.wav",
    )
    assert [c.tag for c in doc] == ["Play", "Dial"] and doc.find("Play").text == "/audio/7.wav"
    dial = doc.find("Dial")
    assert (dial.get("callerId"), dial.get("timeout"), dial.find("Sip").text) == (
        "+1555",
        "10",
        "sip:owner@pbx.example",
    )


def test_a_turn_that_waits_for_nothing_ends_with_hangup():
    assert [c.tag for c in tree([A.Say(text="bye"), A.Log(event="x"), A.Job("sms", {}, "k")])] == ["Say", "Hangup"]


def test_webhook_parameters_become_events():
    assert voice.gather_event({"Digits": "12#"}, 1.0) == E.Digits(digits="12#", at=1.0)
    assert voice.gather_event({"SpeechResult": " live chat ", "Confidence": "0.42"}, 1.0) == E.Speech(
        text="live chat", at=1.0, confidence=0.42
    )
    assert voice.gather_event({"Digits": "", "SpeechResult": ""}, 1.0) == E.NoInput(at=1.0)
    assert voice.dial_event({"DialCallStatus": "answered"}, 1.0).ok
    assert not voice.dial_event({"DialCallStatus": "busy"}, 1.0).ok
    assert not voice.dial_event({}, 1.0).ok
    twilio_url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/RE{'1' * 32}"
    assert voice.record_event({"RecordingUrl": twilio_url, "RecordingDuration": "x"}, 1.0) == E.RecordingDone(
        url=twilio_url, duration=0.0, at=1.0
    )
    for elsewhere in (
        "https://r",
        "secret-key",
        "/etc/passwd",
        "file:///etc/passwd",
        "recording:CA1-1",
        twilio_url.replace("https://", "http://"),
        twilio_url + "?x=1",
        twilio_url + "/../../x",
    ):
        assert voice.record_event({"RecordingUrl": elsewhere, "RecordingDuration": "5"}, 1.0).url == ""


def test_sms_replies_become_digits_or_speech():
    assert sms.reply_event(" 1. ", 1.0) == E.Digits(digits="1", at=1.0)
    assert sms.reply_event("+44 (20) 7946-0958#", 1.0) == E.Digits(digits="442079460958#", at=1.0)
    assert sms.reply_event("call me", 1.0) == E.Speech(text="call me", at=1.0)
    assert sms.reply_event("   ", 1.0) == E.NoInput(at=1.0)


def test_sms_text_and_voice_only_waits():
    actions = [A.Say(text="Hold on."), A.Transfer(target="+1555")]
    assert sms.reply_text(actions) == "Hold on."
    assert sms.automatic_result(actions, 2.0) == E.TransferResult(ok=False, reason="sms", at=2.0)
    assert sms.automatic_result([A.Record()], 2.0) == E.RecordingDone(at=2.0)
    assert sms.automatic_result([A.Say(text="menu"), A.Gather(step="m")], 2.0) is None
    assert len(sms.reply_text([A.Say(text="x" * 2000)])) == sms.MAX_SMS_CHARS
    assert "<Message>" not in sms.render("")


def test_an_error_goodbye_becomes_the_key_information():
    failed = [A.Say(text="menu"), A.Log(event="error"), A.Say(text="Sorry.", barge_in=False), A.Hangup(reason="error")]
    explained = voice.explain_error(failed, "Not Skype.")
    assert [a.text for a in explained if isinstance(a, A.Say)] == ["menu", "Not Skype."]
    normal = [A.Say(text="Goodbye."), A.Hangup()]
    assert voice.explain_error(normal, "Not Skype.") == normal


def test_a_transfer_dials_the_normalized_number_and_never_a_refused_one():
    doc = tree([A.Transfer(target="+1 (２１２) ٥٥٥-0123", timeout=5)])
    assert doc.find("Dial").find("Number").text == "+12125550123"
    assert tree([A.Transfer(target="tel:+44 20 7946 0123")]).find("Dial").find("Number").text == "+442079460123"
    for refused in ("+1٩٠٠٥٥٥١٢٣٤", "+1900５５５１２３６", "tester", "+12125550123@evil", "+1555"):
        doc = tree([A.Say(text="putting you through"), A.Transfer(target=refused)])
        assert doc.find("Dial") is None and [el.tag for el in doc] == ["Say", "Redirect"]
        assert doc.find("Redirect").text == URLS.dial  # the dial action: no DialCallStatus, a failed transfer
    gb = voice.PhonePolicy(default_region="GB")
    assert (
        ET.fromstring(voice.render([A.Transfer(target="020 7946 0123")], URLS, policy=gb))
        .find("Dial")
        .find("Number")
        .text
        == "+442079460123"
    )
