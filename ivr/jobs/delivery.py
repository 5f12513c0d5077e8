"""The shape every delivering task shares: skip if already delivered, mark sending, send, record the outcome.

A `Permanent` error (bad address, 4xx other than 429, missing configuration) is recorded as failed and not
retried; any other error is recorded (retrying, or failed when RQ has no retries left) and re-raised so RQ's
`Retry` runs the job again with backoff. Delivered follow-ups are never sent again, whoever runs the job.
"""

from __future__ import annotations

import logging
from typing import Callable

from rq import get_current_job

from ivr.jobs.context import JobContext, current
from ivr.store.followups import FollowupStore, Status
from ivr.system.plain_errors import network_error

log = logging.getLogger(__name__)


class Permanent(Exception):
    """A failure that retrying cannot fix."""


class Retryable(Exception):
    """A failure worth retrying later (timeouts, 429, 5xx, connection errors)."""


def explain(exc: BaseException) -> str:
    """A failure as a sentence: our own errors say it already; an OS error gets words, not an errno."""
    if isinstance(exc, (Permanent, Retryable)):
        return str(exc)
    if isinstance(exc, OSError):
        return network_error(exc)
    return f"{type(exc).__name__}: {exc}"


def deliver(kind: str, job_id: str, payload: dict, send: Callable[[JobContext], str]) -> str:
    ctx = current()
    followups, confirm_ms = FollowupStore(ctx.redis), ctx.settings.redis_wait_ms
    # Unconfirmed (no replica has the sending mark yet) is raised before anything is sent: RQ retries the job
    if not followups.begin(
        job_id, kind=kind, call_id=payload.get("call_id", ""), at=ctx.clock(), confirm_ms=confirm_ms
    ):
        log.info("%s %s already delivered: not sending again", kind, job_id)
        return "already delivered"
    try:
        detail = send(ctx)
    except Permanent as exc:
        followups.record(job_id, Status.FAILED, at=ctx.clock(), detail=f"not retried: {exc}")
        log.warning("%s %s failed, not retried: %s", kind, job_id, exc)  # RQ itself calls the job a success
        return f"failed: {exc}"
    except Exception as exc:
        job = get_current_job()
        final = not (job is not None and job.retries_left)
        detail = explain(exc)
        followups.record(job_id, Status.FAILED if final else Status.RETRYING, at=ctx.clock(), detail=detail)
        log.warning("%s %s %s: %s", kind, job_id, "failed" if final else "will be retried", detail)
        raise
    if not followups.record(job_id, Status.DELIVERED, at=ctx.clock(), detail=detail, confirm_ms=confirm_ms):
        log.warning("%s %s delivered, but no replica confirmed its record within %d ms", kind, job_id, confirm_ms)
    return detail
