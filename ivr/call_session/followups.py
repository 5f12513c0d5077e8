"""How an engine `Job` action becomes an RQ job: its kinds, RQ function names, retries and queueing commands.

`queue_commands` is the one way a follow-up gets queued (the tasks themselves are in ivr/jobs/). The RQ job id
is the engine's idempotency key and the follow-up record (store.followups) is created in the same atomic turn
write, so a replayed turn or spool entry never queues a job twice. Each task takes plain JSON arguments
`(job_id, payload)` and gets its connections from the worker's `JobContext` (ivr/jobs/context.py).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from rq import Queue, Retry
from rq.job import Job, JobStatus

from ivr.store import keys
from ivr.store.followups import FollowupStore, Status

QUEUE_NAME = "ivr"
JOB_TIMEOUT = 20  # seconds; every task bounds its own network calls well below this
RESULT_TTL = 60  # RQ's own copy of a finished job; the follow-up record is what is kept (store.followups)
FAILURE_TTL = 30 * 24 * 3600  # RQ's copy of a job that failed for good

FUNCTIONS = {
    "email": "ivr.jobs.email.run",
    "sms": "ivr.jobs.sms.run",
    "webhook": "ivr.jobs.webhook.run",
    "chat": "ivr.jobs.chat.run",
    "callback": "ivr.jobs.callback.run",
}

# Exponential-ish backoff (seconds). A retry is also what recovers a job whose worker was killed mid-job.
RETRIES = {
    "email": Retry(max=4, interval=[5, 30, 120, 600]),
    "sms": Retry(max=4, interval=[5, 30, 120, 600]),
    "webhook": Retry(max=6, interval=[1, 4, 15, 60, 300, 1800]),
    "chat": Retry(max=4, interval=[5, 30, 120, 600]),
    "callback": Retry(max=4, interval=[5, 30, 120, 600]),
}


_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def rq_job_id(idempotency_key: str) -> str:
    """RQ accepts only [A-Za-z0-9_-] in job ids: escape everything else (and '_') as _xx, reversibly."""
    return _UNSAFE.sub(lambda m: "".join(f"_{b:02x}" for b in m.group().encode()), idempotency_key)


def queue_commands(
    queue: Queue, *, job_id: str, kind: str, payload: dict, call_id: str, at: float
) -> tuple[str, list[tuple]]:
    """(The follow-up record's key, the Redis commands that create the record and queue its RQ job), for the turn
    write script (store.call_writes), which runs them only if the record does not exist yet: never twice.

    The job is built with RQ's public API (`Job.create`, `Job.to_dict`) and queued as `Queue.enqueue_job` does:
    the job hash, the queue in the set of queues, the id pushed on the queue. An unknown kind gets a failed record
    instead, so it shows rather than being lost."""
    records = FollowupStore(queue.connection)
    guard = keys.followup(job_id)
    if kind not in FUNCTIONS:
        return guard, records.create_commands(
            job_id, kind=kind, call_id=call_id, at=at, status=Status.FAILED, detail=f"unknown follow-up kind {kind!r}"
        )
    job = Job.create(
        FUNCTIONS[kind],
        args=(job_id, payload),
        id=rq_job_id(job_id),
        connection=queue.connection,
        timeout=JOB_TIMEOUT,
        retry=RETRIES[kind],
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        description=f"{kind} {job_id}",
        meta={"enqueued_at": at},
        status=JobStatus.QUEUED,
        origin=queue.name,
    )
    job.enqueued_at = datetime.now(timezone.utc).replace(tzinfo=None)  # RQ keeps naive UTC times
    fields = [item for pair in job.to_dict().items() for item in pair]
    return guard, [
        *records.create_commands(job_id, kind=kind, call_id=call_id, at=at),
        ("SADD", queue.redis_queues_keys, queue.key),
        ("HSET", job.key, *fields),
        ("RPUSH", queue.key, job.id),
    ]
