"""IVR_REDIS_WAIT_MS against a real redis-server without a replica: no write is confirmed, so each stays in the
spool (the master has it too) and a replay keeps it there; the follow-up is not sent before a replica has its
mark. With a replica attached, the same replay empties the spool without applying anything twice."""

import subprocess

import pytest
from rq import Queue

from ivr import jobs
from ivr.call_session import CallSession
from ivr.store import Unconfirmed, connect
from ivr.store.calls import CallStore
from ivr.store.followups import FollowupStore
from ivr.store.spool import Spool
from tests.sentinel_cluster import free_tcp_port, wait_until
from tests.sessions import flow_session
from tests.store.test_call_session import run_support_links_call


def session_for(url: str, spool: Spool, confirm_ms: int) -> CallSession:
    return flow_session(url, spool, confirm_ms=confirm_ms)


def test_unconfirmed_writes_stay_in_the_spool_until_a_replica_has_them(redis_server, redis_conn, tmp_path):
    session = session_for(redis_server.tcp_url, Spool(tmp_path / "spool.sqlite3"), confirm_ms=20)
    run_support_links_call(session, "unconfirmed-1")
    assert CallStore(redis_conn).get("unconfirmed-1").caller  # the master has the first turn
    # the spool keeps it (no replica confirmed it) and the second turn joins it there, in order
    assert session.spool.pending() == 2
    assert session.replay() == 0 and session.spool.pending() == 2
    job_id = "sms-probe"
    with pytest.raises(Unconfirmed):  # a follow-up is not sent before a replica knows of the attempt
        FollowupStore(redis_conn).begin(job_id, kind="sms", call_id="unconfirmed-1", at=1.0, confirm_ms=20)

    port = free_tcp_port()
    replica = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
            "--replicaof",
            "127.0.0.1",
            str(redis_server.port),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(
            lambda: connect(f"redis://127.0.0.1:{port}").info("replication")["master_link_status"] == "up",
            30,
            "the replica to sync",
        )
        wait_until(lambda: session.replay() >= 0 and session.spool.pending() == 0, 30, "a confirmed replay")
        calls = CallStore(redis_conn)
        events = [e["data"]["type"] for e in calls.timeline("unconfirmed-1") if e["kind"] == "event"]
        assert events == ["call_started", "digits"]  # the replay applied nothing twice
        assert calls.get("unconfirmed-1").outcome == "support_links_sent"
        assert Queue(jobs.QUEUE_NAME, connection=redis_conn).count == 1
    finally:
        replica.kill()
        replica.wait()
