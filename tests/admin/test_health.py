"""/healthz: Redis by PING, worker by heartbeat, SIP by a real OPTIONS; the detail only with a login or token.
/metrics: the shared counters, to a login, an API token, IVR_METRICS_TOKEN, or on IVR_METRICS_BIND only."""

from __future__ import annotations

import json
import logging
import socket
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest

from ivr.call_session.wiring import open_call_session
from ivr.channels.simulator import run_script
from ivr.channels.sip import probe
from ivr.channels.sip.server import SipConfig, SipServer
from ivr.flows import load_flow
from ivr.store import connect, heartbeats, keys
from ivr.store.users import Role, TokenStore
from ivr.web import create_app
from tests.admin.helpers import Client, login
from tests.sip.apps import never
from tests.sip.conftest import LoopThread, free_port_range
from tests.twilio.conftest import server_env, start_gunicorn, stop_gunicorn


@pytest.fixture(autouse=True)
def fresh_probe_cache():
    probe._cache.clear()
    yield
    probe._cache.clear()


@pytest.fixture
def sip_listener(tmp_path):
    """A real SipServer on a free port (on its own loop thread); yields its port."""
    loop = LoopThread()
    rtp_min, rtp_max = free_port_range(40)
    server = SipServer(
        SipConfig(host="127.0.0.1", port=0, rtp_port_min=rtp_min, rtp_port_max=rtp_max, data_dir=tmp_path / "sip"),
        never,
    )
    loop.run(server.start())
    yield server.address[1]
    loop.run(server.stop(), timeout=20)
    loop.close()


@pytest.fixture
def deaf_socket():
    """A UDP port that is bound (so no ICMP refusal) but never read: a listener that cannot receive."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def app_with(settings, redis_conn, password_hash, **overrides):
    from ivr.store.users import UserStore

    settings = settings.with_overrides(**overrides)
    app = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": redis_conn, "TESTING": True})
    UserStore(redis_conn).save_hashed("ada", password_hash, Role.ADMIN)
    return app


def admin_client(app) -> Client:
    client = app.test_client()
    assert login(client, "ada").status_code == 302
    return Client(client)


def test_healthz_reads_heartbeats_and_asks_sip_itself(settings, redis_conn, password_hash, sip_listener):
    app = app_with(settings, redis_conn, password_hash, sip_port=sip_listener)
    admin = admin_client(app)
    heartbeats.beat(redis_conn, "worker", jobs_done=3)
    heartbeats.beat(redis_conn, "sip", node="node-a", live_calls=2)
    response = admin.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok", response.json
    assert response.json["sip"]["ok"] is True and response.json["sip"]["live_calls"] == 2
    assert response.json["worker"]["jobs_done"] == 3
    assert redis_conn.ttl(keys.heartbeat("sip", "node-a")) > 0  # a dead process disappears by itself


def test_healthz_lists_every_sip_node_with_its_own_draining_flag(settings, redis_conn, password_hash, sip_listener):
    """Issue 15: every node wrote one heartbeat key, so /healthz showed whichever wrote last."""
    admin = admin_client(app_with(settings, redis_conn, password_hash, sip_port=sip_listener))
    heartbeats.beat(redis_conn, "sip", address="127.0.0.1:5071", live_calls=3, draining=True)
    heartbeats.beat(redis_conn, "sip", address="127.0.0.1:5072", live_calls=4, draining=False)
    heartbeats.beat(redis_conn, "sip", address="127.0.0.1:5071", live_calls=2, draining=True)  # beats again
    sip = admin.get("/healthz").json["sip"]
    by_address = {node["address"]: node for node in sip["nodes"]}
    assert sorted(by_address) == ["127.0.0.1:5071", "127.0.0.1:5072"]
    assert by_address["127.0.0.1:5071"]["draining"] is True and by_address["127.0.0.1:5072"]["draining"] is False
    assert sip["live_calls"] == 6 and sip["draining"] is False  # one node still takes calls
    redis_conn.delete(keys.heartbeat("sip", by_address["127.0.0.1:5072"]["node"]))  # its beat expired
    assert [n["address"] for n in admin.get("/healthz").json["sip"]["nodes"]] == ["127.0.0.1:5071"]


def test_a_sip_listener_that_cannot_receive_is_down_whatever_its_heartbeat(
    settings, redis_conn, password_hash, deaf_socket
):
    """Issue 12 item 1: the SIP process kept beating while its socket was closed, and /healthz said ok."""
    app = app_with(settings, redis_conn, password_hash, sip_port=deaf_socket)
    heartbeats.beat(redis_conn, "worker")
    heartbeats.beat(redis_conn, "sip", live_calls=0)
    body = admin_client(app).get("/healthz").json
    assert body["sip"]["ok"] is False and "OPTIONS" in body["sip"]["error"]
    assert body["status"] == "degraded"


def test_no_sip_listener_at_all_is_down(settings, redis_conn, password_hash):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free once closed: ICMP port unreachable
    heartbeats.beat(redis_conn, "sip")
    body = admin_client(app_with(settings, redis_conn, password_hash, sip_port=port)).get("/healthz").json
    assert body["sip"]["ok"] is False


def test_healthz_without_login_tells_the_state_alone(settings, redis_conn, password_hash, sip_listener):
    """Issue 12 item 11: no pid, host or SIP address without a login or an API token."""
    app = app_with(settings, redis_conn, password_hash, sip_port=sip_listener)
    heartbeats.beat(redis_conn, "worker")
    heartbeats.beat(redis_conn, "sip", address=f"127.0.0.1:{sip_listener}")
    for headers in ({}, {"Authorization": "Bearer ivr_not-a-token"}):
        response = app.test_client().get("/healthz", headers=headers)
        assert response.status_code == 200 and response.json == {"status": "ok"}
    assert str(sip_listener) not in response.text and "pid" not in response.text


def test_healthz_detail_with_an_api_token(settings, redis_conn, password_hash, deaf_socket):
    app = app_with(settings, redis_conn, password_hash, sip_port=deaf_socket)
    _, secret = TokenStore(redis_conn).create(name="monitor", role=Role.VIEWER, owner="ada")
    heartbeats.beat(redis_conn, "sip")
    body = app.test_client().get("/healthz", headers={"Authorization": f"Bearer {secret}"}).json
    assert body["sip"]["pid"] > 0 and body["sip"]["probed"] == f"127.0.0.1:{deaf_socket}"


def test_healthz_when_redis_is_down(settings, redis_server, deaf_socket):
    dead = connect("unix:///nonexistent/redis.sock")  # the app's own fail-fast client
    app = create_app({"IVR_SETTINGS": settings.with_overrides(sip_port=deaf_socket), "IVR_REDIS": dead})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json == {"status": "down"}  # nothing names the socket
    metrics = app.test_client().get("/metrics", headers={"Authorization": "Bearer scrape"})
    assert metrics.status_code == 403  # no token configured: a login would be needed, and Redis is down


def test_metrics_count_calls_turns_jobs(settings, redis_conn, password_hash):
    app = app_with(settings, redis_conn, password_hash)
    session = open_call_session(settings, conn=redis_conn)
    flow = load_flow(settings.flows_dir / "skype-receptionist.yaml")
    at = datetime(2026, 11, 23, 12, tzinfo=timezone.utc).timestamp()
    run_script(flow, ["1"], at=at, session=session)
    run_script(flow, ["2"], at=at, session=session, channel="sip")
    text = admin_client(app).get("/metrics").text
    assert 'ivr_calls_total{channel="simulator"} 1.0' in text and 'ivr_calls_total{channel="sip"} 1.0' in text
    assert 'ivr_jobs_total{kind="sms"} 1.0' in text and 'ivr_jobs_total{kind="chat"} 1.0' in text
    assert "ivr_turns_total 4.0" in text
    assert "ivr_jobs_queued 2.0" in text and "ivr_job_failures 0.0" in text and "ivr_redis_up 1.0" in text


def test_metrics_need_a_login_or_the_metrics_token(settings, redis_conn, password_hash, caplog):
    caplog.set_level(logging.WARNING, logger="ivr.admin.health")
    closed = app_with(settings, redis_conn, password_hash)
    refused = closed.test_client().get("/metrics")
    assert refused.status_code == 403 and "IVR_" not in refused.text and "METRICS" not in refused.text.upper()
    assert "IVR_METRICS_TOKEN is not set" in caplog.text  # the log names the setting, the body does not

    app = app_with(settings, redis_conn, password_hash, metrics_token="s3cret-scrape")
    client = app.test_client()
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).status_code == 200
    wrong = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrapf"})
    assert wrong.status_code == 403 and "s3cret" not in wrong.text
    assert "ivr_redis_up 1.0" in client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}).text


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_metrics_bind_serves_metrics_apart_on_a_real_gunicorn(redis_server, tmp_path, deaf_socket):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        metrics_port = s.getsockname()[1]
    env = server_env(
        redis_server.url,
        tmp_path / "data",
        IVR_METRICS_BIND=f"127.0.0.1:{metrics_port}",
        IVR_METRICS_TOKEN="tok",
        IVR_SIP_PORT=str(deaf_socket),
    )
    proc, base = start_gunicorn(env)
    try:
        status, text = _get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert status == 200 and "ivr_redis_up 1.0" in text
        # the main address: no /metrics at all now, not even with the token; a Host header changes nothing
        assert _get(f"{base}/metrics", {"Authorization": "Bearer tok"})[0] == 403
        assert _get(f"{base}/metrics", {"Host": f"127.0.0.1:{metrics_port}"})[0] == 403
        assert _get(f"http://127.0.0.1:{metrics_port}/login")[0] == 404  # the metrics address serves metrics only
        status, text = _get(f"{base}/healthz")
        assert json.loads(text) == {"status": "degraded"}
    finally:
        stop_gunicorn(proc)
