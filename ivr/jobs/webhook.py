"""webhook task: POST a JSON event to a URL, signed so the receiver can check origin and reject replays.

Header `X-IVR-Signature` (ivr/system/signing.py, shared with the http step), plus
`Idempotency-Key: <job id>` so a receiver can drop a retried delivery it already processed. Only the timestamp
and the body are signed: the headers repeat the body's `id` and `event`, which is what a receiver must act on.
Timeouts, connection errors, 429 and 5xx are retried with exponential backoff (RQ Retry); any other 4xx is
final. Every attempt's outcome stays in the follow-up record.
"""

from __future__ import annotations

import json

import requests

from ivr.jobs.context import HTTP_TIMEOUT, JobContext
from ivr.jobs.delivery import Permanent, Retryable, deliver
from ivr.system.signing import DEFAULT_TOLERANCE, SIGNATURE_HEADER, sign, verify

__all__ = ["DEFAULT_TOLERANCE", "SIGNATURE_HEADER", "body_for", "post", "run", "sign", "verify"]
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-IVR-Event"


def run(job_id: str, payload: dict) -> str:
    return deliver("webhook", job_id, payload, lambda ctx: post(ctx, job_id, payload))


FOLLOW_UP_FIELDS = ("message", "link", "subject", "to", "template")  # what a flow's follow_up step rendered


def body_for(job_id: str, payload: dict) -> bytes:
    """The event document; identical on every retry so the idempotency key names one body."""
    event = {
        "id": job_id,
        "event": payload.get("event", "ivr.event"),
        "call_id": payload.get("call_id", ""),
        "flow_id": payload.get("flow_id", ""),
        "step": payload.get("step", ""),
        "caller": payload.get("caller", ""),
        "channel": payload.get("channel", ""),
        "data": {**{k: payload[k] for k in FOLLOW_UP_FIELDS if k in payload}, **payload.get("data", {})},
    }
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def post(ctx: JobContext, job_id: str, payload: dict) -> str:
    url = payload.get("url", "")
    if not url.startswith(("http://", "https://")):
        raise Permanent(f"bad webhook URL {url!r}")
    if not ctx.settings.webhook_secret:
        raise Permanent("IVR_WEBHOOK_SECRET is not set: refusing to send unsigned webhooks")
    body = body_for(job_id, payload)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(ctx.settings.webhook_secret, int(ctx.clock()), body),
        IDEMPOTENCY_HEADER: job_id,
        EVENT_HEADER: payload.get("event", "ivr.event"),
        "User-Agent": "ivr-webhook/1",
    }
    try:
        response = requests.post(url, data=body, headers=headers, timeout=(3.0, HTTP_TIMEOUT), allow_redirects=False)
    except (requests.Timeout, requests.ConnectionError) as exc:
        raise Retryable(f"{type(exc).__name__} posting to {url}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise Retryable(f"HTTP {response.status_code} from {url}")
    if not 200 <= response.status_code < 300:
        raise Permanent(f"HTTP {response.status_code} from {url}")
    return f"HTTP {response.status_code} from {url}"
