"""baresip, scripted through ctrl_tcp, dials the shipped flow, presses 1, and the SMS job appears."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from rq import Queue

from ivr import jobs
from ivr.store.calls import CallStore

from .baresip_peer import baresip, write_wav
from .test_sipp_flow import SUPPORT_PATH, flow_ivr, job_kinds  # noqa: F401  (flow_ivr is a fixture)

pytestmark = pytest.mark.slow  # a real baresip softphone


def caller_wav(path: Path) -> Path:
    """Ten seconds of quiet 8 kHz mono audio for baresip's aufile source."""
    return write_wav(path, struct.pack("<80000h", *([0, 40, 0, -40] * 20000)))


def test_baresip_dials_in_and_presses_a_digit(flow_ivr, redis_conn, tmp_path):
    running = flow_ivr()
    with baresip(tmp_path, wav=caller_wav(tmp_path / "quiet.wav")) as (ctrl, output):
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{running.port}")
        assert ctrl.wait_for("CALL_ESTABLISHED", 10) is not None
        time.sleep(1.0)
        ctrl.send("sndcode", "1")
        assert ctrl.wait_for("CALL_CLOSED", 30) is not None
    assert running.wait_idle()["live"] == 0
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1, output()[-2000:]
    record = calls[0]
    assert (record.channel, record.caller) == ("sip", "tester")
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]
    assert len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 1
