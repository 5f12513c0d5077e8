"""The shared redis fixtures: a private server, flushed per test, that can be stopped and restarted."""
import pytest
import redis


def test_conn_is_private_and_flushed(redis_conn, redis_server):
    assert redis_conn.dbsize() == 0
    redis_conn.set(b"k", b"v")
    assert redis_conn.get(b"k") == b"v"
    assert redis_server.url.startswith("unix://")
    assert redis.Redis.from_url(redis_server.tcp_url).get(b"k") == b"v"


def test_previous_test_data_is_gone(redis_conn):
    assert redis_conn.get(b"k") is None


def test_stop_refuses_connections_and_start_keeps_data(redis_conn, redis_server):
    redis_conn.set(b"kept", b"1")
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        redis_server.client(retry=None).ping()  # no retries: fail at once
    redis_server.start()
    assert redis_server.client().get(b"kept") == b"1"


def test_server_restarted_after_a_test_left_it_down(redis_server):
    redis_server.stop()


def test_conn_fixture_restarts_server(redis_conn):
    assert redis_conn.ping()
