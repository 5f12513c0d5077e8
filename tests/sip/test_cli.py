"""`ivr sip --host --port --flow FILE` as a real process: answers a SIPp call and records it in Redis."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from ivr.store import heartbeats
from ivr.store.calls import CallStore
from tests.deploy.nodes import SipNode

from .conftest import RawUac, header, run_sipp, sipp_counts


@pytest.mark.slow
def test_sip_command_answers_calls_with_the_given_flow(redis_server, redis_conn, tmp_path):
    sip_command = [sys.executable, "-c", "from ivr.channels.sip.cli import sip; sip()"]
    node = SipNode(redis_server.url, tmp_path / "data", argv=sip_command).start()
    try:
        result = run_sipp("uac_digit.xml", node.port, timeout=40, cwd=tmp_path, subst={"DIGIT": "1"})
        assert sipp_counts(result) == (1, 0), result.stdout[-2000:]
        beat = heartbeats.read(redis_conn)["sip"]  # what /healthz reports for SIP
        assert beat is not None and beat["pid"] == node.proc.pid and beat["address"] == f"127.0.0.1:{node.port}"
    finally:
        node.signal(signal.SIGTERM)
        code = node.wait(20)
    assert code == 0, node.output(2000)
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1 and calls[0].channel == "sip" and calls[0].outcome == "support_links_sent"


def test_one_datagram_with_a_bad_via_port_never_silences_ivr_sip(redis_server, tmp_path):
    """Issue 12 item 1: an OPTIONS whose Via names port 99999 (no rport) used to close the socket for good."""
    node = SipNode(redis_server.url, tmp_path / "data", flow=None).start()
    uac = RawUac(node.port)
    try:
        for bad_port in ("99999", "70000", "-1"):
            uac.send_raw(uac.last_sent_with_via(f"SIP/2.0/UDP 127.0.0.1:{bad_port};branch=z9hG4bK{bad_port}x"))
            reply = uac.recv(3, want=lambda m: m["status"] >= 200)
            assert reply is not None and reply["status"] == 400, reply
        uac.request("OPTIONS")
        reply = uac.recv(3, want=lambda m: "OPTIONS" in header(m, "cseq") and m["status"] == 200)
        assert reply is not None  # still listening
    finally:
        uac.close()
        node.signal(signal.SIGTERM)
        code = node.wait(20)
    assert code == 0, node.output(2000)
    assert "Fatal write error" not in node.output(None)


def test_a_hung_redis_never_holds_up_a_sip_caller(tmp_path):
    """Issue 12 item 7: with Redis stopped by SIGSTOP, the caller hears the flow's greeting (from the spool path)
    promptly. The bound only proves there is no hang: far above IVR_REDIS_TIMEOUT, far below a caller's patience."""
    from tests.conftest import RedisServer

    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    # drain_seconds=1: at SIGTERM the call in progress (its caller sends no BYE) is hung up, not waited for
    node = SipNode(redis_server.url, tmp_path / "data", drain_seconds=1).start()
    uac = RawUac(node.port)
    try:
        os.kill(redis_server.proc.pid, signal.SIGSTOP)
        try:
            uac.call()
            answered = time.monotonic()
            uac.rtp.settimeout(5)
            while True:  # silence (0xFF in PCMU) flows at once; the greeting is the first packet with sound
                packet = uac.rtp.recv(2048)
                if packet[12:].strip(b"\xff\x7f"):
                    break
                assert time.monotonic() - answered < 5.0, "no greeting within 5 s"
            assert time.monotonic() - answered < 5.0
        finally:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
    finally:
        uac.close()
        node.signal(signal.SIGTERM)
        code = node.wait(30)
        redis_server.kill()
    assert code == 0, node.output(2000)
