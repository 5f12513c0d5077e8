"""`ivr worker` as a real process: burst mode, `ivr calls --json`, and SIGKILL in the middle of a job."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ivr.call_session.wiring import open_call_session
from ivr.engine.events import Digits
from ivr.store.followups import FollowupStore
from tests.procs import alive, children, wait_until
from tests.sessions import SUPPORT_PATH

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
CLI = [sys.executable, "-m", "ivr"]


def env_for(settings, redis_url) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": redis_url,
            "IVR_DATA_DIR": str(settings.data_dir),
            "SMTP_HOST": settings.smtp_host,
            "SMTP_PORT": str(settings.smtp_port),
            "SMTP_FROM": settings.smtp_from,
            "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
            "TWILIO_FROM_NUMBER": settings.twilio_from_number,
            "TWILIO_API_BASE_URL": settings.twilio_api_base_url,
            "IVR_WEBHOOK_SECRET": settings.webhook_secret,
            "PUBLIC_BASE_URL": settings.public_base_url,
            "IVR_FLOWS_DIR": str(FLOWS),
        }
    )
    return env


def start_worker(env: dict, *options: str, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    """`ivr worker OPTIONS` as a process, its output to `stdout` (discarded by default)."""
    stderr = subprocess.DEVNULL if stdout == subprocess.DEVNULL else subprocess.STDOUT
    return subprocess.Popen([*CLI, "worker", *options], cwd=ROOT, env=env, stdout=stdout, stderr=stderr)


def _all_gone(pids, timeout: float = 10.0) -> bool:
    return wait_until(lambda: not any(alive(p) for p in pids), timeout, interval=0.05)


def _wait_until(condition, timeout: float = 60.0) -> bool:
    return wait_until(condition, timeout, interval=0.05)


def _never_runs_again(harness, followup_id: str) -> bool:
    """The job finished, is in no queue or registry that would run it again, and its follow-up is final."""
    from rq.job import Job, JobStatus
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    from ivr import jobs
    from ivr.store.followups import FINAL, Status

    job_id = jobs.rq_job_id(followup_id)
    waiting = (
        job_id in harness.queue.job_ids
        or job_id in StartedJobRegistry(queue=harness.queue)
        or job_id in ScheduledJobRegistry(queue=harness.queue)
    )
    finished = Job.fetch(job_id, connection=harness.conn).get_status() == JobStatus.FINISHED
    return finished and not waiting and Status(FollowupStore(harness.conn).get(followup_id)["status"]) in FINAL


def test_burst_worker_process_and_calls_listing(harness, settings, redis_server, twilio_api):
    session = open_call_session(settings.with_overrides(redis_url=redis_server.url, flows_dir=FLOWS))
    session.start(call_id="p-1", channel="sip", caller="+442079460001", called="+15550000000", at=1_790_000_000.0)
    session.turn("p-1", Digits(digits="1", at=1_790_000_004.0))
    env = env_for(settings, redis_server.url)
    subprocess.run([*CLI, "worker", "--burst"], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True)
    assert [m["to"] for m in twilio_api.messages] == ["+442079460001"]
    out = subprocess.run(
        [*CLI, "calls", "--json", "--limit", "5"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    [call] = [json.loads(line) for line in out.splitlines()]
    assert (call["id"], call["channel"], call["caller"], call["outcome"]) == (
        "p-1",
        "sip",
        "+442079460001",
        "support_links_sent",
    )
    assert call["started_at"] == 1_790_000_000.0
    assert call["path"] == SUPPORT_PATH
    assert [(j["kind"], j["status"]) for j in call["jobs"]] == [("sms", "delivered")]
    text = subprocess.run(
        [*CLI, "calls"], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    assert "p-1" in text and "sms:delivered" in text


@pytest.mark.slow
def test_a_worker_killed_mid_job_gets_the_job_done_exactly_once(harness, settings, redis_server, smtp_sink):
    """SIGKILL the worker while it is in the middle of the SMTP conversation (before the server accepted the
    message). RQ notices the abandoned job once its heartbeat lapses (job timeout + ABANDON_GRACE), retries it,
    and the email arrives exactly once."""
    harness.queue_job("email", "k-1:mail:1", {"to": "owner@example.test", "subject": "kill test", "message": "x"})
    smtp_sink.hold()
    env = env_for(settings, redis_server.url)
    first = start_worker(env)
    second = None
    try:
        assert smtp_sink.rcpt_seen.wait(30), "the worker never reached the SMTP server"
        assert FollowupStore(harness.conn).get("k-1:mail:1")["status"] == "sending"
        scheduler = children(first.pid)  # RQ's scheduler process
        assert scheduler
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert _all_gone(scheduler), "the worker's scheduler process outlived it"
        smtp_sink.release()
        assert smtp_sink.messages == []
        second = start_worker(env, "--maintenance-interval", "3")
        assert smtp_sink.wait_for(1, timeout=90), "the abandoned job was never completed"
        # No duplicate can come once the job has finished and nothing would run it again; and a run would find
        # the follow-up delivered (final) and not send. Both are conditions, waited for, not a time.
        assert _wait_until(lambda: _never_runs_again(harness, "k-1:mail:1")), "the job was left to run again"
        assert len(smtp_sink.messages) == 1
        assert smtp_sink.messages[0]["Subject"] == "kill test"
        record = FollowupStore(harness.conn).get("k-1:mail:1")
        assert record["status"] == "delivered"
        assert [a["status"] for a in record["attempts"]].count("delivered") == 1
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def test_a_worker_started_before_its_redis_waits_for_it(settings, twilio_api, tmp_path):
    """Redis not up yet (a boot, or a failover with no master named): `ivr worker` keeps trying, and does the
    work once Redis answers. Building a fresh worker talks to Redis too; that once killed the process."""
    from tests.conftest import RedisServer

    redis_server = RedisServer(tmp_path / "redis")
    with open(tmp_path / "worker.log", "w") as log:
        worker = start_worker(env_for(settings, redis_server.url), "--maintenance-interval", "1", stdout=log)
    try:
        assert not wait_until(lambda: worker.poll() is not None, 3, interval=0.05), "the worker gave up on Redis"
        redis_server.start()
        session = open_call_session(settings.with_overrides(redis_url=redis_server.url, flows_dir=FLOWS))
        session.start(call_id="w-1", channel="sip", caller="+442079460002", called="+15550000000", at=1_790_000_000.0)
        session.turn("w-1", Digits(digits="1", at=1_790_000_004.0))
        assert _wait_until(lambda: [m["to"] for m in twilio_api.messages] == ["+442079460002"], 30), (
            tmp_path / "worker.log"
        ).read_text()[-3000:]
        assert worker.poll() is None
        assert (tmp_path / "worker.log").read_text().count("worker lost Redis") == 1  # not once per attempt
    finally:
        worker.terminate()
        worker.wait(30)
        redis_server.kill()


def test_worker_maintenance_counts_finished_calls_for_analytics(redis_conn, settings):
    from ivr.store import keys
    from ivr.worker import make_worker

    redis_conn.sadd(keys.ANALYTICS_PENDING, "no-such-call")
    make_worker(settings, redis_conn).run_maintenance_tasks()
    assert redis_conn.scard(keys.ANALYTICS_PENDING) == 0


def test_worker_maintenance_ends_calls_nothing_else_will_end(redis_conn, settings):
    from ivr.store import analytics, keys
    from ivr.store.calls import CallStore
    from ivr.worker import make_worker

    session = open_call_session(settings, FLOWS, conn=redis_conn)
    at = 1_790_000_000.0
    for call_id in ("gone-quiet", "still-on"):  # both wait in the menu; only the first one's state has expired
        session.start(call_id=call_id, channel="twilio", caller="+442079460001", called="+15550000000", at=at)
    session.turn("gone-quiet", Digits(digits="7", at=at + 6), turn_id="t1")  # a wrong key: the menu repeats
    redis_conn.delete(keys.call_state("gone-quiet"))  # what STATE_TTL does a day after the last turn
    calls = CallStore(redis_conn)
    assert set(calls.live()) == {"gone-quiet", "still-on"}
    make_worker(settings, redis_conn).run_maintenance_tasks()
    assert calls.live() == ["still-on"]
    ended = calls.get("gone-quiet")
    assert (ended.outcome, ended.ended_at) == ("abandoned", at + 6) and "main_menu" in ended.path
    assert analytics.read_days(redis_conn, ["2026-09-21"])[0]["2026-09-21"]["outcome:abandoned"] == 1
