"""The queue step on Twilio, through signed webhooks: `<Enqueue>` with a wait URL that announces the place and
plays the hold sound, the contacts called through the (local) REST API for the caller at the head of the line,
their whisper and `<Dial><Queue>`, `<Leave/>` after max_wait, and the Enqueue action's QueueResult -> the flow."""

from __future__ import annotations

import io
import wave
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from ivr.store.queues import QueueBoard
from tests.twilio.twilio_caller import IVR_NUMBER, TwilioCall, new_sid

MOBILE = "+442079460100"
FLOW = """
id: queued
variables:
  owner: {mobile: "MOBILE"}
start: wait
steps:
  wait:
    type: queue
    say: "Please hold."
    contacts: ["{{owner.mobile}}", "+19005550123"]
    ring_timeout: 15
    max_wait: 120
    announce_every: 20
    announce: "You are number {{queue.position}} in line."
    whisper: "A caller from {{caller.number}} is waiting. Press 1 to take the call."
    exhausted: later
  later:
    type: hangup
    say: "Nobody could take your call ({{queue.reason}})."
"""


@pytest.fixture
def queue_app(own_flow):
    return own_flow(FLOW.replace("MOBILE", MOBILE))


def queued_call(poster) -> tuple[TwilioCall, object]:
    call = TwilioCall(poster)
    reply = call.answer()
    assert reply.verbs() == ["Say", "Enqueue"]
    return call, reply.find("Enqueue")


def wait(call: TwilioCall, enqueue, position: int, waited: int):
    params = call.params(QueuePosition=position, QueueTime=waited, QueueSid="QU" + "1" * 32, CurrentQueueSize=2)
    reply = call.poster.post(urljoin(call.last.url, enqueue.get("waitUrl")), params)
    assert reply.status == 200, reply.body
    return reply


def test_callers_hear_their_places_and_the_head_of_the_line_has_the_contacts_called(queue_app, twilio_api, redis_conn):
    app, poster = queue_app
    first, enqueue = queued_call(poster)
    assert enqueue.text == "queued.wait" and enqueue.get("waitUrlMethod") == "POST"
    reply = wait(first, enqueue, 1, 0)
    assert reply.verbs() == ["Say", "Play"] and reply.said() == ["You are number 1 in line."]
    assert [(c["to"], c["from"]) for c in twilio_api.calls] == [(MOBILE, IVR_NUMBER)]  # the premium number is not
    hold = app.test_client().get(urlsplit(reply.find("Play").text).path)
    with wave.open(io.BytesIO(hold.data)) as sound:
        assert (sound.getframerate(), sound.getnframes()) == (8000, 20 * 8000)  # until the next announcement
    second, _ = queued_call(poster)
    assert wait(second, enqueue, 2, 0).said() == ["You are number 2 in line."]
    assert len(twilio_api.calls) == 1  # only the head of the line rings the owner
    wait(first, enqueue, 1, 5)  # the same ring slot: not called twice
    assert len(twilio_api.calls) == 1
    assert wait(first, enqueue, 1, 16).verbs() == ["Say", "Play"]  # the next slot: the next callable contact
    assert [c["to"] for c in twilio_api.calls] == [MOBILE, MOBILE]
    board = QueueBoard(redis_conn)
    assert [(w.call_id, w.position) for w in board.waiting("queued.wait", app.config["IVR_CLOCK"].at)] == [
        (first.sid, 1),
        (second.sid, 2),
    ]
    agent_url = twilio_api.calls[0]["url"]
    agent = {"CallSid": new_sid(), "AccountSid": "AC" + "0" * 32, "From": IVR_NUMBER, "To": MOBILE}
    whisper = poster.post(agent_url, agent)
    assert whisper.verbs() == ["Gather", "Say", "Hangup"]
    assert "A caller from +442079460001 is waiting" in whisper.find("Gather/Say").text
    taken = poster.post(urljoin(agent_url, whisper.find("Gather").get("action")), {**agent, "Digits": "1"})
    assert taken.verbs() == ["Dial", "Say"] and taken.find("Dial/Queue").text == "queued.wait"
    declined = poster.post(urljoin(agent_url, whisper.find("Gather").get("action")), {**agent, "Digits": "2"})
    assert declined.verbs() == ["Say", "Hangup"]
    done = first._post(first.last.action("Enqueue"), first.params(QueueResult="bridged", QueueTime=30))
    assert done.verbs() == ["Hangup"]
    assert [w.call_id for w in board.waiting("queued.wait", app.config["IVR_CLOCK"].at)] == [second.sid]
    gone = second._post(second.last.action("Enqueue"), second.params(QueueResult="hangup", QueueTime=31))
    assert gone.verbs() == ["Hangup"] and board.waiting("queued.wait", app.config["IVR_CLOCK"].at) == []


def test_a_queue_whose_contacts_are_all_refused_is_left_at_once(queue_app, twilio_api):
    _, poster = queue_app
    call, enqueue = queued_call(poster)
    args = parse_qs(urlsplit(enqueue.get("waitUrl")).query)
    only_premium = urljoin(call.last.url, enqueue.get("waitUrl")).replace(
        "contacts=" + args["contacts"][0].replace("+", "%2B").replace("\n", "%0A"), "contacts=%2B19005550123"
    )
    reply = call.poster.post(only_premium, call.params(QueuePosition=1, QueueTime=0))
    assert reply.verbs() == ["Leave"] and twilio_api.calls == []
    result = call._post(call.last.action("Enqueue"), call.params(QueueResult="leave", QueueTime=1))
    assert result.said() == ["Nobody could take your call (refused)."]


def test_max_wait_leaves_the_queue_and_the_flow_goes_on_at_exhausted(queue_app):
    _, poster = queue_app
    call, enqueue = queued_call(poster)
    assert wait(call, enqueue, 3, 120).verbs() == ["Leave"]
    result = call._post(call.last.action("Enqueue"), call.params(QueueResult="leave", QueueTime=121))
    assert result.said() == ["Nobody could take your call (exhausted)."]
    assert parse_qs(urlsplit(call.replies[0].action("Enqueue")).query)["m"] == ["120"]


def test_long_announcement_intervals_still_refresh_the_place_every_30_seconds():
    from ivr.channels.twilio import hold_queue

    args = {"announce": "Number {position}.", "every": "90", "max": "600"}
    said = {
        t: hold_queue.wait_twiml(args, {"QueueTime": str(t), "QueuePosition": "2"}, None, None) for t in (0, 33, 66, 93)
    }
    assert ["<Say>Number 2.</Say>" in said[t] for t in (0, 33, 66, 93)] == [True, False, False, True]
    assert all('<Pause length="30"' in doc for doc in said.values())
