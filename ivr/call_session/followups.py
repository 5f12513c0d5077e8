"""RQ tasks that carry out the engine's `Job` actions: email, sms, webhook, chat, callback (one module each).

`enqueue` is the one way a follow-up gets queued. The RQ job id is the engine's idempotency key and the follow-up
record (store.followups) is created in the same atomic turn write, so a replayed turn or spool entry never queues
a job twice. Each task takes plain JSON arguments `(job_id, payload)` and gets its connections from the worker's
`JobContext` (see context.py).
"""
from __future__ import annotations

import re

from rq import Queue, Retry

from ivr.store.followups import FollowupStore

QUEUE_NAME = "ivr"
JOB_TIMEOUT = 20  # seconds; every task bounds its own network calls well below this
RESULT_TTL = 60  # RQ's own copy of a finished job; the follow-up record is what is kept (store.followups)

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


class UnknownJobKind(ValueError):
    pass


_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def rq_job_id(idempotency_key: str) -> str:
    """RQ accepts only [A-Za-z0-9_-] in job ids: escape everything else (and '_') as _xx, reversibly."""
    return _UNSAFE.sub(lambda m: "".join(f"_{b:02x}" for b in m.group().encode()), idempotency_key)


def enqueue(queue: Queue, pipe, *, job_id: str, kind: str, payload: dict, call_id: str, at: float) -> None:
    """Queue one follow-up (RQ job id `rq_job_id(job_id)`) on `pipe`, with its follow-up record. The turn write
    (store.call_writes) runs these commands only if no follow-up record exists for `job_id`: never twice."""
    if kind not in FUNCTIONS:
        raise UnknownJobKind(f"unknown follow-up kind {kind!r}")
    FollowupStore(queue.connection).create(job_id, kind=kind, call_id=call_id, at=at, pipe=pipe)
    queue.enqueue_call(FUNCTIONS[kind], args=(job_id, payload), job_id=rq_job_id(job_id), timeout=JOB_TIMEOUT,
                       retry=RETRIES[kind], result_ttl=RESULT_TTL, failure_ttl=30 * 24 * 3600,
                       description=f"{kind} {job_id}", meta={"enqueued_at": at}, pipeline=pipe)
