"""The callback queue: position, number, requested time, attempts and outcome; admins can call now, reschedule,
mark done or drop an entry. Dialling itself is the worker's `ivr.jobs.callback.dial`, queued here through RQ."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from rq import Queue

from ivr import jobs
from ivr.store.callbacks import CallbackStatus, CallbackStore

from .common import actor, admin_required, audit, redis_conn

bp = Blueprint("callbacks", __name__, url_prefix="/callbacks")

DIAL = "ivr.jobs.callback.dial"
PAGE = 200  # queue entries shown; the oldest requests come first


def queue_dial(conn, request, when: float | None = None) -> str:
    """Queue one dialling attempt of `request` now (or at `when`, via RQ's scheduler)."""
    attempt = len(request.attempts) + 1
    job_id = f"{jobs.rq_job_id(request.id)}-op{attempt}-{int(time.time())}"
    payload = {"call_id": request.call_id, "number": request.number}
    queue = Queue(jobs.QUEUE_NAME, connection=conn)
    if when is None:
        queue.enqueue_call(DIAL, args=(request.id, payload, attempt), job_id=job_id, timeout=jobs.JOB_TIMEOUT)
    else:
        queue.enqueue_at(
            datetime.fromtimestamp(when, timezone.utc),
            DIAL,
            request.id,
            payload,
            attempt,
            job_id=job_id,
            job_timeout=jobs.JOB_TIMEOUT,
        )
    return job_id


def act(conn, request_id: str, action: str, when: float | None = None) -> str:
    """Apply an operator action to a pending request; returns what happened. Raises LookupError/ValueError."""
    store = CallbackStore(conn)
    request = store.get(request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id!r}")
    if request.status not in (CallbackStatus.PENDING, CallbackStatus.DIALING):
        raise ValueError(f"request {request_id} is already {request.status}")
    now = time.time()
    if action == "call-now":
        store.schedule(request_id, now)
        return f"dialling now (job {queue_dial(conn, request)})"
    if action == "reschedule":
        if when is None or when < now - 60:
            raise ValueError("pick a time in the future")
        store.schedule(request_id, when)
        queue_dial(conn, request, when)
        return f"rescheduled for {datetime.fromtimestamp(when, timezone.utc):%Y-%m-%d %H:%M} UTC"
    if action == "done":
        store.record_attempt(request_id, at=now, outcome="done", detail=f"marked done by {actor()}")
        store.set_status(request_id, CallbackStatus.COMPLETED, reason=f"marked done by {actor()}")
        return "marked done"
    if action == "drop":
        store.set_status(request_id, CallbackStatus.FAILED, reason=f"dropped by {actor()}")
        return "dropped"
    raise ValueError(f"unknown action {action!r}")


def parse_when(text: str | None) -> float | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


@bp.get("/")
@login_required
def index():
    store = CallbackStore(redis_conn())
    return render_template("callbacks/index.html", pending=store.pending(PAGE), total=store.queued(), now=time.time())


@bp.post("/<request_id>/<action>")
@login_required
@admin_required
def update(request_id: str, action: str):
    if action not in ("call-now", "reschedule", "done", "drop"):
        abort(404)
    try:
        result = act(redis_conn(), request_id, action, parse_when(request.form.get("when")))
    except LookupError as exc:
        abort(404, description=str(exc))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("callbacks.index"))
    audit(f"callback {action}", f"callback:{request_id}", result)
    flash(f"Callback {request_id}: {result}.", "info")
    return redirect(url_for("callbacks.index"))
