"""`ivr sip --host --port --flow FILE` as a real process: answers a SIPp call and records it in Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ivr.store import heartbeats
from ivr.store.calls import CallStore

from .conftest import RawUac, free_port_range, free_udp_port, header, run_sipp, sipp_counts

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sip_command_answers_calls_with_the_given_flow(redis_server, redis_conn, tmp_path):
    port = free_udp_port()
    rtp_min, rtp_max = free_port_range()
    env = dict(
        os.environ,
        REDIS_URL=redis_server.url,
        IVR_DATA_DIR=str(tmp_path / "data"),
        IVR_SIP_RTP_PORT_MIN=str(rtp_min),
        IVR_SIP_RTP_PORT_MAX=str(rtp_max),
        # it can text (ivr/settings/capabilities.py): the shipped flow sends the links, not reading them out
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="t",
        TWILIO_FROM_NUMBER="+15550000000",
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
    )  # refused at once: never Twilio's own API
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ivr.channels.sip.cli import sip; sip()",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--flow",
            str(ROOT / "flows" / "skype-receptionist.yaml"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        line = ""
        while "SIP listening" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "SIP listening" in line, line
        result = run_sipp("uac_digit.xml", port, timeout=40, cwd=tmp_path, subst={"DIGIT": "1"})
        assert sipp_counts(result) == (1, 0), result.stdout[-2000:]
        beat = heartbeats.read(redis_conn)["sip"]  # what /healthz reports for SIP
        assert beat is not None and beat["pid"] == proc.pid and beat["address"] == f"127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output[-2000:]
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1 and calls[0].channel == "sip" and calls[0].outcome == "support_links_sent"


def test_one_datagram_with_a_bad_via_port_never_silences_ivr_sip(redis_server, tmp_path):
    """Issue 12 item 1: an OPTIONS whose Via names port 99999 (no rport) used to close the socket for good."""
    port = free_udp_port()
    rtp_min, rtp_max = free_port_range()
    env = dict(
        os.environ,
        REDIS_URL=redis_server.url,
        IVR_DATA_DIR=str(tmp_path / "data"),
        IVR_SIP_RTP_PORT_MIN=str(rtp_min),
        IVR_SIP_RTP_PORT_MAX=str(rtp_max),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivr", "sip", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    uac = RawUac(port)
    try:
        deadline = time.monotonic() + 15
        line = ""
        while "SIP listening" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "SIP listening" in line, line
        for bad_port in ("99999", "70000", "-1"):
            uac.send_raw(uac.last_sent_with_via(f"SIP/2.0/UDP 127.0.0.1:{bad_port};branch=z9hG4bK{bad_port}x"))
            reply = uac.recv(3, want=lambda m: m["status"] >= 200)
            assert reply is not None and reply["status"] == 400, reply
        uac.request("OPTIONS")
        reply = uac.recv(3, want=lambda m: "OPTIONS" in header(m, "cseq") and m["status"] == 200)
        assert reply is not None  # still listening
    finally:
        uac.close()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output[-2000:]
    assert "Fatal write error" not in output


def test_a_hung_redis_never_holds_up_a_sip_caller(tmp_path):
    """Issue 12 item 7: with Redis stopped by SIGSTOP, the caller hears the flow's greeting (from the spool path)
    promptly. The bound only proves there is no hang: far above IVR_REDIS_TIMEOUT, far below a caller's patience."""
    from tests.conftest import RedisServer

    redis_server = RedisServer(tmp_path / "redis")
    redis_server.start()
    port = free_udp_port()
    rtp_min, rtp_max = free_port_range()
    env = dict(
        os.environ,
        REDIS_URL=redis_server.url,
        IVR_DATA_DIR=str(tmp_path / "data"),
        IVR_SIP_RTP_PORT_MIN=str(rtp_min),
        IVR_SIP_RTP_PORT_MAX=str(rtp_max),
        IVR_SIP_DRAIN_SECONDS="1",  # the call is still up at SIGTERM: end it, don't wait for the flow to finish
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ivr",
            "sip",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--flow",
            str(ROOT / "flows" / "skype-receptionist.yaml"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    uac = RawUac(port)
    try:
        line = ""
        deadline = time.monotonic() + 15
        while "SIP listening" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
        assert "SIP listening" in line, line
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
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
        redis_server.kill()
    assert proc.returncode == 0, output[-2000:]
