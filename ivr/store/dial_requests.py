"""SIP dial requests: how the worker hands a callback call to the `ivr sip` process and hears how it went.

The worker pushes a JSON request onto `keys.SIP_DIAL_REQUESTS` and waits (BLPOP, bounded) on the request's own
result list (`keys.sip_dial_result`); the SIP process takes requests off the list and reports there: "taken" at
once, then the outcome. A request nobody took can be withdrawn, so a SIP process that starts later never rings a
stale callback. Outcomes expire after RESULT_TTL.
"""

from __future__ import annotations

import json

import redis

from ivr.store import keys

RESULT_TTL = 300  # seconds an outcome waits for the worker


class DialRequests:
    def __init__(self, conn: redis.Redis):
        self.conn = conn  # blocking reads: its socket timeout must exceed the waits asked for

    # the worker's side (ivr/jobs/sip_dialer.py)
    def push(self, payload: str) -> None:
        self.conn.rpush(keys.SIP_DIAL_REQUESTS, payload)

    def withdraw(self, payload: str) -> bool:
        """Take back a request no SIP process took; False if one took it meanwhile."""
        return bool(self.conn.lrem(keys.SIP_DIAL_REQUESTS, 1, payload))

    def next_result(self, reference: str, timeout: float) -> dict | None:
        got = self.conn.blpop([keys.sip_dial_result(reference)], timeout=max(1, int(round(timeout))))
        return json.loads(got[1]) if got else None

    # the SIP process's side (ivr/channels/sip/dial_loop.py)
    def take(self, timeout: int) -> bytes | None:
        """The next request's JSON text, or None after `timeout` seconds without one."""
        got = self.conn.blpop([keys.SIP_DIAL_REQUESTS], timeout)
        return got[1] if got else None

    def report(self, reference: str, outcome: dict) -> None:
        key = keys.sip_dial_result(reference)
        with self.conn.pipeline() as pipe:
            pipe.rpush(key, json.dumps(outcome))
            pipe.expire(key, RESULT_TTL)
            pipe.execute()
