"""Issue 12 item 7: a Redis that hangs (SIGSTOP: connections are accepted, nothing is ever answered) must not hang
the webhooks. Voice, gather and SMS webhooks answer from the spool and fallback paths, as when Redis refuses
connections, and /healthz answers "down" promptly. Real gunicorn, real redis-server stopped with SIGSTOP.

The only timing bound proves there is no hang: far above IVR_REDIS_TIMEOUT (0.2 s), far below Twilio's 15 s.
"""

from __future__ import annotations

import json
import os
import signal
import time

import requests

from tests.conftest import RedisServer
from tests.twilio.conftest import server_env, start_gunicorn, stop_gunicorn
from tests.twilio.twilio_caller import IVR_NUMBER, STRANGER, HttpTransport, SignedPoster, TwilioCall

NO_HANG = 5.0  # seconds


def timed(fn, *args):
    started = time.monotonic()
    result = fn(*args)
    return result, time.monotonic() - started


def test_a_hung_redis_never_hangs_the_webhooks_or_healthz(tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    proc, base = start_gunicorn(server_env(redis_server.url, tmp_path / "data"))
    poster = SignedPoster(HttpTransport([base]))
    try:
        warm = TwilioCall(poster)
        warm.answer()  # the worker has its connection and the flow
        os.kill(redis_server.proc.pid, signal.SIGSTOP)
        try:
            call = TwilioCall(poster)
            first, took = timed(call.answer)
            assert took < NO_HANG and "This is not Skype" in first.said()[0] and first.find("Gather") is not None
            done, took = timed(call.press, "1")
            assert took < NO_HANG and "sent Skype's support links" in done.said()[0], done.body
            sms_params = {
                "MessageSid": "SM" + "1" * 32,
                "AccountSid": "AC" + "0" * 32,
                "From": STRANGER,
                "To": IVR_NUMBER,
                "Body": "hello",
                "NumMedia": "0",
            }
            sms, took = timed(poster.post, "/twilio/sms", sms_params)
            assert took < NO_HANG and sms.status == 200 and "<Message" in sms.body, sms.body
            health, took = timed(requests.get, f"{base}/healthz", None)
            assert took < NO_HANG and health.status_code == 503 and json.loads(health.text) == {"status": "down"}
        finally:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
    finally:
        stop_gunicorn(proc)
        redis_server.kill()
