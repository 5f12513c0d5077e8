"""The worker's side of SIP callbacks: hand a dial request to the `ivr sip` process and wait for its outcome.

The worker and the SIP endpoint are different processes, so they meet in Redis (store/dial_requests.py):
`place()` pushes a JSON request and blocks (bounded) on the request's own result list: "taken" at once, then
the outcome - at the 200 OK, so the job never waits for the whole call (ivr/channels/sip/outbound.py).
A request nobody took within the wait is withdrawn, so a SIP process that starts later never rings a stale callback.
"""

from __future__ import annotations

import json
import time

import redis

from ivr.jobs import JOB_TIMEOUT
from ivr.jobs.callback import CONNECT_FAILED, GREETING, DialError
from ivr.jobs.context import current
from ivr.store import for_blocking
from ivr.store.dial_requests import DialRequests

# place() runs inside an RQ job killed after JOB_TIMEOUT seconds: pickup + ring + margin must stay below it.
PICKUP_WAIT = 3.0  # seconds for a SIP process to take the request before we give up
REPORT_MARGIN = 2.0  # seconds between the SIP process's ring timeout and ours
RING_TIMEOUT = JOB_TIMEOUT - PICKUP_WAIT - REPORT_MARGIN - 3.0  # seconds the callee's phone may ring (12)


def dial_request(number: str, request, ring_timeout: float = RING_TIMEOUT) -> dict:
    """The JSON-able request the SIP process dials from; its id is stable per callback attempt."""
    attempt = len(getattr(request, "attempts", []) or []) + 1
    return {
        "id": f"{request.id}-{attempt}",
        "number": number,
        "greeting": GREETING,
        "connect_to": getattr(request, "connect_to", ""),
        "connect_failed": CONNECT_FAILED,
        "ring_timeout": ring_timeout,
        "queued_at": time.time(),
    }


class SipCallbackDialer:
    def __init__(self, conn=None, ring_timeout: float = RING_TIMEOUT, pickup_wait: float = PICKUP_WAIT) -> None:
        self.conn = conn  # None: the running job's Redis (the worker's own connection)
        self._requests: DialRequests | None = None
        self.ring_timeout = ring_timeout
        self.pickup_wait = pickup_wait

    def place(self, number: str, request) -> str:
        if self.conn is None:  # its BLPOPs wait up to the ring timeout plus the report margin
            self.conn = for_blocking(current().redis, self.ring_timeout + REPORT_MARGIN)
        if self._requests is None:
            self._requests = DialRequests(self.conn)
        try:
            return self._place(number, request)
        except redis.RedisError as exc:  # the callback job records it and tries again later
            raise DialError(f"cannot reach the SIP process through Redis: {exc}") from None

    def _place(self, number: str, request) -> str:
        job = dial_request(number, request, self.ring_timeout)
        payload = json.dumps(job)
        self._requests.push(payload)
        # The SIP process answers "taken" at once, then the outcome when the call is answered or fails.
        taken = self._next(job["id"], self.pickup_wait)
        if taken is None:
            if self._requests.withdraw(payload):
                raise DialError("no SIP process took the call (is `ivr sip` running?)")
            taken = self._next(job["id"], 1)  # taken just now: "taken" is already on its way
            if taken is None:
                raise DialError("the SIP process took the call but never reported")
        outcome = taken if taken.get("state") != "taken" else self._next(job["id"], self.ring_timeout + REPORT_MARGIN)
        if outcome is None:
            raise DialError("the SIP process never reported the call's outcome")
        if outcome.get("state") != "answered":
            raise DialError(describe(outcome))
        return f"sip:{outcome.get('call_id', job['id'])}"

    def _next(self, reference: str, timeout: float) -> dict | None:
        return self._requests.next_result(reference, timeout)


def describe(outcome: dict) -> str:
    """'busy (SIP 486 Busy Here)', 'no-answer', 'failed: no route' ..."""
    text = str(outcome.get("state") or "failed")
    if outcome.get("status"):
        text += f" (SIP {outcome['status']} {outcome.get('reason', '')}".rstrip() + ")"
    if outcome.get("detail"):
        text += f": {outcome['detail']}"
    return text


def make_dialer(settings) -> SipCallbackDialer:
    """Called by the worker (ivr/worker.py `sip_dialers`) when IVR_CALLBACK_CHANNEL=sip; it dials through the
    worker's own Redis connection (taken from the running job)."""
    return SipCallbackDialer()
