"""Fixtures for the follow-up tasks: settings pointing at the local fakes, a way to queue jobs and run a worker."""

import pytest
from rq import Queue

from ivr import jobs
from ivr.call_session.writes import apply_write, new_write
from ivr.settings import Settings
from ivr.store import connect
from ivr.worker import make_worker


@pytest.fixture
def settings(tmp_path, twilio_api, smtp_sink, webhook_receiver):
    return Settings(
        data_dir=tmp_path,
        twilio_account_sid=twilio_api.account_sid,
        twilio_auth_token=twilio_api.auth_token,
        twilio_from_number="+15550000000",
        twilio_api_base_url=twilio_api.base_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_from="ivr@example.test",
        webhook_secret=webhook_receiver.secret,
        public_base_url="https://ivr.example.test",
        callback_retry_spacing=0,
        callback_max_attempts=3,
        callback_rate_limit_per_day=3,
    )


class Harness:
    def __init__(self, settings, conn):
        self.settings = settings
        self.conn = conn
        self.queue = Queue(jobs.QUEUE_NAME, connection=conn)

    def queue_job(self, kind: str, job_id: str, payload: dict, call_id: str = "call-1", at: float = 1.0):
        """Queue a follow-up exactly as a call turn does."""
        write = new_write(call_id, 1, at=at)
        write["jobs"] = [{"job_id": job_id, "kind": kind, "payload": {"call_id": call_id, **payload}}]
        apply_write(self.conn, self.queue, write)

    def work(self, **context_options) -> bool:
        worker = make_worker(self.settings, self.conn, **context_options)
        return worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


@pytest.fixture
def harness(settings, redis_conn, redis_server):
    return Harness(settings, connect(redis_server.url))
