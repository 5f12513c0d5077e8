"""sms task: a text message through Twilio's Messaging REST API (twilio.rest.Client).

The sender is TWILIO_FROM_NUMBER; TWILIO_API_BASE_URL (for tests) points the client at another host.
Twilio 4xx errors (bad number, unverified recipient...) are final; 429, 5xx and network errors are retried.
Every text (SMS follow-ups and chat links alike) goes through `send_sms`, which applies the phone-number policy
(jobs/phone_guard.py): only a valid E.164 number of an allowed region and type, within the SMS rate limits, is
texted; a refusal is final and noted in the call's timeline. The body is the follow-up's message and link, or its
flow template (jobs/followup_text.py).
"""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException

from ivr.jobs.context import JobContext
from ivr.jobs.delivery import Permanent, Retryable, deliver
from ivr.jobs.followup_text import sms_body
from ivr.jobs.phone_guard import destination, note_refusal
from ivr.phone import NumberRefused, Purpose

MAX_BODY = 1600  # Twilio's limit for one message body


def run(job_id: str, payload: dict) -> str:
    return deliver(
        "sms",
        job_id,
        payload,
        lambda ctx: send_sms(
            ctx,
            payload.get("to") or payload.get("caller", ""),
            sms_body(ctx.settings.flows_dir, payload),
            payload,
            job_id,
        ),
    )


def number_to_text(ctx: JobContext, to: str, payload: dict, job_id: str = "") -> str:
    """`to` as the phone-number policy normalizes it (in the country of `payload`, the job's), counted against the
    SMS rate limits once per job; a refusal is noted in the call's timeline and raised as Permanent."""
    if not to:
        raise Permanent("no number to text")
    try:
        return destination(ctx, payload, to, Purpose.SMS, job_id)
    except NumberRefused as refused:
        note_refusal(ctx, payload, Purpose.SMS, refused)
        raise Permanent(f"refused {refused.raw}: {refused.reason}") from None


def send_sms(ctx: JobContext, to: str, body: str, payload: dict, job_id: str = "", checked: bool = False) -> str:
    """Send one SMS to `to` (through `number_to_text` unless `checked`: the caller did that already); returns a
    detail line with the message SID. Raises Permanent or Retryable."""
    s = ctx.settings
    if not (s.twilio_account_sid and s.twilio_auth_token and s.twilio_from_number):
        raise Permanent("Twilio is not configured (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)")
    if not body.strip():
        raise Permanent("empty message")
    to = to if checked else number_to_text(ctx, to, payload, job_id)
    try:
        message = ctx.twilio().messages.create(to=to, from_=s.twilio_from_number, body=body[:MAX_BODY])
    except TwilioRestException as exc:
        raise classify(exc) from None
    return f"sms {message.sid} to {to}: {message.status}"


def classify(exc: TwilioRestException) -> Exception:
    detail = f"Twilio {exc.status} error {exc.code}: {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return Retryable(detail)
    return Permanent(detail)
