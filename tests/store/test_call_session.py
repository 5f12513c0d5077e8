"""call_session against a real redis-server and the shipped flow: records, jobs, turn dedup, Redis outages."""

import threading
from pathlib import Path

import pytest
from rq import Queue

from ivr import jobs
from ivr.engine import actions as A
from ivr.engine.events import Digits, HungUp
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore
from ivr.store.sessions import SessionStore
from tests.sessions import SUPPORT_PATH, flow_session

FLOWS = Path(__file__).resolve().parents[2] / "flows"
STRANGER = "+15557770001"


@pytest.fixture
def make_session(redis_conn, redis_server, tmp_path):
    def make(spool_path=tmp_path / "spool.sqlite3"):
        return flow_session(redis_server.url, spool_path)

    return make


def _types(actions):
    return [a.type for a in actions]


def run_support_links_call(session, call_id, at=1_790_000_000.0):
    first = session.start(call_id=call_id, channel="sip", caller=STRANGER, called="+15550000000", at=at)
    assert "gather" in _types(first)
    return first, session.turn(call_id, Digits(digits="1", at=at + 5), turn_id=f"{call_id}-t1")


def test_a_call_is_recorded_with_timeline_path_and_its_job_queued(make_session, redis_conn):
    session = make_session()
    _, second = run_support_links_call(session, "call-1")
    assert _types(second)[-1] == "hangup"
    job = next(a for a in second if isinstance(a, A.Job))
    record = CallStore(redis_conn).get("call-1")
    assert (record.channel, record.caller, record.outcome) == ("sip", STRANGER, "support_links_sent")
    assert record.path == SUPPORT_PATH
    assert record.ended_at == 1_790_000_005.0
    assert record.jobs == [job.idempotency_key]
    timeline = CallStore(redis_conn).timeline("call-1")
    assert [e["data"]["type"] for e in timeline if e["kind"] == "event"] == ["call_started", "digits"]
    assert "job" in [e["data"]["type"] for e in timeline if e["kind"] == "action"]
    queue = Queue(jobs.QUEUE_NAME, connection=redis_conn)
    assert queue.job_ids == [jobs.rq_job_id(job.idempotency_key)]
    assert queue.fetch_job(jobs.rq_job_id(job.idempotency_key)).args == (job.idempotency_key, job.payload)
    assert FollowupStore(redis_conn).get(job.idempotency_key)["status"] == "queued"
    assert CallStore(redis_conn).live() == []


def test_repeated_turn_id_and_repeated_start_return_the_same_actions_and_queue_nothing_new(make_session, redis_conn):
    session = make_session()
    first, second = run_support_links_call(session, "call-2")
    again_start = session.start(call_id="call-2", channel="sip", caller=STRANGER, called="x", at=1.0)
    again_turn = session.turn("call-2", Digits(digits="1", at=99.0), turn_id="call-2-t1")
    assert again_start == first and again_turn == second
    # another process, which has not seen the call: its write finds the call exists and writes nothing
    assert make_session().start(call_id="call-2", channel="sip", caller=STRANGER, called="x", at=2.0) == first
    assert len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 1
    assert len(CallStore(redis_conn).timeline("call-2")) == 1 + len(first) + 1 + len(second)


def test_unknown_or_expired_call_gets_a_polite_goodbye(make_session):
    actions = make_session().turn("no-such-call", Digits(digits="1", at=1.0))
    assert _types(actions) == ["say", "hangup"]
    assert "goodbye" in actions[0].text.lower()


def test_caller_hanging_up_finishes_the_record(make_session, redis_conn):
    session = make_session()
    session.start(call_id="call-3", channel="twilio", caller=STRANGER, called="+1", at=100.0)
    assert set(_types(session.turn("call-3", HungUp(at=107.0)))) == {"log"}  # caller left: nothing to render
    record = CallStore(redis_conn).get("call-3")
    assert (record.outcome, record.ended_at) == ("abandoned", 107.0)


def test_redis_down_calls_continue_and_the_spool_is_replayed_exactly_once(
    make_session, redis_server, redis_conn, tmp_path
):
    session = make_session()
    session.flows.get("skype-receptionist")  # the process has the flow cached, as a running server would
    redis_server.stop()
    for n in range(20):
        first, second = run_support_links_call(session, f"down-{n}", at=1_790_000_000.0 + n)
        assert _types(second)[-1] == "hangup"  # answered and run to the end without Redis
    assert session.spool.pending() == 40  # two turns per call
    redis_server.start()
    # two processes (separate spool handles on the same file) replay at once
    other = make_session()
    results = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.replay())) for s in (session, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while session.spool.pending():  # whoever lost the lock race may have returned early
        session.replay()
    assert sum(results) <= 40
    calls = CallStore(redis_conn)
    assert calls.count() == 20
    assert all(calls.get(f"down-{n}").outcome == "support_links_sent" for n in range(20))
    for n in range(20):  # replayed in order: each call's timeline reads as it happened
        events = [e["data"]["type"] for e in calls.timeline(f"down-{n}") if e["kind"] == "event"]
        assert events == ["call_started", "digits"]
    assert Queue(jobs.QUEUE_NAME, connection=redis_conn).count == 20
    assert session.replay() == 0 and other.replay() == 0
    assert Queue(jobs.QUEUE_NAME, connection=redis_conn).count == 20


def test_a_replayed_call_whose_start_record_was_lost_is_listed_with_what_its_state_knows(
    make_session, redis_server, redis_conn
):
    """Redis lost the call's first write (restarted without it), then went down: the later turn is spooled and
    replayed onto no record at all. It must come back as a listable call, not an orphan without a caller."""
    session = make_session()
    at = 1_790_000_000.0
    session.start(call_id="lost-start", channel="sip", caller=STRANGER, called="+15550000000", at=at)
    redis_conn.flushall()  # the start record is gone
    redis_server.stop()
    session.turn("lost-start", Digits(digits="1", at=at + 5), turn_id="t1")  # the state is in this process
    redis_server.start()
    assert session.replay() == 1
    calls = CallStore(redis_conn)
    [listed] = calls.recent()
    assert (listed.id, listed.channel, listed.caller, listed.called, listed.flow_id, listed.started_at) == (
        "lost-start",
        "sip",
        STRANGER,
        "+15550000000",
        "skype-receptionist",
        at,
    )
    assert (listed.outcome, listed.ended_at, listed.path[-1]) == ("support_links_sent", at + 5, "goodbye")
    assert calls.live() == []


def test_after_a_redis_failure_the_session_skips_redis_for_the_backoff_on_its_own_clock(
    redis_conn, redis_server, tmp_path
):
    from ivr.call_session.health import DOWN_BACKOFF

    now = [1000.0]
    session = flow_session(redis_server.url, tmp_path / "spool.sqlite3", clock=lambda: now[0])
    session.flows.get("skype-receptionist")
    at = 1_790_000_000.0
    redis_server.stop()
    session.start(call_id="breaker", channel="sip", caller=STRANGER, called="+15550000000", at=at)
    redis_server.start()
    assert session.replay() == 1  # the spool is empty again, but the breaker is still open
    session.turn("breaker", Digits(digits="7", at=at + 5), turn_id="t1")  # a wrong key: the menu repeats
    assert session.spool.pending() == 1  # Redis answers, yet the session did not try it: the turn was spooled
    events = [e["data"]["type"] for e in CallStore(redis_conn).timeline("breaker") if e["kind"] == "event"]
    assert events == ["call_started"]
    now[0] += DOWN_BACKOFF
    session.turn("breaker", Digits(digits="1", at=at + 10), turn_id="t2")
    assert session.spool.pending() == 0  # the breaker closed: the turn caught up on the spool, then wrote
    record = CallStore(redis_conn).get("breaker")
    assert (record.caller, record.outcome) == (STRANGER, "support_links_sent")


def test_redis_and_the_spool_both_failing_still_lets_the_call_run(make_session, redis_server, tmp_path):
    session = make_session()
    session.flows.get("skype-receptionist")
    redis_server.stop()
    session.spool.close()  # the local disk is gone too: every spool operation now raises
    first, second = run_support_links_call(session, "doomed")  # the state lives on in the process's memory
    assert [a.kind for a in second if isinstance(a, A.Job)] == ["sms"]
    assert _types(second)[-1] == "hangup"


def test_each_turn_saves_its_state_with_its_writes_and_keeps_nothing_in_the_spool(make_session, redis_conn):
    session = make_session()
    run_support_links_call(session, "call-s")
    blob = SessionStore(redis_conn).load("call-s")
    assert blob["version"] == 2 and blob["state"]["done"] and set(blob["turns"]) == {"__start__", "call-s-t1"}
    assert session.spool.load_state("call-s") is None and session.spool.pending() == 0
    assert (
        make_session().turn("call-s", Digits(digits="1", at=1_790_000_006.0), turn_id="call-s-t1")[-1].type == "hangup"
    )  # another process answers the retried turn from the state in Redis


def test_a_first_request_delivered_to_two_processes_at_once_starts_the_call_once(make_session, redis_conn):
    sessions = [make_session() for _ in range(6)]
    answers, barrier = [], threading.Barrier(len(sessions))

    def deliver(session, n):
        barrier.wait()
        answers.append(session.start(call_id="twice", channel="twilio", caller=STRANGER, called="+1", at=10.0 + n))

    threads = [threading.Thread(target=deliver, args=(s, n)) for n, s in enumerate(sessions)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(answers) == 6 and all(a == answers[0] for a in answers)
    timeline = CallStore(redis_conn).timeline("twice")
    assert [e["data"]["type"] for e in timeline if e["kind"] == "event"] == ["call_started"]
    assert SessionStore(redis_conn).load("twice")["version"] == 1
