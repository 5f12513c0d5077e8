"""The shared redis fixtures: a private server, flushed per test, that can be stopped and restarted."""

import pytest
import redis


def test_conn_is_private_and_flushed(redis_conn, redis_server):
    assert redis_conn.dbsize() == 0
    redis_conn.set(b"k", b"v")
    assert redis_conn.get(b"k") == b"v"
    assert redis_server.url.startswith("unix://")
    assert redis.Redis.from_url(redis_server.tcp_url).get(b"k") == b"v"


def test_each_test_starts_with_an_empty_server(redis_server, request):
    redis_server.start()
    redis_server.client().set(b"left-behind", b"1")  # what an earlier test leaves, whichever ran before
    conn = request.getfixturevalue("redis_conn")  # set up only now, after the data was written
    assert conn.dbsize() == 0


def test_stop_refuses_connections_and_start_keeps_data(redis_conn, redis_server):
    redis_conn.set(b"kept", b"1")
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        redis_server.client(retry=None).ping()  # no retries: fail at once
    redis_server.start()
    assert redis_server.client().get(b"kept") == b"1"


def test_redis_conn_restarts_a_server_that_a_test_left_down(redis_server, request):
    redis_server.stop()
    assert not redis_server.running
    conn = request.getfixturevalue("redis_conn")
    assert redis_server.running and conn.ping()
