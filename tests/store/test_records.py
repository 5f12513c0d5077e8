"""Store records against a real redis-server: calls, follow-ups, flows + revisions, callbacks, chats, retention."""

import pytest
from rq import Queue

from ivr.call_session.writes import apply_write, new_write
from ivr.store import analytics, keys
from ivr.store.callbacks import CallbackStatus, CallbackStore
from ivr.store.calls import CallStore
from ivr.store.chats import ChatStore, RoomNotFound
from ivr.store.flows import FlowStore, RevisionNotFound
from ivr.store.followups import FollowupStore, Status
from ivr.store.phone_limits import Limits, PhoneRateLimiter
from ivr.store.sessions import SessionStore


def test_call_record_timeline_index_and_live_set(redis_conn):
    calls = CallStore(redis_conn)
    calls.start("c1", channel="sip", caller="+15550001", called="100", started_at=1000.0, flow_id="main")
    calls.start("c2", channel="twilio", caller="+15550002", called="100", started_at=2000.0)
    calls.append(
        "c1",
        [
            {"at": 1000.0, "kind": "event", "data": {"type": "call_started"}},
            {"at": 1000.5, "kind": "action", "data": {"type": "say", "text": "hi"}},
        ],
    )
    calls.add_jobs("c1", ["c1:mail:1"])
    assert calls.live() == ["c1", "c2"]
    calls.finish("c1", ended_at=1010.0, outcome="voicemail", path=["welcome", "menu"])
    rec = calls.get("c1")
    assert (rec.channel, rec.caller, rec.called, rec.flow_id) == ("sip", "+15550001", "100", "main")
    assert (rec.started_at, rec.ended_at, rec.outcome, rec.path) == (1000.0, 1010.0, "voicemail", ["welcome", "menu"])
    assert rec.jobs == ["c1:mail:1"]
    assert [e["data"]["type"] for e in calls.timeline("c1")] == ["call_started", "say"]
    assert [r.id for r in calls.recent(10)] == ["c2", "c1"]
    assert [r.id for r in calls.recent(1)] == ["c2"]
    assert calls.live() == ["c2"]
    assert calls.get("nope") is None
    ttl = redis_conn.ttl(keys.call("c1"))
    assert keys.CALL_RETENTION - 5 < ttl <= keys.CALL_RETENTION
    assert redis_conn.ttl(keys.call_timeline("c1")) > 0


def test_session_state_never_goes_back_in_version(redis_conn):
    sessions = SessionStore(redis_conn)
    assert sessions.save({"call_id": "c1", "version": 2, "state": {"x": 2}})
    assert not sessions.save({"call_id": "c1", "version": 1, "state": {"x": 1}})
    assert sessions.load("c1")["state"] == {"x": 2}
    assert sessions.save({"call_id": "c1", "version": 3, "state": {"x": 3}})
    assert 0 < redis_conn.ttl(keys.call_state("c1")) <= keys.STATE_TTL
    assert sessions.load("other") is None


def test_followup_statuses_and_attempts(redis_conn):
    followups = FollowupStore(redis_conn)
    followups.create("j1", kind="email", call_id="c1", at=1.0)
    followups.create("j1", kind="sms", call_id="cX", at=2.0)  # second create changes nothing
    assert followups.get("j1")["kind"] == "email"
    assert followups.begin("j1", kind="email", call_id="c1", at=3.0)
    followups.record("j1", Status.RETRYING, at=4.0, detail="timeout")
    assert followups.begin("j1", kind="email", call_id="c1", at=5.0)
    followups.record("j1", Status.DELIVERED, at=6.0, detail="250 ok")
    assert not followups.begin("j1", kind="email", call_id="c1", at=7.0)  # final: never sent again
    record = followups.get("j1")
    assert record["status"] == "delivered"
    assert [a["status"] for a in record["attempts"]] == ["retrying", "delivered"]
    assert [f["status"] for f in followups.many(["j1", "j2"])] == ["delivered", "unknown"]


def test_flow_revisions_are_immutable_and_publish_rollback(redis_conn):
    flows = FlowStore(redis_conn)
    r1 = flows.save_revision("main", "id: main\n# one\n", "first", "ann", at=1.0)
    r2 = flows.save_revision("main", "id: main\n# two\n", "second", "bob", at=2.0)
    r3 = flows.save_revision("main", "id: main\n# three\n", "third", "ann", at=3.0)
    assert (r1, r2, r3) == (1, 2, 3)
    assert flows.get_published("main") is None
    for rev in (r1, r2, r3):
        flows.publish("main", rev, author="ann")
    assert flows.get_published("main").yaml_text == "id: main\n# three\n"
    assert flows.rollback("main") == 2
    assert flows.rollback("main") == 1
    with pytest.raises(RevisionNotFound):
        flows.rollback("main")
    assert flows.rollback("main", to_rev=3) == 3
    assert [r.rev for r in flows.list_revisions("main")] == [3, 2, 1]
    rev2 = flows.get_revision("main", 2)
    assert (rev2.message, rev2.author, rev2.created_at) == ("second", "bob", 2.0)
    with pytest.raises(RevisionNotFound):
        flows.publish("main", 99)
    assert [e["action"] for e in flows.history("main")] == ["publish"] * 3 + ["rollback"] * 3
    assert flows.flow_ids() == ["main"]
    assert redis_conn.ttl(keys.flow_revision("main", 1)) == -1  # kept forever


def test_callback_queue_order_position_attempts_and_rate(redis_conn):
    callbacks = CallbackStore(redis_conn)
    assert callbacks.create("b", number="+15550002", call_id="c2", at=20.0)
    assert callbacks.create("a", number="+15550001", call_id="c1", at=10.0)
    assert not callbacks.create("a", number="+1999", call_id="cX", at=30.0)
    assert [r.id for r in callbacks.pending()] == ["a", "b"]
    assert (callbacks.get("a").position, callbacks.get("b").position) == (1, 2)
    assert callbacks.record_attempt("a", at=11.0, outcome="no-answer") == 1
    callbacks.set_status("a", CallbackStatus.COMPLETED)
    assert callbacks.get("a").position is None
    assert callbacks.get("b").position == 1
    assert callbacks.get("a").attempts == [{"at": 11.0, "outcome": "no-answer", "detail": ""}]
    callbacks.refuse("z", number="+4420", call_id="c3", at=40.0, reason="number not allowed")
    z = callbacks.get("z")
    assert (z.status, z.reason, z.position) == ("refused", "number not allowed", None)


def test_phone_rate_limits_per_number_and_overall_and_per_window(redis_conn):
    limiter = PhoneRateLimiter(redis_conn)
    limits = Limits(per_number=2, overall=3, setting="")
    assert [limiter.take("sms", "+12125550123", limits, at=100.0) == "" for _ in range(3)] == [True, True, False]
    # the refused third request did not count against the overall budget: one more number still fits
    assert limiter.take("sms", "+12125550124", limits, at=100.0) == ""
    assert "all numbers together" in limiter.take("sms", "+12125550125", limits, at=100.0)
    assert limiter.take("callback", "+12125550123", limits, at=100.0) == ""  # each purpose counts apart
    assert limiter.take("sms", "+12125550123", limits, at=100.0 + keys.PHONE_RATE_WINDOW) == ""


def test_a_retried_request_is_counted_once_and_keeps_its_verdict(redis_conn):
    limiter = PhoneRateLimiter(redis_conn)
    limits = Limits(per_number=1, overall=10, setting="")
    assert [limiter.take("sms", "+12125550123", limits, 1.0, request_id="job-a") for _ in range(3)] == [""] * 3
    refused = limiter.take("sms", "+12125550123", limits, 1.0, request_id="job-b")
    assert "rate limit" in refused and limiter.take("sms", "+12125550123", limits, 1.0, request_id="job-b") == refused


def test_chat_offline_participant_gets_everything_written_meanwhile(redis_conn):
    chats = ChatStore(redis_conn)
    chats.create_room("r1", call_id="c1", caller="+1555", at=1.0, token="tok", token_ttl=60)
    assert chats.room_for_token("tok") == "r1"
    assert chats.room_for_token("bad") is None
    chats.post("r1", author="caller", text="hello?", at=2.0)
    assert [m.text for m in chats.read_unseen("r1", "caller")] == ["hello?"]
    # the caller goes away; the owner writes twice, the caller writes once more from another tab
    chats.post("r1", author="owner", text="hi there", at=3.0)
    chats.post("r1", author="owner", text="still here?", at=4.0)
    assert [m.text for m in chats.read_unseen("r1", "owner")] == ["hello?", "hi there", "still here?"]
    chats.post("r1", author="caller", text="back", at=5.0)
    assert [m.text for m in chats.read_unseen("r1", "caller")] == ["hi there", "still here?", "back"]
    assert [m.text for m in chats.read_unseen("r1", "owner")] == ["back"]
    assert chats.read_unseen("r1", "owner") == []
    all_messages = chats.read("r1")
    assert [m.text for m in chats.read("r1", after=all_messages[1].id)] == ["still here?", "back"]
    with pytest.raises(RoomNotFound):
        chats.post("nope", author="x", text="y", at=1.0)
    assert 0 < redis_conn.ttl(keys.chat_token("tok")) <= 60


def test_a_finished_call_is_counted_once_by_the_first_read_of_the_analytics(redis_conn):
    queue = Queue("ivr", connection=redis_conn)
    for n in range(3):  # more than one batch of pending calls
        write = new_write(f"f{n}", 1, at=1_790_000_000.0)
        write["start"] = {
            "channel": "twilio",
            "caller": "+1555",
            "called": "+1",
            "started_at": 1_790_000_000.0,
            "flow_id": "main",
        }
        write["finish"] = {"ended_at": 1_790_000_009.0, "outcome": "completed", "path": ["welcome"]}
        apply_write(redis_conn, queue, write)
    assert redis_conn.scard(keys.ANALYTICS_PENDING) == 3 and redis_conn.hgetall(keys.ANALYTICS_TOTALS) == {}
    assert analytics.count_pending(redis_conn, batch=2) == 3
    assert analytics.totals(redis_conn)["total"] == 3  # nothing pending any more, nothing counted twice
    assert redis_conn.scard(keys.ANALYTICS_PENDING) == 0
    assert analytics.record_call_finished(redis_conn, "f0") is False
