"""The call session's Redis breaker (call_session/health.py) on an injected clock, against a Redis that is gone."""

import pytest
import redis

from ivr.call_session.health import DOWN_BACKOFF, RedisHealth
from ivr.store import connect


def test_after_a_failure_redis_is_skipped_until_the_backoff_has_passed():
    now = [1000.0]
    health = RedisHealth(clock=lambda: now[0])
    gone = connect("unix:///nonexistent/ivr-test-redis.sock")
    with pytest.raises(redis.ConnectionError), health.guard():
        gone.ping()
    assert health.down
    reached = []
    with pytest.raises(redis.ConnectionError, match="marked down"), health.guard():
        reached.append(True)
    assert reached == []  # not even tried
    now[0] += DOWN_BACKOFF
    with health.guard():
        reached.append(True)
    assert reached == [True] and not health.down


def test_the_call_session_passes_its_clock_to_the_breaker(redis_conn, tmp_path):
    from rq import Queue

    from ivr.call_session import CallSession
    from ivr.store.spool import Spool

    def clock():
        return 42.0

    session = CallSession(
        {},
        redis_conn=redis_conn,
        queue=Queue("ivr", connection=redis_conn),
        spool=Spool(tmp_path / "spool.sqlite3"),
        default_flow="x",
        clock=clock,
    )
    assert session.health.clock is clock
