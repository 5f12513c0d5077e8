"""A flow's whole-call recording on Twilio, through signed webhooks: the consent prompt, then
`<Start><Recording>` before the flow goes on; the recording's status callback puts it in the call's timeline
(only a recording on Twilio's API host counts)."""

from __future__ import annotations

from ivr.store.calls import CallStore
from tests.twilio.twilio_caller import PUBLIC_BASE, TwilioCall

FLOW = """
id: recorded
record:
  consent: "This call is recorded."
start: bye
steps:
  bye:
    type: hangup
    say: "Goodbye."
"""
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Recordings/RE" + "1" * 32


def test_the_caller_hears_the_consent_then_the_whole_call_is_recorded_into_its_timeline(own_flow, redis_conn):
    _, poster = own_flow(FLOW)
    call = TwilioCall(poster)
    reply = call.answer()
    assert reply.verbs() == ["Say", "Start", "Say", "Hangup"] and reply.said() == ["This call is recorded.", "Goodbye."]
    assert reply.find("Start/Recording").attrib == {
        "channels": "mono",
        "recordingStatusCallback": f"{PUBLIC_BASE}/twilio/voice/recording",
        "recordingStatusCallbackMethod": "POST",
        "recordingStatusCallbackEvent": "completed",
    }
    for url in ("/etc/passwd", RECORDING):  # a local path is never a recording
        params = call.params(
            RecordingSid="RE" + "1" * 32, RecordingUrl=url, RecordingDuration=9, RecordingStatus="completed"
        )
        answer = poster.post("/twilio/voice/recording", params)
        assert answer.status == 200 and answer.body.count('"kept":true') == (url == RECORDING)
    done = [e["data"] for e in CallStore(redis_conn).timeline(call.sid) if e["data"].get("type") == "recording_done"]
    assert [(d["url"], d["duration"]) for d in done] == [(RECORDING, 9.0)]
