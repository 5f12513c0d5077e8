"""The home page (`/`): what a person running the IVR must see first. Health of Redis, the worker, SIP and the web
app; today's calls and their outcomes; follow-ups that failed or are retrying, with the reason; open callbacks and
chats; and the set-up checklist (setup_check.py, the same items as `ivr doctor`), with "send a test email" and
"send a test SMS" for admins: sent at once, through the follow-up jobs' own code, the result flashed in words."""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required
from rq import Queue

from ivr import jobs
from ivr.settings.capabilities import capabilities
from ivr.store import UNAVAILABLE
from ivr.store.callbacks import CallbackStore
from ivr.store.chats import ChatStore
from ivr.store.followups import FollowupStore

from .call_query import CallFilter, find_calls
from .common import actor, admin_required, audit, redis_conn, settings
from .health import health_report
from .setup_check import failing, run_checks

bp = Blueprint("home", __name__)

SETUP_CACHE_SECONDS = 30.0  # the check connects to SMTP and Twilio: not on every page view


def setup_items(refresh: bool = False) -> list:
    """The set-up check, kept `SETUP_CACHE_SECONDS` per web process."""
    cached = current_app.extensions.get("ivr_setup_check")
    if refresh or cached is None or time.monotonic() - cached[0] > SETUP_CACHE_SECONDS:
        cached = current_app.extensions["ivr_setup_check"] = (time.monotonic(), run_checks(settings()))
    return cached[1]


def today_calls(conn, now: float) -> dict:
    midnight = datetime.fromtimestamp(now, timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    page = find_calls(conn, CallFilter(start=midnight.timestamp()), limit=500)
    outcomes = Counter(row["outcome"] or "in progress" for row in page.rows)
    return {
        "count": len(page.rows),
        "more": page.before is not None,
        "outcomes": outcomes.most_common(),
        "day": midnight.strftime("%Y-%m-%d"),
    }


def health() -> dict:
    body, _ = health_report()
    body["web"] = {"ok": True, "pid": os.getpid(), "host": socket.gethostname()}
    return body


@bp.get("/")
@login_required
def index():
    conn, now = redis_conn(), time.time()
    items = setup_items()
    try:
        callbacks = CallbackStore(conn)
        data = {
            "calls": today_calls(conn, now),
            "troubled": FollowupStore(conn).troubled(20),
            "callbacks_waiting": callbacks.queued(),
            "callbacks": callbacks.pending(5),
            "chats": ChatStore(conn).rooms(5),
        }
    except UNAVAILABLE:
        data = {"redis_down": True}
    return render_template(
        "home.html",
        health=health(),
        items=items,
        failing=failing(items),
        features=capabilities(settings()).values(),
        now=now,
        **data,
    )


def _job_context():
    from ivr.jobs.context import JobContext

    conn = redis_conn()
    return JobContext(settings=settings(), redis=conn, queue=Queue(jobs.QUEUE_NAME, connection=conn))


def _try(kind: str, send) -> None:
    from ivr.jobs.delivery import Permanent, Retryable, explain

    to = request.form.get("to", "").strip()
    try:
        detail = send(_job_context(), to)
    except (Permanent, Retryable, OSError) as exc:
        flash(f"The test {kind} was not sent: {explain(exc)}", "error")
        return
    audit(f"test {kind}", to, detail)
    flash(f"Test {kind} sent ({detail}).", "info")


@bp.post("/setup/test-email")
@login_required
@admin_required
def test_email():
    from ivr.jobs.email import send

    payload = {
        "to": request.form.get("to", ""),
        "subject": "IVR test email",
        "message": f"A test email, sent from the admin by {actor()}.",
    }
    _try("email", lambda ctx, to: send(ctx, f"test-email-{time.time_ns()}", payload))
    return redirect(url_for("home.index") + "#setup")


@bp.post("/setup/test-sms")
@login_required
@admin_required
def test_sms():
    from ivr.jobs.sms import send_sms

    job_id = f"test-sms-{time.time_ns()}"
    _try("SMS", lambda ctx, to: send_sms(ctx, to, f"A test SMS from your IVR, sent by {actor()}.", {}, job_id))
    return redirect(url_for("home.index") + "#setup")
