"""Graceful drain of a real `ivr sip` process: SIGTERM with a SIPp call in progress.

While draining, OPTIONS gets 503 (so Kamailio takes the node out), a new INVITE gets 503 with Retry-After,
the heartbeat says "draining" and so does /healthz, the call in progress runs to its end, and the process
exits 0 once no call is left.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from ivr.settings import Settings
from ivr.store import connect, heartbeats
from ivr.store.calls import CallStore
from ivr.store.users import Role, TokenStore, UserStore
from ivr.web import create_app
from tests.sip.conftest import SCENARIOS, RawUac, free_port_range, free_udp_port, header

from .nodes import ROOT, SipNode, collect_output, finish_sipp, node_env, start_sipp, wait_for


def healthz(redis_url: str, tmp_path, sip_port: int) -> dict:
    """What the web app's /healthz says now, in detail (the real app, on the same Redis, with an API token)."""
    settings = Settings(
        data_dir=tmp_path / "web", flows_dir=ROOT / "flows", redis_url=redis_url, secret_key="t" * 32, sip_port=sip_port
    )
    conn = connect(redis_url)
    UserStore(conn).save("monitor", "monitor-password", Role.VIEWER)
    _, secret = TokenStore(conn).create(name="healthz", role=Role.VIEWER, owner="monitor")
    heartbeats.beat(conn, "worker")  # no worker runs here: say one does, so only SIP decides the state
    app = create_app({"IVR_SETTINGS": settings, "IVR_REDIS": conn, "TESTING": True})
    return app.test_client().get("/healthz", headers={"Authorization": f"Bearer {secret}"}).json


def test_sigterm_drains_a_call_in_progress_then_exits_0(redis_server, redis_conn, tmp_path):
    node = SipNode(redis_server.url, tmp_path / "data").start()
    uac = RawUac(node.port)
    try:
        sipp = start_sipp(SCENARIOS / "uac_digit.xml", node.port, tmp_path, subst={"DIGIT": "1"})
        wait_for(lambda: CallStore(redis_conn).live(), 30, "the SIPp call to be live")
        node.signal(signal.SIGTERM)

        beat = wait_for(lambda: (heartbeats.read(redis_conn)["sip"] or {}).get("draining"), 20, "a draining beat")
        assert beat is True
        health = healthz(redis_server.url, tmp_path, node.port)
        assert health["sip"]["draining"] is True and health["sip"]["pid"] == node.proc.pid
        assert health["status"] == "draining"  # the state anyone may see: the listener answers OPTIONS with 503

        uac.request("OPTIONS")
        options = uac.recv(5, want=lambda m: m["status"] >= 200)
        assert options is not None and options["status"] == 503, options

        uac.invite()
        refused = uac.recv(5, want=lambda m: m["status"] >= 200)
        assert refused is not None and refused["status"] == 503, refused
        assert int(header(refused, "retry-after")) > 0

        result, counts = finish_sipp(sipp)
        assert counts == (1, 0), result.stdout[-3000:] + node.output()
        assert node.wait(30) == 0, node.output()
    finally:
        uac.close()
        node.stop()
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1 and calls[0].outcome == "support_links_sent" and calls[0].ended_at is not None
    assert "draining" in node.output()


def test_drain_stops_at_the_maximum_drain_time(redis_server, redis_conn, tmp_path):
    node = SipNode(redis_server.url, tmp_path / "data", drain_seconds=1).start()
    try:
        sipp = start_sipp(SCENARIOS / "uac_digit.xml", node.port, tmp_path, subst={"DIGIT": "1"})
        wait_for(lambda: CallStore(redis_conn).live(), 30, "the SIPp call to be live")
        node.signal(signal.SIGTERM)
        assert node.wait(30) == 0, node.output()
        finish_sipp(sipp)
    finally:
        node.stop()
    assert "1 call(s) still up" in node.output()


def test_ivr_run_drains_its_sip_child_on_sigterm(redis_server, redis_conn, tmp_path):
    port = free_udp_port()
    env = node_env(
        redis_server.url, tmp_path / "var", free_port_range(), IVR_SIP_PORT=str(port), IVR_ADMIN_PASSWORD="x" * 16
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivr", "run", "--without", "web", "--without", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=collect_output, args=(proc, lines), daemon=True).start()
    try:
        wait_for(lambda: any("SIP listening" in line for line in lines), 30, "ivr run's SIP child to listen")
        sipp = start_sipp(SCENARIOS / "uac_digit.xml", port, tmp_path, subst={"DIGIT": "1"})
        wait_for(lambda: CallStore(redis_conn).live(), 30, "the SIPp call to be live")
        proc.send_signal(signal.SIGTERM)
        result, counts = finish_sipp(sipp)
        assert counts == (1, 0), result.stdout[-3000:] + "".join(lines)[-3000:]
        assert proc.wait(60) == 0, "".join(lines)[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert any("drained: no call left" in line for line in lines), "".join(lines)[-3000:]
