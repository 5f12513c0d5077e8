"""SIPp over TCP (`-t t1`: one connection for all calls): the shipped flow's digit-1 path, with the IVR's
responses and its BYE on SIPp's connection; SIPp's UDP test of the same call lives in test_sipp_flow.py."""

from __future__ import annotations

import pytest

from .conftest import run_sipp, sipp_counts
from .test_sipp_flow import SUPPORT_PATH, job_kinds, only_call
from .test_sipp_flow import flow_ivr as flow_ivr  # a fixture

pytestmark = pytest.mark.slow  # real SIPp calls


def test_digit_1_over_tcp(flow_ivr, redis_conn, tmp_path):
    running = flow_ivr()
    result = run_sipp("uac_digit.xml", running.port, timeout=60, cwd=tmp_path, subst={"DIGIT": "1"}, extra=["-t", "t1"])
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == 0, state
    record = only_call(redis_conn)
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]
    tcp = next(s for s in running.server.transport.streams if s.protocol == "TCP")
    assert tcp.local_addr == running.server.address  # TCP shares the UDP port


def test_three_calls_on_one_tcp_connection(flow_ivr, redis_conn, tmp_path):
    running = flow_ivr()
    result = run_sipp(
        "uac_digit.xml",
        running.port,
        calls=3,
        concurrent=3,
        timeout=60,
        cwd=tmp_path,
        subst={"DIGIT": "1"},
        extra=["-t", "t1"],
    )
    assert sipp_counts(result) == (3, 0), result.stdout[-3000:] + result.stderr[-1500:]
    assert running.wait_idle()["live"] == 0
