"""Follow-up throughput and latency: N calls' worth of jobs through real `ivr worker` processes.

Everything is real and on loopback: an embedded redis-server, worker processes (`python -m ivr worker`),
an aiosmtpd SMTP sink and the fake Twilio REST API (tests/fakes, in their own process). Jobs are queued exactly as
a call turn queues them (call_session.writes.apply_write): per call one SMS and one email.

Two measurements:
- throughput: queue all jobs of --calls calls, start --workers burst workers, time until all are delivered;
- latency: with --workers workers running, queue jobs at --rate jobs/s for --seconds; p50/p95 from enqueue to
  delivered (the follow-up record's enqueue time and its delivered attempt's time, same clock).

    deploy/bootstrap.sh bench      # once: .venv from requirements-bench.lock, plus wrk and tcpdump
    .venv/bin/python bench/followups.py --calls 1000 --workers 4 --rate 50 --seconds 20
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rq import Queue  # noqa: E402

from ivr import jobs  # noqa: E402
from ivr.call_session.writes import apply_write, new_write  # noqa: E402
from ivr.store import connect  # noqa: E402
from ivr.store.embedded import EmbeddedRedis  # noqa: E402
from ivr.store.followups import FollowupStore  # noqa: E402


def run_fakes(conn_out) -> None:
    """Child process: the SMTP sink and the fake Twilio API, until stdin closes / parent goes."""
    from tests.fakes.smtp_sink import SmtpSink
    from tests.fakes.twilio_api import FakeTwilioAPI

    with SmtpSink() as sink, FakeTwilioAPI() as twilio:
        conn_out.send((sink.port, twilio.base_url, twilio.account_sid, twilio.auth_token))
        conn_out.recv()  # wait for "stop"
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn_out.send((len(sink.envelopes), len(twilio.messages), usage.ru_utime + usage.ru_stime))


def queue_call(conn, queue, n: int, prefix: str) -> list[str]:
    call_id = f"{prefix}-{n}"
    write = new_write(call_id, 1)
    write["jobs"] = [
        {
            "job_id": f"{call_id}:sms:1",
            "kind": "sms",
            "payload": {"call_id": call_id, "to": f"+1212555{n % 10_000:04d}", "message": "Skype help: ..."},
        },
        {
            "job_id": f"{call_id}:mail:1",
            "kind": "email",
            "payload": {"call_id": call_id, "to": "owner@example.test", "subject": f"Call {n}", "message": "x"},
        },
    ]
    apply_write(conn, queue, write)
    return [j["job_id"] for j in write["jobs"]]


def deliveries(conn, job_ids: list[str]) -> list[tuple[float, float]] | None:
    """(enqueued at, delivered at) for each job, or None while some are not delivered yet."""
    out = []
    for record in FollowupStore(conn).many(job_ids):
        if record.get("status") != "delivered":
            return None
        out.append((float(record["created_at"]), record["attempts"][-1]["at"]))
    return out


def wait_delivered(conn, job_ids, timeout: float) -> list[tuple[float, float]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = deliveries(conn, job_ids)
        if found is not None:
            return found
        time.sleep(0.05)
    statuses = [r.get("status") for r in FollowupStore(conn).many(job_ids)]
    raise SystemExit(f"not all delivered within {timeout} s: { {s: statuses.count(s) for s in set(statuses)} }")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pct(values, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=1000, help="calls for the throughput run (2 jobs each)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0, help="jobs/s for the latency run")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of the latency run")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="ivr-followups-bench-"))
    parent_end, child_end = multiprocessing.Pipe()
    fakes = multiprocessing.Process(target=run_fakes, args=(child_end,), daemon=True)
    fakes.start()
    smtp_port, twilio_url, sid, token = parent_end.recv()
    with EmbeddedRedis(data_dir) as server:
        conn = connect(server.url)
        queue = Queue(jobs.QUEUE_NAME, connection=conn)
        env = dict(
            os.environ,
            REDIS_URL=server.url,
            IVR_DATA_DIR=str(data_dir),
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(smtp_port),
            TWILIO_ACCOUNT_SID=sid,
            TWILIO_AUTH_TOKEN=token,
            TWILIO_FROM_NUMBER="+15550000000",
            TWILIO_API_BASE_URL=twilio_url,
            # valid US numbers (repeating), under the phone-number policy's limits (ivr/phone)
            IVR_SMS_RATE_LIMIT="1000000",
            IVR_SMS_GLOBAL_RATE_LIMIT="1000000",
        )
        worker_cmd = [sys.executable, "-m", "ivr", "worker"]

        # throughput: a backlog drained by burst workers
        job_ids = [j for n in range(args.calls) for j in queue_call(conn, queue, n, "tp")]
        cpu_before = _children_cpu()
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                worker_cmd + ["--burst"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(args.workers)
        ]
        done = wait_delivered(conn, job_ids, timeout=600)
        elapsed = time.monotonic() - started
        delivered_at = sorted(d for _, d in done)
        steady = delivered_at[-1] - delivered_at[len(delivered_at) // 10]  # from the 10th percentile on
        for p in procs:
            p.wait(60)
        cpu = _children_cpu() - cpu_before
        print(
            f"throughput: {len(job_ids)} jobs ({args.calls} calls: sms + email) with {args.workers} workers "
            f"in {elapsed:.2f} s = {len(job_ids) / elapsed:.0f} jobs/s including worker start-up, "
            f"{(len(delivered_at) - len(delivered_at) // 10) / steady:.0f} jobs/s sustained (after the first 10%); "
            f"worker CPU {cpu * 1000 / len(job_ids):.1f} ms/job; load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs"
        )

        # latency at a steady rate, workers already running
        procs = [
            subprocess.Popen(worker_cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(args.workers)
        ]
        time.sleep(3)  # let the workers start
        job_ids, n, interval = [], 0, 2.0 / args.rate  # each call queues two jobs
        begin = time.monotonic()
        while time.monotonic() - begin < args.seconds:
            job_ids += queue_call(conn, queue, n, "lat")
            n += 1
            time.sleep(max(0.0, begin + n * interval - time.monotonic()))
        found = [d - e for e, d in wait_delivered(conn, job_ids, timeout=120)]
        for p in procs:
            p.terminate()
            p.wait(30)
        print(
            f"latency at {args.rate:.0f} jobs/s for {args.seconds:.0f} s ({len(found)} jobs, {args.workers} workers):"
            f" p50 {statistics.median(found) * 1000:.0f} ms, p95 {pct(found, 95) * 1000:.0f} ms, "
            f"max {max(found) * 1000:.0f} ms"
        )
        redis_cpu = conn.info("cpu")
    parent_end.send("stop")
    emails, sms, fakes_cpu = parent_end.recv()
    print(
        f"delivered to the sinks: {emails} emails, {sms} SMS (expected {args.calls + n} each); CPU seconds: "
        f"fake SMTP+Twilio {fakes_cpu:.1f}, redis-server "
        f"{redis_cpu['used_cpu_user'] + redis_cpu['used_cpu_sys']:.1f}"
    )
    fakes.join(10)
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
