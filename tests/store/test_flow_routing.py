"""The routing table through the call session a process opens (wiring.open_call_session), on a real redis-server:
the precedence (forced flow, row, the table's default, IVR_DEFAULT_FLOW), one row for every way a number is
written, changes seen within the refresh time, and routing on while Redis is down."""

from __future__ import annotations

import logging

import pytest

from ivr.call_session.routing import REFRESH_SECONDS, STALE_AFTER
from ivr.call_session.wiring import open_call_session
from ivr.settings import Settings
from ivr.store import connect
from ivr.store.calls import CallStore
from ivr.store.routes import RouteStore, RouteTable
from tests.routing_flows import greeting, write_flows

SALES = "+442079460123"


class Clock:
    """The session's monotonic clock (its Redis breaker and the table's refresh), moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flows(tmp_path):
    return write_flows(tmp_path / "flows", "sales", "support", "main", "fallback")


@pytest.fixture
def open_session(tmp_path, redis_server, flows):
    def open_(clock: Clock):
        settings = Settings(
            data_dir=tmp_path / "data", flows_dir=flows, redis_url=redis_server.url, default_flow="fallback"
        )
        return open_call_session(settings, conn=connect(redis_server.url, socket_timeout=0.2), clock=clock)

    return open_


def start(session, called: str, call_id: str, flow_id: str | None = None) -> str:
    actions = session.start(
        call_id=call_id, channel="sip", caller="+15557770001", called=called, at=1.0e9, flow_id=flow_id
    )
    return greeting(actions)


def test_forced_flow_then_row_then_the_tables_default_then_the_process_default(open_session, redis_conn):
    clock = Clock()
    session = open_session(clock)
    assert start(session, SALES, "c0") == "fallback"  # no table yet: IVR_DEFAULT_FLOW
    RouteStore(redis_conn).replace(RouteTable({SALES: "sales", "support": "support"}, default="main"))
    clock.now += REFRESH_SECONDS
    assert start(session, SALES, "c1") == "sales"
    assert start(session, "support", "c2") == "support"
    assert start(session, "+15550000000", "c3") == "main"  # no row: the table's default
    assert start(session, SALES, "c4", flow_id="support") == "support"  # `ivr sip --flow`, Twilio's ?flow=
    assert CallStore(redis_conn).get("c1").flow_id == "sales"  # what the admin's call pages show


@pytest.mark.parametrize("called", ["+44 20 7946 0123", "0044 20 7946 0123", "442079460123", "sip:+442079460123@ivr"])
def test_every_way_of_writing_the_number_finds_its_row(open_session, redis_conn, called):
    RouteStore(redis_conn).set(SALES, "sales")
    assert start(open_session(Clock()), called, "c1") == "sales"


def test_a_change_is_seen_once_the_copy_is_older_than_the_refresh_time(open_session, redis_conn):
    clock, store = Clock(), RouteStore(redis_conn)
    store.set(SALES, "sales")
    session = open_session(clock)
    assert start(session, SALES, "c1") == "sales"
    store.set(SALES, "support")
    assert start(session, SALES, "c2") == "sales"  # the copy is fresh: no Redis read for it
    clock.now += REFRESH_SECONDS
    assert start(session, SALES, "c3") == "support"


def test_redis_down_the_copy_routes_and_a_stale_copy_is_logged(open_session, redis_conn, redis_server, caplog):
    clock = Clock()
    RouteStore(redis_conn).set(SALES, "sales")
    session = open_session(clock)
    assert start(session, SALES, "c1") == "sales"
    redis_server.stop()
    caplog.set_level(logging.WARNING, "ivr.call_session.routing")
    clock.now += REFRESH_SECONDS
    assert start(session, SALES, "c2") == "sales"  # the call goes to the spool, routed by the copy
    assert "stale" not in caplog.text  # seconds old: not worth a warning
    clock.now += STALE_AFTER
    assert start(session, SALES, "c3") == "sales"
    assert "routing table: stale, Redis last answered 32 s ago" in caplog.text
    redis_server.start()
    clock.now += REFRESH_SECONDS
    assert start(session, SALES, "c4") == "sales"
    assert "read from Redis again" in caplog.text


def test_a_process_started_while_redis_is_down_routes_by_routes_yaml(open_session, flows, redis_server, caplog):
    (flows / "routes.yaml").write_text(f'default: main\nroutes:\n  "{SALES}": sales\n')
    redis_server.stop()
    caplog.set_level(logging.WARNING, "ivr.call_session.routing")
    session = open_session(Clock())
    assert start(session, "0044 20 7946 0123", "c1") == "sales"
    assert start(session, "support", "c2") == "main"
    assert "not read from Redis yet" in caplog.text


def test_a_row_naming_a_flow_that_is_gone_gets_the_default_flow(open_session, redis_conn, caplog):
    RouteStore(redis_conn).set(SALES, "closed-down")
    caplog.set_level(logging.ERROR, "ivr.call_session.session")
    assert start(open_session(Clock()), SALES, "c1") == "fallback"
    assert CallStore(redis_conn).get("c1").flow_id == "fallback"
    assert "routed flow closed-down cannot be loaded" in caplog.text
