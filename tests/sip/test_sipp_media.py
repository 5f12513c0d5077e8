"""SIPp against the SIP channel with a one-question IVR: each way a digit can arrive, and each transaction shape."""

from __future__ import annotations

import pytest

from ivr.channels.sip.media import g711
from ivr.channels.sip.media.dtmf import tone_pcm

from .apps import Recorded, menu_app, never
from .conftest import run_sipp, sipp_counts
from .pcap import write_rtp_pcap

pytestmark = pytest.mark.slow  # SIPp calls with real-time media


def _call(start_server, tmp_path, scenario: str, server: dict | None = None, **subst):
    record = Recorded()
    running = start_server(menu_app(record, timeout=6), **(server or {}))
    result = run_sipp(scenario, running.port, timeout=40, cwd=tmp_path, subst=subst or None)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-2000:]
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == 0, state
    return record, state


def test_rfc2833_digit_from_sipp(start_server, tmp_path):
    record, state = _call(start_server, tmp_path, "uac_digit.xml", DIGIT="pound")
    assert record.digits == ["#"] and state["started"] == 1


def test_info_digit_from_sipp(start_server, tmp_path):
    record, _ = _call(start_server, tmp_path, "uac_info.xml")
    assert record.digits == ["1"]


def test_inband_digit_from_sipp(start_server, tmp_path):
    tone = tone_pcm("7", 0.12) + bytes(2 * 8000 // 5)
    frames = [g711.encode(tone[i : i + 320], g711.PCMU) for i in range(0, len(tone) - 319, 320)]
    pcap = write_rtp_pcap(tmp_path / "inband_7.pcap", frames, g711.PCMU)
    record, _ = _call(start_server, tmp_path, "uac_inband.xml", PCAP=pcap)
    assert record.digits == ["7"]


def test_reinvite_from_sipp_keeps_the_call_and_its_dtmf(start_server, tmp_path):
    record, _ = _call(start_server, tmp_path, "uac_reinvite.xml")
    assert record.digits == ["1"]


def test_retransmitted_invite_from_sipp_is_one_call(start_server, tmp_path):
    record, state = _call(start_server, tmp_path, "uac_retrans.xml", server={"answer_delay": 0.5}, DIGIT="4")
    assert record.digits == ["4"] and state["started"] == 1 and len(record.calls) == 1


def test_hangup_mid_prompt_from_sipp(start_server, tmp_path):
    record = Recorded()
    running = start_server(menu_app(record))
    result = run_sipp("uac_hangup.xml", running.port, timeout=20)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:]
    state = running.wait_idle()
    assert state["live"] == state["ports"] == state["tasks"] == 0 and record.digits == []


def test_cancel_before_answer_from_sipp(start_server):
    record = Recorded()
    running = start_server(never, answer_delay=2)
    result = run_sipp("uac_cancel.xml", running.port, timeout=20)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:]
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == 0 and record.calls == []


def test_options_from_sipp(start_server):
    running = start_server(never)
    result = run_sipp("uac_options.xml", running.port, timeout=10)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:]


def test_fifty_concurrent_sipp_calls_all_succeed_and_leave_nothing_behind(start_server, tmp_path):
    """A bounded load test: correctness only (every call answered, every digit heard, all released)."""
    record = Recorded()
    running = start_server(menu_app(record, timeout=6))
    result = run_sipp(
        "uac_digit.xml", running.port, calls=50, concurrent=50, rate=25, timeout=60, cwd=tmp_path, subst={"DIGIT": "1"}
    )
    assert sipp_counts(result) == (50, 0), result.stdout[-3000:]
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["clock"] == state["tasks"] == 0, state
    assert record.digits == ["1"] * 50 and state["digits"] == 50
