"""chat and callback tasks through a real worker and the fake Twilio API: links, queue, guard, retries, hours."""

import re
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from ivr.engine.schedule import Schedule
from ivr.jobs import rq_job_id
from ivr.jobs.callback import GREETING
from ivr.store import keys
from ivr.store.callbacks import CallbackStore
from ivr.store.calls import CallStore
from ivr.store.chats import ChatStore
from ivr.store.followups import FollowupStore


def closed_now_spec() -> dict:
    """Open one hour a day, starting three hours from now (UTC): certainly closed at the time of the test."""
    start = (datetime.now(timezone.utc).hour + 3) % 24
    hours = f"{start:02d}:00-{start + 1:02d}:00" if start < 23 else "23:00-24:00"
    return {"timezone": "UTC", "weekly": {d: [hours] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def test_chat_room_and_link_by_sms_and_a_rerun_reuses_the_room(harness, twilio_api):
    harness.queue_job("chat", "c1:send_chat_link:1", {"to": "+12125550001", "message": "Chat with us:"})
    harness.work()
    assert len(twilio_api.messages) == 1
    body = twilio_api.messages[0]["body"]
    token = re.search(r"https://ivr\.example\.test/chat/([\w-]+)$", body).group(1)
    assert len(token) >= 32  # unguessable
    chats = ChatStore(harness.conn)
    room_id = chats.room_for_token(token)
    assert chats.room(room_id)["call_id"] == "call-1"
    chats.post(room_id, author="owner", text="hello", at=1.0)
    assert [m.text for m in chats.read_unseen(room_id, "caller")] == ["hello"]
    assert FollowupStore(harness.conn).get("c1:send_chat_link:1")["status"] == "delivered"


def test_callback_is_queued_and_placed_through_twilio_calls(harness, twilio_api):
    harness.queue_job("callback", "c1:request_callback:1", {"number": "+1 212 555 0001", "schedule": None})
    harness.work()  # the request: guard, queue, schedule the dial job for now
    harness.work()  # the scheduler moves the due dial job onto the queue; it runs
    assert [(c["to"], c["from"]) for c in twilio_api.calls] == [("+12125550001", "+15550000000")]
    assert GREETING in twilio_api.calls[0]["twiml"] and "<Dial>" not in twilio_api.calls[0]["twiml"]
    request = CallbackStore(harness.conn).get("c1:request_callback:1")
    assert request.status == "completed" and request.number == "+12125550001"
    assert [a["outcome"] for a in request.attempts] == ["placed"]
    assert request.attempts[0]["detail"] == twilio_api.calls[0]["sid"]
    record = FollowupStore(harness.conn).get("c1:request_callback:1")
    assert record["status"] == "delivered"
    assert [a["status"] for a in record["attempts"]] == ["scheduled", "delivered"]


def test_an_answered_callback_can_be_put_through(harness, twilio_api):
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001", "connect_to": "+12125550100"})
    harness.work()
    harness.work()
    assert "<Dial>+12125550100</Dial>" in twilio_api.calls[0]["twiml"]


def test_toll_fraud_guard_refuses_other_regions_and_rate_limits(harness, twilio_api):
    harness.queue_job("callback", "c1:cb:1", {"number": "+442071234567"})  # GB: not the default region (US)
    for n in range(4):
        harness.queue_job("callback", f"c{n}:cb:2", {"number": "+12125550009"}, call_id=f"c{n}")
    harness.work()
    harness.work()
    callbacks = CallbackStore(harness.conn)
    foreign = callbacks.get("c1:cb:1")
    assert (foreign.status, foreign.reason) == ("refused", "region GB not allowed (IVR_CALLBACK_REGIONS)")
    statuses = [callbacks.get(f"c{n}:cb:2").status for n in range(4)]
    assert statuses == ["completed", "completed", "completed", "refused"]
    assert "rate limit" in callbacks.get("c3:cb:2").reason
    assert FollowupStore(harness.conn).get("c1:cb:1")["status"] == "refused"
    assert sorted(c["to"] for c in twilio_api.calls) == ["+12125550009"] * 3  # refused numbers never dialled


def test_every_spelling_of_a_number_shares_one_rate_limit(harness, twilio_api):
    """Issue 12: each spelling had its own counter, so the 4th request came through in fullwidth digits."""
    spellings = ["+12125557777", "+1 (212) 555-7777", "+1212555777" + "７", "+1٢١٢٥٥٥٧٧٧٧"]
    for n, spelling in enumerate(spellings):
        harness.queue_job("callback", f"c{n}:cb:1", {"number": spelling}, call_id=f"c{n}")
    harness.work()
    harness.work()
    callbacks = CallbackStore(harness.conn)
    requests = [callbacks.get(f"c{n}:cb:1") for n in range(4)]
    assert [r.status for r in requests] == ["completed", "completed", "completed", "refused"]
    assert {r.number for r in requests} == {"+12125557777"}  # stored as the number dialled
    assert "rate limit" in requests[3].reason
    assert [c["to"] for c in twilio_api.calls] == ["+12125557777"] * 3  # exactly the normalized number


def test_the_overall_callback_limit_holds_across_numbers(harness, settings, twilio_api):
    harness.settings = settings.with_overrides(callback_global_rate_limit_per_day=2)
    for n in range(3):
        harness.queue_job("callback", f"c{n}:cb:1", {"number": f"+1212555000{n}"}, call_id=f"c{n}")
    harness.work()
    harness.work()
    callbacks = CallbackStore(harness.conn)
    assert [callbacks.get(f"c{n}:cb:1").status for n in range(3)] == ["completed", "completed", "refused"]
    assert "all numbers together" in callbacks.get("c2:cb:1").reason


def test_premium_shared_cost_and_unicode_premium_numbers_never_reach_twilio(harness, settings, twilio_api):
    """Issue 12: `+1٩٠٠٥٥٥١٢٣٤` and `+1900５５５１２３６` passed the guard and went verbatim to the Calls API."""
    harness.settings = settings.with_overrides(callback_regions=("US", "GB", "ES"))
    numbers = [
        "+1٩٠٠٥٥٥١٢٣٤",
        "+1900５５５１２３٦",
        "+19005551234",
        "+448712345678",
        "+34901123456",
        "+445512345678",
        "tester",
        "+1555",
        "+882345678901",
    ]
    for n, number in enumerate(numbers):
        harness.queue_job("callback", f"c{n}:cb:1", {"number": number}, call_id=f"c{n}")
        harness.queue_job("sms", f"c{n}:sms:1", {"to": number, "message": "hi"}, call_id=f"c{n}")
    harness.work()
    harness.work()
    callbacks, followups = CallbackStore(harness.conn), FollowupStore(harness.conn)
    reasons = [callbacks.get(f"c{n}:cb:1").reason for n in range(len(numbers))]
    assert reasons[:6] == ["premium-rate number"] * 4 + ["shared-cost number", "uan number"]
    assert set(reasons[6:]) == {"not a valid phone number"}
    assert callbacks.get("c0:cb:1").number == "+19005551234"  # the refusal names the number as dialled
    assert all(followups.get(f"c{n}:sms:1")["status"] == "failed" for n in range(len(numbers)))
    assert twilio_api.calls == [] and twilio_api.messages == []


def test_a_caller_id_that_is_not_a_number_gets_no_sms_and_the_timeline_says_so(harness, twilio_api):
    harness.queue_job("sms", "t1:send_support_links:1", {"caller": "tester", "message": "Skype help"}, call_id="t1")
    harness.queue_job("callback", "t1:request_callback:1", {"number": "tester"}, call_id="t1")
    harness.work()
    assert twilio_api.messages == [] and twilio_api.calls == []
    assert "not retried" in FollowupStore(harness.conn).get("t1:send_support_links:1")["detail"]
    notes = [e["data"] for e in CallStore(harness.conn).timeline("t1") if e["kind"] == "note"]
    assert sorted((n["event"], n["data"]["number"], n["data"]["reason"]) for n in notes) == [
        ("callback_refused", "tester", "not a valid phone number"),
        ("sms_refused", "tester", "not a valid phone number"),
    ]


def test_keypad_digits_are_read_in_the_flows_country(harness, settings, twilio_api):
    harness.queue_job("callback", "g1:cb:1", {"number": "442079460123", "country": "GB"}, call_id="g1")
    harness.queue_job("callback", "g2:cb:1", {"number": "02079460123", "country": "GB"}, call_id="g2")
    harness.queue_job("callback", "g3:cb:1", {"number": "2125550123"}, call_id="g3")  # IVR_DEFAULT_REGION (US)
    harness.queue_job("callback", "g4:cb:1", {"number": "02079460123"}, call_id="g4")  # no GB number in the US
    harness.work()
    harness.work()
    callbacks = CallbackStore(harness.conn)
    assert [callbacks.get(f"g{n}:cb:1").number for n in range(1, 5)] == [
        "+442079460123",
        "+442079460123",
        "+12125550123",
        "02079460123",
    ]
    assert callbacks.get("g4:cb:1").status == "refused"
    assert sorted(c["to"] for c in twilio_api.calls) == ["+12125550123", "+442079460123", "+442079460123"]


def test_a_connect_to_the_policy_refuses_refuses_the_callback(harness, twilio_api):
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001", "connect_to": "+1٩٠٠٥٥٥١٢٣٤"})
    harness.queue_job(
        "callback", "c2:cb:1", {"number": "+12125550002", "connect_to": "+1 (212) 555-0100"}, call_id="c2"
    )
    harness.work()
    harness.work()
    callbacks = CallbackStore(harness.conn)
    assert (callbacks.get("c1:cb:1").status, callbacks.get("c1:cb:1").reason) == (
        "refused",
        "connect_to +19005551234: premium-rate number",
    )
    assert callbacks.get("c2:cb:1").connect_to == "+12125550100"
    assert [c["to"] for c in twilio_api.calls] == ["+12125550002"]
    assert "<Dial>+12125550100</Dial>" in twilio_api.calls[0]["twiml"]


def test_failed_dials_are_retried_with_spacing_and_every_attempt_recorded(harness, twilio_api):
    twilio_api.fail_next(500, 20500, "Internal Server Error", times=5)
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001"})
    for _ in range(5):
        harness.work()
    request = CallbackStore(harness.conn).get("c1:cb:1")
    assert request.status == "failed"
    assert [a["outcome"] for a in request.attempts] == ["failed"] * 3  # IVR_CALLBACK_MAX_ATTEMPTS
    assert all("20500" in a["detail"] for a in request.attempts)
    assert twilio_api.calls == []
    assert FollowupStore(harness.conn).get("c1:cb:1")["status"] == "failed"


def test_callback_waits_for_the_next_open_business_hour(harness, twilio_api):
    spec = closed_now_spec()
    schedule = Schedule.from_spec(spec, ZoneInfo("UTC"))
    now = time.time()
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001", "schedule": spec})
    harness.work()
    request = CallbackStore(harness.conn).get("c1:cb:1")
    expected = schedule.next_open(now)
    assert abs(request.scheduled_for - expected) < 5
    assert request.position == 1
    assert 2 * 3600 - 60 < expected - now < 3 * 3600 + 60
    registry = harness.queue.scheduled_job_registry  # the dial waits in RQ's scheduler until opening time
    assert registry.get_job_ids() == [f"{rq_job_id('c1:cb:1')}-dial1"]
    when = registry.get_scheduled_time(f"{rq_job_id('c1:cb:1')}-dial1")
    assert abs(when.replace(tzinfo=timezone.utc).timestamp() - expected) < 2
    harness.work()
    assert twilio_api.calls == []
    assert FollowupStore(harness.conn).get("c1:cb:1")["status"] == "scheduled"


class RecordingDialer:
    """A CallbackDialer like the SIP channel's: our worker must use it when IVR_CALLBACK_CHANNEL=sip."""

    def __init__(self, fail_times: int = 0):
        self.placed, self.fail_times = [], fail_times

    def place(self, number, request):
        from ivr.jobs.callback import DialError

        if self.fail_times:
            self.fail_times -= 1
            raise DialError("486 Busy Here")
        self.placed.append(number)
        return f"sip-call-{len(self.placed)}"


def test_sip_callbacks_go_through_the_channels_dialer(harness, settings, twilio_api):
    harness.settings = settings.with_overrides(callback_channel="sip")
    dialer = RecordingDialer(fail_times=1)
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001"})
    for _ in range(3):
        harness.work(dialers={"sip": dialer})
    request = CallbackStore(harness.conn).get("c1:cb:1")
    assert [(a["outcome"], a["detail"]) for a in request.attempts] == [
        ("failed", "486 Busy Here"),
        ("placed", "sip-call-1"),
    ]
    assert dialer.placed == ["+12125550001"] and twilio_api.calls == []


@pytest.mark.slow
def test_sip_callbacks_without_a_running_sip_process_fail_visibly(harness, settings):
    harness.settings = settings.with_overrides(callback_channel="sip")
    harness.queue_job("callback", "c1:cb:1", {"number": "+12125550001"})
    for _ in range(4):
        harness.work()
    request = CallbackStore(harness.conn).get("c1:cb:1")
    assert request.status == "failed"
    assert request.attempts[0]["detail"].startswith("no SIP process took the call")


def test_a_chat_link_for_a_refused_number_opens_no_room(harness, twilio_api):
    harness.queue_job("chat", "t1:send_chat_link:1", {"caller": "tester", "message": "Chat:"}, call_id="t1")
    harness.work()
    assert twilio_api.messages == [] and harness.conn.zcard(keys.CHAT_ROOMS) == 0
    assert FollowupStore(harness.conn).get("t1:send_chat_link:1")["status"] == "failed"
    notes = [e["data"]["event"] for e in CallStore(harness.conn).timeline("t1") if e["kind"] == "note"]
    assert notes == ["sms_refused"]
