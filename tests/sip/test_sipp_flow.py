"""SIPp drives every branch of the shipped flow through the SIP channel, call_session and a real Redis.

Each test checks the call record (channel "sip", caller from the From user part, path, outcome) and
the follow-up jobs the call queued.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rq import Queue

from ivr import jobs
from ivr.channels.sip.media import g711
from ivr.channels.sip.media.dtmf import tone_pcm
from ivr.channels.sip.session import flow_app
from ivr.store.calls import CallStore
from tests.sessions import SUPPORT_PATH, flow_session

from .conftest import run_sipp, sipp_counts
from .pcap import write_rtp_pcap

pytestmark = pytest.mark.slow  # SIPp calls in real time, one waits out every retry (~130 s)

FLOWS = Path(__file__).resolve().parents[2] / "flows"
CALLER = "+15557770001"


@pytest.fixture
def flow_ivr(start_server, redis_conn, redis_server, tmp_path):
    """start(**config) -> the SIP channel answering with the shipped flow, recording into the test Redis."""

    def start(**config):
        session = flow_session(redis_server.url, tmp_path / "spool.sqlite3")
        return start_server(flow_app(session), audio_root=FLOWS, **config)

    return start


def only_call(redis_conn):
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1, calls
    return calls[0]


def job_kinds(redis_conn, call_id: str) -> list[str]:
    timeline = CallStore(redis_conn).timeline(call_id)
    return [e["data"]["kind"] for e in timeline if e["kind"] == "action" and e["data"]["type"] == "job"]


def run_flow_call(flow_ivr, redis_conn, tmp_path, scenario, timeout=60, server=None, **subst):
    running = flow_ivr(**(server or {}))
    result = run_sipp(scenario, running.port, timeout=timeout, cwd=tmp_path, subst=subst or None)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == 0, state
    record = only_call(redis_conn)
    assert (record.channel, record.caller, record.flow_id) == ("sip", CALLER, "skype-receptionist")
    assert record.ended_at is not None and CallStore(redis_conn).live() == []
    return record


def test_digit_1_by_rfc2833_sends_the_support_links(flow_ivr, redis_conn, tmp_path):
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_digit.xml", DIGIT="1")
    assert record.path == SUPPORT_PATH and record.outcome == "support_links_sent"
    assert job_kinds(redis_conn, record.id) == ["sms"]
    assert len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 1


def test_digit_1_by_sip_info(flow_ivr, redis_conn, tmp_path):
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_info.xml")
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]


def test_digit_2_in_band_sends_the_chat_link(flow_ivr, redis_conn, tmp_path):
    tone = tone_pcm("2", 0.12) + bytes(2 * 8000 // 5)
    frames = [g711.encode(tone[i : i + 320], g711.PCMU) for i in range(0, len(tone) - 319, 320)]
    pcap = write_rtp_pcap(tmp_path / "inband_2.pcap", frames, g711.PCMU)
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_inband.xml", PCAP=pcap)
    assert record.path[-2:] == ["send_chat_link", "goodbye"] and record.outcome == "chat_link_sent"
    assert job_kinds(redis_conn, record.id) == ["chat"]


def test_callback_number_entry(flow_ivr, redis_conn, tmp_path):
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_callback.xml", timeout=90)
    assert record.path[2:] == [
        "main_menu",
        "callback_number_choice",
        "enter_callback_number",
        "request_callback",
        "goodbye",
    ]
    assert job_kinds(redis_conn, record.id) == ["callback"]
    timeline = CallStore(redis_conn).timeline(record.id)
    job = next(e["data"] for e in timeline if e["kind"] == "action" and e["data"]["type"] == "job")
    assert "15551234567" in str(job["payload"])


def test_silence_until_the_retries_run_out(flow_ivr, redis_conn, tmp_path):
    # SIPp's caller audio lasts 7 s; keep the no-RTP teardown out of the way of this long call
    record = run_flow_call(
        flow_ivr, redis_conn, tmp_path, "uac_silence.xml", timeout=150, server={"no_rtp_timeout": 150}
    )
    assert record.path[-4:] == ["main_menu", "links_anyway_route", "send_links_anyway", "goodbye"]
    assert record.outcome == "support_links_sent" and job_kinds(redis_conn, record.id) == ["sms"]


def test_hang_up_mid_prompt_finishes_the_record(flow_ivr, redis_conn, tmp_path):
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_hangup.xml", timeout=20)
    assert record.path[:2] == ["screen_caller", "not_skype"] and job_kinds(redis_conn, record.id) == []
    assert len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 0


def test_reinvite_mid_call(flow_ivr, redis_conn, tmp_path):
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_reinvite.xml")
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]


def test_retransmitted_invite_makes_one_call(flow_ivr, redis_conn, tmp_path):
    record = run_flow_call(flow_ivr, redis_conn, tmp_path, "uac_retrans.xml", server={"answer_delay": 0.5}, DIGIT="1")
    assert record.path == SUPPORT_PATH and len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 1


def test_cancel_before_answer_leaves_no_call(flow_ivr, redis_conn):
    running = flow_ivr(answer_delay=2)
    result = run_sipp("uac_cancel.xml", running.port, timeout=20)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:]
    assert running.wait_idle()["live"] == 0
    assert CallStore(redis_conn).recent() == [] and len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 0


def test_options_is_answered_without_a_call(flow_ivr, redis_conn):
    running = flow_ivr()
    result = run_sipp("uac_options.xml", running.port, timeout=10)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:]
    assert CallStore(redis_conn).recent() == []


def test_an_untrusted_caller_on_the_public_route_is_unknown_and_gets_no_sms_to_its_claimed_number(
    flow_ivr, redis_conn, tmp_path
):
    # The attack run's SMS pumping: From claims a number, then DTMF 1 asks for the support links by SMS
    running = flow_ivr(trusted=("127.0.0.1",), public_route="skype-receptionist")
    result = run_sipp(
        "uac_digit.xml", running.port, timeout=60, cwd=tmp_path, subst={"DIGIT": "1"}, local_ip="127.0.0.2"
    )
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    assert running.wait_idle()["live"] == 0
    record = only_call(redis_conn)
    assert record.caller == "unknown" and record.path[0] == "screen_caller" and "put_caller_through" not in record.path
    timeline = CallStore(redis_conn).timeline(record.id)
    assert "15557770001" not in str(timeline)  # the claimed number is never a destination, nor even recorded
