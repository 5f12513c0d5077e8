"""The RQ job a turn write queues (call_session.followups.queue_commands) is one the locked RQ reads and runs."""

from rq.job import Job, JobStatus

from ivr.call_session import followups
from ivr.jobs import rq_job_id
from ivr.store.followups import FollowupStore


def test_rq_reads_the_job_hash_the_turn_write_made(harness, twilio_api):
    harness.queue_job("sms", "c1:links:1", {"to": "+12125550001", "message": "hi"}, at=1_790_000_000.5)
    job = Job.fetch(rq_job_id("c1:links:1"), connection=harness.conn)
    assert (job.func_name, job.args[0], job.origin) == ("ivr.jobs.sms.run", "c1:links:1", followups.QUEUE_NAME)
    assert job.get_status() == JobStatus.QUEUED and job.enqueued_at is not None
    assert (job.timeout, job.result_ttl, job.failure_ttl) == (
        followups.JOB_TIMEOUT,
        followups.RESULT_TTL,
        followups.FAILURE_TTL,
    )
    assert (job.retries_left, job.retry_intervals) == (4, [5, 30, 120, 600])
    assert job.meta == {"enqueued_at": 1_790_000_000.5} and job.description == "sms c1:links:1"
    assert harness.queue.job_ids == [job.id]

    assert harness.work()  # a real RQ worker takes it off the queue and runs it
    assert [m["to"] for m in twilio_api.messages] == ["+12125550001"]
    assert FollowupStore(harness.conn).get("c1:links:1")["status"] == "delivered"


def test_the_same_follow_up_is_queued_once(harness):
    for _ in range(3):  # a replayed turn or spool entry carries the same job id
        harness.queue_job("email", "c1:mail:1", {"to": "a@example.test", "subject": "s", "body": "b"})
    assert harness.queue.job_ids == [rq_job_id("c1:mail:1")]


def test_an_unknown_kind_is_a_failed_follow_up_and_queues_nothing(harness):
    harness.queue_job("fax", "c1:fax:1", {})
    record = FollowupStore(harness.conn).get("c1:fax:1")
    assert record["status"] == "failed" and "unknown follow-up kind 'fax'" in record["detail"]
    assert harness.queue.job_ids == []
