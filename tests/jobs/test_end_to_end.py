"""Calls through call_session while Redis is down, then Redis back: every follow-up delivered exactly once."""

# Callers are UK numbers: the shipped flow has `country: GB`, so it texts UK numbers only (docs/phone-numbers.md).
import threading
from pathlib import Path

from ivr.call_session.wiring import open_call_session
from ivr.engine.events import Digits
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_twenty_calls_during_an_outage_are_recorded_and_followed_up_exactly_once(
    harness, settings, redis_server, twilio_api, tmp_path
):
    settings = settings.with_overrides(redis_url=redis_server.url, flows_dir=FLOWS)
    session = open_call_session(settings)
    session.flows.get("skype-receptionist")  # cached in the process, as in a running server
    redis_server.stop()
    for n in range(20):
        call_id = f"out-{n}"
        first = session.start(
            call_id=call_id, channel="twilio", caller=f"+44207946{n:04d}", called="+15550000000", at=1_790_000_000.0 + n
        )
        assert first[-1].type == "gather"
        second = session.turn(call_id, Digits(digits="1", at=1_790_000_005.0 + n), turn_id=f"{call_id}:1")
        assert [a.type for a in second][-1] == "hangup"
        # Twilio retries the same webhook: same answer, nothing new spooled
        assert session.turn(call_id, Digits(digits="1", at=1_790_000_006.0 + n), turn_id=f"{call_id}:1") == second
    assert session.spool.pending() == 40
    redis_server.start()

    # Redis is back: an `ivr` process starting up and the running one both replay at once
    results = []
    starter = threading.Thread(target=lambda: results.append(open_call_session(settings)))
    starter.start()
    session.replay()
    starter.join()
    assert session.spool.pending() == 0

    for _ in range(2):  # a second worker run finds nothing left to send
        harness.work()
    assert sorted(m["to"] for m in twilio_api.messages) == sorted(f"+44207946{n:04d}" for n in range(20))
    calls = CallStore(harness.conn)
    assert calls.count() == 20
    followups = FollowupStore(harness.conn)
    for n in range(20):
        record = calls.get(f"out-{n}")
        assert (record.channel, record.outcome) == ("twilio", "support_links_sent")
        assert record.path[-2:] == ["send_support_links", "goodbye"]
        [job_id] = record.jobs
        assert followups.get(job_id)["status"] == "delivered"
