"""Issue 15: the Redis master dies mid-calls; sentinel promotes the replica; nothing is lost or sent twice.

Real processes on loopback: a master, a replica, three redis-sentinel (tests/sentinel_cluster.py). A call session
and an RQ worker connect through REDIS_SENTINELS with IVR_REDIS_WAIT_MS set. Calls run before, during and after
the failover; the master is SIGKILLed right after writes that only it may hold. Afterwards the new master has
every call once, every follow-up queued once, and one worker burst sends each caller exactly one SMS.
"""

import pytest
from rq import Queue

from ivr import jobs
from ivr.call_session.wiring import open_call_session, open_redis
from ivr.store import for_blocking
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore
from ivr.web import create_app
from ivr.worker import make_worker
from tests.sentinel_cluster import ROOT, SentinelCluster, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CALLS_BEFORE, CALLS_DURING = 10, 10
NUMBERS = [*range(CALLS_BEFORE + CALLS_DURING), *range(50, 55), 99]


@pytest.fixture
def cluster(tmp_path):
    cluster = SentinelCluster(tmp_path / "redis").start()
    yield cluster
    cluster.stop()


def call(session, n: int) -> str:
    """The shipped flow's support-links path: two turns, one SMS follow-up to a GB number."""
    from ivr.engine.events import Digits

    call_id, caller, at = f"failover-{n}", f"+44207946{n:04d}", 1_790_000_000.0 + n
    first = session.start(call_id=call_id, channel="sip", caller=caller, called="+15550000000", at=at)
    assert first and first[-1].type != "hangup", first
    second = session.turn(call_id, Digits(digits="1", at=at + 5), turn_id=f"{call_id}-t1")
    assert second[-1].type == "hangup" and any(a.type == "job" for a in second)
    return caller


def through_sentinels(settings, cluster):
    """The settings of a node on the cluster: Redis found through its sentinels, writes confirmed by a replica."""
    return settings.with_overrides(
        flows_dir=ROOT / "flows",
        redis_sentinels=cluster.sentinels,
        redis_sentinel_master="ivr",
        redis_wait_ms=100,
        redis_timeout=0.5,
    )


def test_a_killed_master_loses_no_call_and_sends_no_follow_up_twice(settings, cluster, twilio_api):
    settings = through_sentinels(settings, cluster)
    session = open_call_session(settings)
    callers = [call(session, n) for n in range(CALLS_BEFORE)]
    assert session.spool.pending() == 0  # the replica confirmed every write
    cluster.kill_master()
    callers += [call(session, n) for n in range(CALLS_BEFORE, CALLS_BEFORE + CALLS_DURING)]  # the spool holds them
    assert session.spool.pending() > 0
    cluster.wait_for_failover()
    callers += [call(session, n) for n in range(50, 55)]  # no replica confirms these yet: they wait in the spool
    assert session.spool.pending() > 0
    cluster.restart_old_master_as_replica()
    wait_until(lambda: session.replay() >= 0 and session.spool.pending() == 0, 60, "the spool to reach the new master")
    callers.append(call(session, 99))  # and calls are written straight to the new master again
    assert session.spool.pending() == 0

    conn = open_redis(settings, timeout=5)
    assert conn.connection_pool.get_master_address()[1] == cluster.ports["replica"]
    web = create_app({"IVR_SETTINGS": settings.with_overrides(secret_key="t" * 32), "TESTING": True})
    assert web.test_client().get("/healthz").status_code == 200  # the web app's own client reached the new master
    blocking = for_blocking(conn, 0.1)  # the SIP process's BLPOP client follows the sentinels too
    assert blocking.blpop(["failover:nothing"], timeout=0.1) is None
    assert blocking.connection_pool.get_master_address()[1] == cluster.ports["replica"]
    calls = CallStore(conn)
    assert calls.count() == len(callers)
    recorded = {calls.get(f"failover-{n}").caller for n in NUMBERS}
    assert recorded == set(callers)
    for n in NUMBERS:  # each turn recorded once
        events = [e["data"]["type"] for e in calls.timeline(f"failover-{n}") if e["kind"] == "event"]
        assert events == ["call_started", "digits"], (n, events)
    assert Queue(jobs.QUEUE_NAME, connection=conn).count == len(callers)

    assert make_worker(settings, conn).work(burst=True, with_scheduler=True, logging_level="WARNING")
    sent = [m["to"] for m in twilio_api.messages]
    assert sorted(sent) == sorted(callers)  # every caller exactly one SMS
    followups = FollowupStore(conn)
    for n in NUMBERS:
        [job_id] = calls.get(f"failover-{n}").jobs
        assert followups.get(job_id)["status"] == "delivered"
    assert make_worker(settings, conn).work(burst=True, with_scheduler=True, logging_level="WARNING") is not None
    assert len(twilio_api.messages) == len(callers)  # a second burst sends nothing


def test_a_running_worker_follows_the_master_through_a_failover(settings, cluster, twilio_api, tmp_path):
    """`ivr worker` keeps running across the failover and delivers what is queued on the new master."""

    from tests.jobs.test_worker_process import env_for, start_worker

    settings = through_sentinels(settings, cluster)
    env = {
        **env_for(settings, ""),
        "REDIS_SENTINELS": ",".join(cluster.sentinels),
        "REDIS_SENTINEL_MASTER": "ivr",
        "IVR_REDIS_WAIT_MS": "100",
        "IVR_REDIS_TIMEOUT": "0.5",
    }
    del env["REDIS_URL"]
    with open(tmp_path / "worker.log", "w") as log:
        worker = start_worker(env, "--maintenance-interval", "1", stdout=log)
    try:
        session = open_call_session(settings)  # the node's one data dir: the worker replays what the session spools
        first = call(session, 1)
        wait_until(lambda: [m["to"] for m in twilio_api.messages] == [first], 60, "the first SMS")
        cluster.kill_master()
        cluster.wait_for_failover()
        cluster.restart_old_master_as_replica()
        wait_until(lambda: session.replay() >= 0 and session.spool.pending() == 0, 60, "the spool to drain")
        second = call(session, 2)
        wait_until(
            lambda: sorted(m["to"] for m in twilio_api.messages) == sorted([first, second]),
            90,
            "the SMS queued on the new master, from the same worker",
        )
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.terminate()
        worker.wait(30)
