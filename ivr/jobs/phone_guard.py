"""The phone-number policy as the jobs apply it: one normalized number, checked and counted, or a refusal on record.

Every job that calls or texts a number (callback, sms, chat) gets its destination here: `destination()` reads the
number in the flow's country (`payload["country"]`, else IVR_DEFAULT_REGION), refuses what ivr.phone refuses,
then counts it against the per-number and overall limits (store.phone_limits). The E.164 number it returns is
the one stored, rate-limited and dialled. `note_refusal()` writes why into the call's timeline, so a caller ID
such as `tester` shows there as "not a valid phone number", never as a silent gap.
"""

from __future__ import annotations

import logging

from ivr.engine import actions as A
from ivr.jobs.context import JobContext
from ivr.phone import NumberRefused, PhonePolicy, Purpose
from ivr.store.calls import CallStore
from ivr.store.phone_limits import PhoneRateLimiter, limits_for

log = logging.getLogger(__name__)


def destination(ctx: JobContext, payload: dict, raw: str, purpose: Purpose, request_id: str = "") -> str:
    """The E.164 number to call or text, counted against the rate limits (once per `request_id`, the job's id, so
    a retried job is not counted again); raises NumberRefused."""
    policy = PhonePolicy.from_settings(ctx.settings)
    number = policy.destination(raw, purpose, str(payload.get("country") or ""))
    limits = limits_for(ctx.settings, purpose)
    reason = PhoneRateLimiter(ctx.redis).take(str(purpose), number, limits, ctx.clock(), request_id)
    if reason:
        raise NumberRefused(number, reason)
    return number


def note_refusal(ctx: JobContext, payload: dict, purpose: Purpose, refused: NumberRefused) -> None:
    """Say in the call's timeline that nothing was sent to this number, and why."""
    call_id = str(payload.get("call_id") or "")
    log.warning("%s to %r refused: %s (call %s)", purpose, refused.raw, refused.reason, call_id or "-")
    if not call_id:
        return
    entry = A.to_dict(A.Log(event=f"{purpose}_refused", data={"number": refused.raw, "reason": refused.reason}))
    CallStore(ctx.redis).append(call_id, [{"at": ctx.clock(), "kind": "note", "data": entry}])
