"""callback task: queue a caller's callback request and place the call at the next open business hour.

`run` (the engine's job) applies the phone-number policy first (ivr/phone, jobs/phone_guard.py): the number is
normalized to E.164 and must be a valid number of an allowed region and type, within the per-number and overall
rate limits; `connect_to` must be a transfer target the policy allows. A refused number is recorded with the
reason (in the call's timeline too) and never dialled; an accepted one is stored, and dialled, as E.164. It
joins the time-ordered queue and a `dial` job is scheduled (RQ scheduler) for the flow's next open hour.
`dial` places the call through a CallbackDialer - Twilio's Calls API, or the SIP channel's dialer when
IVR_CALLBACK_CHANNEL=sip - and on failure schedules the next attempt IVR_CALLBACK_RETRY_SPACING later (again
within business hours), up to IVR_CALLBACK_MAX_ATTEMPTS. Every attempt is recorded on the request and in the
follow-up record.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

from rq.exceptions import DuplicateJobError
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import VoiceResponse

from ivr.engine.schedule import Schedule
from ivr.jobs import JOB_TIMEOUT, rq_job_id
from ivr.jobs.context import JobContext, current
from ivr.jobs.phone_guard import destination, note_refusal
from ivr.phone import NumberRefused, PhonePolicy, Purpose
from ivr.store.callbacks import CallbackRequest, CallbackStatus, CallbackStore
from ivr.store.followups import FollowupStore, Status

log = logging.getLogger(__name__)

GREETING = "Hello, this is the call back you asked for."
CONNECT_FAILED = "Sorry, we could not put you through just now. Please call us again later."


class DialError(Exception):
    """The call could not be placed this time (busy line, API error...); another attempt may work."""


class ConfigurationError(DialError):
    """The call cannot be placed until a setting or the number changes: retrying cannot help."""


class CallbackDialer(Protocol):
    def place(self, number: str, request: CallbackRequest) -> str:
        """Start the call; return a reference (e.g. a call SID). Raise DialError if it could not be placed."""


class TwilioDialer:
    def __init__(self, ctx: JobContext):
        self.ctx = ctx

    def place(self, number: str, request: CallbackRequest) -> str:
        s = self.ctx.settings
        if not (s.twilio_account_sid and s.twilio_auth_token and s.twilio_from_number):
            missing = [
                n
                for n, v in (
                    ("TWILIO_ACCOUNT_SID", s.twilio_account_sid),
                    ("TWILIO_AUTH_TOKEN", s.twilio_auth_token),
                    ("TWILIO_FROM_NUMBER", s.twilio_from_number),
                )
                if not v
            ]
            raise ConfigurationError(f"{', '.join(missing)} not set: Twilio cannot place the call")
        policy = PhonePolicy.from_settings(s)
        try:  # queued numbers are E.164 already: this only refuses a record that did not come through the queue
            to = policy.dialable(number)
            connect_to = policy.transfer_target(request.connect_to, extensions=False) if request.connect_to else ""
        except NumberRefused as exc:
            raise ConfigurationError(f"refused by the phone-number policy: {exc}") from None
        twiml = VoiceResponse()
        twiml.say(GREETING)
        if connect_to:  # put the caller through to whoever should talk to them
            twiml.dial(connect_to)
        try:
            call = self.ctx.twilio().calls.create(to=to, from_=s.twilio_from_number, twiml=str(twiml))
        except TwilioRestException as exc:
            final = exc.status in (401, 403)  # the credentials, not the line: the next attempt fails the same way
            raise (ConfigurationError if final else DialError)(
                f"Twilio {exc.status} error {exc.code}: {exc.msg}"
            ) from None
        return call.sid


def dialer_for(ctx: JobContext) -> CallbackDialer:
    channel = ctx.settings.callback_channel
    if channel in ctx.dialers:
        return ctx.dialers[channel]
    if channel == "twilio":
        return TwilioDialer(ctx)
    raise ConfigurationError(f"IVR_CALLBACK_CHANNEL={channel!r} is neither twilio nor sip")


def accepted(ctx: JobContext, job_id: str, payload: dict) -> tuple[str, str]:
    """(E.164 number, normalized connect_to) of a new request; raises NumberRefused (counted by the rate limit)."""
    number, connect_to = str(payload.get("number", "")), str(payload.get("connect_to") or "")
    if connect_to:
        try:
            connect_to = PhonePolicy.from_settings(ctx.settings).transfer_target(
                connect_to, payload.get("country") or "", extensions=ctx.settings.callback_channel == "sip"
            )
        except NumberRefused as refused:  # the request is refused as a whole: it names the callback's number
            raise NumberRefused(number, f"connect_to {refused.raw}: {refused.reason}") from None
    return destination(ctx, payload, number, Purpose.CALLBACK, job_id), connect_to


def next_open(schedule_spec: dict | None, at: float) -> float:
    if not schedule_spec:
        return at
    schedule = Schedule.from_spec(schedule_spec, ZoneInfo(schedule_spec.get("timezone", "UTC")))
    found = schedule.next_open(at)
    return at if found is None else found


def run(job_id: str, payload: dict) -> str:
    ctx = current()
    callbacks, followups = CallbackStore(ctx.redis), FollowupStore(ctx.redis)
    call_id, now = payload.get("call_id", ""), ctx.clock()
    if not followups.begin(job_id, kind="callback", call_id=call_id, at=now):
        return "already handled"
    existing = callbacks.get(job_id)
    if existing is None:
        try:
            number, connect_to = accepted(ctx, job_id, payload)
        except NumberRefused as refused:
            callbacks.refuse(job_id, number=refused.raw, call_id=call_id, at=now, reason=refused.reason)
            followups.record(job_id, Status.REFUSED, at=now, detail=f"{refused.raw}: {refused.reason}")
            note_refusal(ctx, payload, Purpose.CALLBACK, refused)
            return f"refused: {refused.reason}"
        callbacks.create(
            job_id, number=number, call_id=call_id, at=float(payload.get("requested_at") or now), connect_to=connect_to
        )
    else:
        number = existing.number
    when = next_open(payload.get("schedule"), now)
    callbacks.schedule(job_id, when)
    _schedule_dial(ctx, job_id, payload, attempt=1, when=when)
    followups.record(job_id, Status.SCHEDULED, at=now, detail=f"call {number} at {_iso(when)}")
    return f"scheduled for {_iso(when)}"


def dial(request_id: str, payload: dict, attempt: int) -> str:
    ctx = current()
    callbacks, followups = CallbackStore(ctx.redis), FollowupStore(ctx.redis)
    request = callbacks.get(request_id)
    if request is None or request.status not in (CallbackStatus.PENDING, CallbackStatus.DIALING):
        return f"nothing to do: {request.status if request else 'no such request'}"
    if len(request.attempts) >= attempt:
        return "attempt already made"  # this dial job ran before (the worker died after dialling)
    now = ctx.clock()
    callbacks.set_status(request_id, CallbackStatus.DIALING)
    try:
        reference = dialer_for(ctx).place(request.number, request)
    except DialError as exc:
        made = callbacks.record_attempt(request_id, at=now, outcome="failed", detail=str(exc))
        if isinstance(exc, ConfigurationError) or made >= ctx.settings.callback_max_attempts:
            callbacks.set_status(request_id, CallbackStatus.FAILED, reason=str(exc))
            why = f"not retried: {exc}" if isinstance(exc, ConfigurationError) else f"{made} attempts; last: {exc}"
            followups.record(request_id, Status.FAILED, at=now, detail=why)
            log.warning("callback %s failed: %s", request_id, why)
            return f"failed: {why}"
        callbacks.set_status(request_id, CallbackStatus.PENDING)
        when = next_open(payload.get("schedule"), now + ctx.settings.callback_retry_spacing)
        callbacks.schedule(request_id, when)
        _schedule_dial(ctx, request_id, payload, attempt=made + 1, when=when)
        followups.record(request_id, Status.RETRYING, at=now, detail=f"attempt {made}: {exc}")
        return f"attempt {made} failed; next at {_iso(when)}"
    callbacks.record_attempt(request_id, at=now, outcome="placed", detail=reference)
    callbacks.set_status(request_id, CallbackStatus.COMPLETED)
    followups.record(request_id, Status.DELIVERED, at=now, detail=f"call placed: {reference}")
    return f"placed {reference}"


def _schedule_dial(ctx: JobContext, request_id: str, payload: dict, attempt: int, when: float) -> None:
    at = datetime.fromtimestamp(when, timezone.utc)
    try:
        ctx.queue.enqueue_at(
            at,
            dial,
            request_id,
            payload,
            attempt,
            job_id=f"{rq_job_id(request_id)}-dial{attempt}",
            job_timeout=JOB_TIMEOUT,
            unique=True,
        )
    except DuplicateJobError:
        pass  # already scheduled by an earlier run of the same job


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="seconds")
