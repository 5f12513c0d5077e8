"""What a running job may use: settings, Redis, the queue, a Twilio client, callback dialers, a clock.

The worker (ivr/worker.py) binds one JobContext around each job it performs; tasks read it with `current()`.
This keeps task arguments plain JSON (ids and payloads) while connections stay explicit and owned by the worker.
"""

from __future__ import annotations

import contextvars
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable

import redis
from rq import Queue

from ivr.settings import Settings

_CURRENT: contextvars.ContextVar["JobContext"] = contextvars.ContextVar("ivr_job_context")

HTTP_TIMEOUT = 10.0  # seconds, for every outbound HTTP request a task makes


@dataclass
class JobContext:
    settings: Settings
    redis: redis.Redis
    queue: Queue
    clock: Callable[[], float] = time.time
    dialers: dict = field(default_factory=dict)  # channel name -> CallbackDialer (the SIP channel adds "sip")
    _twilio: object = None

    def twilio(self):
        """A twilio.rest.Client; TWILIO_API_BASE_URL (for tests) points its REST API at another host."""
        if self._twilio is None:
            from ivr.call_session.wiring import twilio_client

            self._twilio = twilio_client(self.settings, HTTP_TIMEOUT)
        return self._twilio


def current() -> JobContext:
    try:
        return _CURRENT.get()
    except LookupError:
        raise RuntimeError("no JobContext: run ivr jobs with ivr.worker.IvrWorker") from None


@contextmanager
def bound(ctx: JobContext):
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
