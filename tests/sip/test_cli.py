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

from .conftest import free_port_range, free_udp_port, run_sipp, sipp_counts

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sip_command_answers_calls_with_the_given_flow(redis_server, redis_conn, tmp_path):
    port = free_udp_port()
    rtp_min, rtp_max = free_port_range()
    env = dict(os.environ, REDIS_URL=redis_server.url, IVR_DATA_DIR=str(tmp_path / "data"),
               IVR_SIP_RTP_PORT_MIN=str(rtp_min), IVR_SIP_RTP_PORT_MAX=str(rtp_max))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from ivr.channels.sip.cli import sip; sip()", "--host", "127.0.0.1",
         "--port", str(port), "--flow", str(ROOT / "flows" / "skype-receptionist.yaml")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
