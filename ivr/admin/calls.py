"""Calls: the log with filters (date, channel, caller, outcome, step reached), each call's timeline (prompts,
digits and speech, path, jobs with their delivery status, voicemail player) and the live view of calls in progress
with the live queue."""

from __future__ import annotations

import time
from datetime import datetime, timezone

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import login_required

from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore
from ivr.store.queues import QueueBoard
from ivr.system import handover, recordings

from .call_query import CallFilter, find_calls, live_calls
from .common import found_or_404, redis_conn, settings

bp = Blueprint("calls", __name__, url_prefix="/calls")

CHANNELS = ("sip", "twilio", "sms", "simulator")


def parse_day(text: str | None, end: bool = False) -> float | None:
    """'2026-11-21' -> epoch seconds at 00:00 UTC (or the next midnight for an end date); None if empty/bad."""
    if not text:
        return None
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    return day.timestamp() + (86400 if end else 0)


def filter_from(args) -> CallFilter:
    return CallFilter(
        start=parse_day(args.get("from")),
        end=parse_day(args.get("to"), end=True),
        channel=args.get("channel", "").strip(),
        caller=args.get("caller", "").strip(),
        outcome=args.get("outcome", "").strip(),
        step=args.get("step", "").strip(),
        followup=args.get("followup", "").strip(),
    )


def delivery_state(jobs: list[dict]) -> str:
    """The call's follow-ups in one word: "failed" (any failed or refused), "pending", "delivered", or ""."""
    statuses = {j.get("status") for j in jobs}
    if statuses & {"failed", "refused"}:
        return "failed"
    if statuses - {"delivered"}:
        return "pending"
    return "delivered" if statuses else ""


@bp.get("/")
@login_required
def index():
    page = find_calls(redis_conn(), filter_from(request.args), limit=50, before=request.args.get("before", type=float))
    return render_template(
        "calls/index.html", page=page, args=request.args, channels=CHANNELS, stored=CallStore(redis_conn()).count()
    )


@bp.get("/live")
@login_required
def live():
    """Calls in progress and the live queue (who waits in each hold queue, how long, in which place); each table
    refreshes itself from its fragment (`?fragment=1`, `?fragment=queue`)."""
    now, fragment = time.time(), request.args.get("fragment")
    if fragment == "queue":
        return render_template("calls/_queue_rows.html", queues=QueueBoard(redis_conn()).snapshot(now), now=now)
    rows = live_calls(redis_conn())
    if fragment:
        return render_template("calls/_live_rows.html", rows=rows, now=now)
    queues = QueueBoard(redis_conn()).snapshot(now)
    return render_template("calls/live.html", rows=rows, queues=queues, now=now)


def recordings_of(timeline: list[dict]) -> list[str]:
    found = []
    for entry in timeline:
        data = entry.get("data", {})
        if data.get("type") == "recording_done" and data.get("url"):
            found.append(data["url"])
        elif data.get("type") == "transfer_result" and data.get("recording"):  # a recorded bridged transfer
            found.append(data["recording"])
    return found


def describe(entry: dict) -> tuple[str, str]:
    """(kind label, text) of one timeline entry, for people."""
    data = entry.get("data", {})
    kind = data.get("type", entry.get("kind", ""))
    text = {
        "say": lambda: data.get("text") or f"[audio {data.get('audio')}]",
        "gather": lambda: f"waiting for {' or '.join(data.get('input', []))} at {data.get('step')}",
        "digits": lambda: f"pressed {data.get('digits')}",
        "speech": lambda: f"said “{data.get('text')}” (confidence {float(data.get('confidence', 0)):.2f})",
        "no_input": lambda: "(no input)",
        "job": lambda: f"{data.get('kind')} job {data.get('idempotency_key')}",
        "log": lambda: f"{data.get('event')} {_fmt(data.get('data', {}))}",
        "call_started": lambda: f"call from {data.get('caller')} to {data.get('called')} ({data.get('channel')})",
        "hangup": lambda: f"hang up ({data.get('reason')})",
        "hung_up": lambda: "caller hung up",
        "transfer": lambda: f"transfer to {data.get('target')}",
        "transfer_result": lambda: f"transfer {'answered' if data.get('ok') else 'failed'} {data.get('reason', '')}",
        "record": lambda: f"recording (up to {data.get('max_length')} s)",
        "queue": lambda: f"queued in {data.get('name')}, ringing {', '.join(data.get('contacts', [])) or 'nobody'}",
        "record_call": lambda: "recording the whole call",
        "recording_done": lambda: f"recorded {data.get('duration')} s",
        "heard": lambda: _heard(data),
    }.get(kind, lambda: _fmt(data))
    return kind, text()


def _heard(data: dict) -> str:
    """A prompt as the caller heard it (SIP): from its first packet to its end or the barge-in."""
    said = data.get("text") or f"[audio {data.get('audio')}]"
    if data.get("ended_at") is None:
        return f"heard “{said}” (until the hang-up)"
    seconds = float(data["ended_at"]) - float(data["started_at"])
    return f"heard “{said}” for {seconds:.1f} s" + (" (barged in)" if data.get("barged_in") else "")


def _fmt(data: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in data.items() if k != "type")


@bp.get("/<call_id>")
@login_required
def show(call_id: str):
    store = CallStore(redis_conn())
    call = found_or_404(store.get(call_id), f"no call {call_id!r} (calls are kept 90 days)")
    timeline = store.timeline(call_id)
    entries = [(e, *describe(e)) for e in timeline]
    jobs = FollowupStore(redis_conn()).many(call.jobs)
    folder = recordings.folder_in(settings().data_dir)
    found = [
        (i, reference, recordings.resolve(reference, folder, call_id))
        for i, reference in enumerate(recordings_of(timeline))
    ]
    return render_template(
        "calls/show.html", call=call, entries=entries, jobs=jobs, recordings=found, delivery=delivery_state(jobs)
    )


@bp.get("/<call_id>/recordings/<int:index>")
@login_required
def recording(call_id: str, index: int):
    """Serve a voicemail this call recorded, only if the product wrote it (`ivr.system.recordings` decides)."""
    found = recordings_of(CallStore(redis_conn()).timeline(call_id))
    if index >= len(found):
        abort(404, description="no such recording")
    resolved = recordings.resolve(found[index], recordings.folder_in(settings().data_dir), call_id)
    if resolved is None or resolved.path is None:
        abort(404, description="no recording file of this call here")
    return send_file(resolved.path, mimetype="audio/wav", conditional=True)


@bp.get("/shared/<token>")
def shared(token: str):
    """A bridged transfer's hand-over link: one call's timeline, read-only, no login, until the link expires."""
    call_id = handover.call_of(token, settings().secret_key, settings().handover_link_hours)
    call = CallStore(redis_conn()).get(call_id) if call_id else None
    if call is None:
        abort(404, description="this link is not valid or has expired")
    entries = [(e, *describe(e)) for e in CallStore(redis_conn()).timeline(call.id)]
    return render_template("calls/shared.html", call=call, entries=entries)
