"""Home page and set-up check benchmark (issue 19): with today's calls and failed follow-ups in a real redis-server,
time `/` (set-up check cached, as a second view within 30 s sees it), `/` with the set-up check run afresh (SMTP
connect + EHLO to a local aiosmtpd, the SIP bind, espeak-ng and sox), and the flow page (graph data + 30 days of
edge counters), in alternating rounds; wall and CPU time per request, and the load average."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis
from rq import Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr import jobs  # noqa: E402
from ivr.call_session.writes import apply_write, new_write  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from ivr.store.embedded import EmbeddedRedis  # noqa: E402
from ivr.store.followups import FollowupStore, Status  # noqa: E402
from ivr.store.users import Role, UserStore  # noqa: E402
from ivr.web import create_app  # noqa: E402
from tests.fakes.smtp_sink import SmtpSink  # noqa: E402


def seed(conn, calls: int) -> None:
    queue, followups, now = Queue(jobs.QUEUE_NAME, connection=conn), FollowupStore(conn), time.time()
    for i in range(calls):
        write = new_write(f"h{i}", 1, at=now)
        write["start"] = {
            "channel": "sip",
            "caller": "+15550001111",
            "called": "+1",
            "started_at": now - i,
            "flow_id": "skype-receptionist",
        }
        write["path"] = ["screen_caller", "not_skype", "main_menu", "send_support_links", "goodbye"]
        write["finish"] = {"ended_at": now - i + 30, "outcome": ("support_links_sent", "voicemail")[i % 2]}
        apply_write(conn, queue, write)
        if i % 10 == 0:
            followups.create(f"h{i}:sms", kind="sms", call_id=f"h{i}", at=now)
            followups.record(f"h{i}:sms", Status.FAILED, at=now, detail="not retried: refused tester")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as server, SmtpSink() as smtp:
        conn = redis.Redis.from_url(server.url)
        seed(conn, args.calls)
        settings = Settings(
            data_dir=Path(tmp),
            flows_dir=ROOT / "flows",
            redis_url=server.url,
            secret_key="b" * 32,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
        )
        app = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": conn})
        UserStore(conn).save("bench", "bench-password", Role.ADMIN)
        client = app.test_client()
        token = client.get("/login").text.split('name="csrf-token" content="')[1].split('"')[0]
        client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
        cases = {
            "/ (set-up check cached)": lambda: client.get("/"),
            "/ (set-up check afresh)": lambda: (app.extensions.pop("ivr_setup_check", None), client.get("/")),
            "/flows/skype-receptionist": lambda: client.get("/flows/skype-receptionist"),
        }
        wall, cpu = {k: [] for k in cases}, {k: [] for k in cases}
        for _ in range(args.rounds):  # alternating rounds: the other agents' load hits every case alike
            for name, run in cases.items():
                for _ in range(args.requests):
                    w, c = time.perf_counter(), time.process_time()
                    run()
                    wall[name].append((time.perf_counter() - w) * 1000)
                    cpu[name].append((time.process_time() - c) * 1000)
        print(f"load average {os.getloadavg()[0]:.1f}; {args.calls} calls today, {args.calls // 10} failed follow-ups")
        base = statistics.median(wall["/ (set-up check cached)"])
        for name in cases:
            p50, p95 = statistics.median(wall[name]), statistics.quantiles(wall[name], n=20)[-1]
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {statistics.median(cpu[name]):.1f} | {p50 / base:.2f} |")


if __name__ == "__main__":
    main()
