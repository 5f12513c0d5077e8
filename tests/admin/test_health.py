"""/healthz reports Redis, worker and SIP from their heartbeats; /metrics exposes the shared counters."""
from __future__ import annotations

from datetime import datetime, timezone

from ivr.call_session.wiring import open_call_session
from ivr.channels.simulator import run_script
from ivr.flows import load_flow
from ivr.store import connect, heartbeats, keys
from ivr.web import create_app


def test_healthz_reads_heartbeats(app, redis_conn):
    client = app.test_client()
    body = client.get("/healthz").json
    assert body["redis"]["ok"] is True and body["worker"]["ok"] is False and body["sip"]["ok"] is False
    assert body["status"] == "degraded"
    heartbeats.beat(redis_conn, "worker", jobs_done=3)
    heartbeats.beat(redis_conn, "sip", live_calls=2)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"
    assert response.json["sip"]["live_calls"] == 2 and response.json["worker"]["jobs_done"] == 3
    assert redis_conn.ttl(keys.heartbeat("sip")) > 0  # a dead process disappears by itself


def test_healthz_when_redis_is_down(settings, redis_server):
    dead = connect("unix:///nonexistent/redis.sock")  # the app's own fail-fast client
    app = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": dead})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["status"] == "down"
    metrics = app.test_client().get("/metrics").text
    assert "ivr_redis_up 0.0" in metrics


def test_metrics_count_calls_turns_jobs(app, settings, redis_conn):
    session = open_call_session(settings, conn=redis_conn)
    flow = load_flow(settings.flows_dir / "skype-receptionist.yaml")
    at = datetime(2026, 11, 23, 12, tzinfo=timezone.utc).timestamp()
    run_script(flow, ["1"], at=at, session=session)
    run_script(flow, ["2"], at=at, session=session, channel="sip")
    text = app.test_client().get("/metrics").text
    assert 'ivr_calls_total{channel="simulator"} 1.0' in text and 'ivr_calls_total{channel="sip"} 1.0' in text
    assert 'ivr_jobs_total{kind="sms"} 1.0' in text and 'ivr_jobs_total{kind="chat"} 1.0' in text
    assert "ivr_turns_total 4.0" in text
    assert "ivr_jobs_queued 2.0" in text and "ivr_job_failures 0.0" in text and "ivr_redis_up 1.0" in text
