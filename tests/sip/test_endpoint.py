"""The SIP endpoint against hand-written SIP over UDP: transactions, the aiosipua defect fixes, timeouts."""

from __future__ import annotations

import logging

import pytest

from .apps import Recorded, hold_app, menu_app, never
from .conftest import header


def test_start_logs_no_traceback(start_server, uac_factory, caplog):
    """Defect 5: aiosipua's UDP protocol asserts on asyncio's transport class at every start."""
    caplog.set_level(logging.WARNING)
    running = start_server(never)
    uac = uac_factory(running.port)
    uac.request("OPTIONS")
    assert uac.recv(3, want=lambda m: m["status"] == 200) is not None  # listening: the start is over
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_retransmitted_invite_never_duplicates_the_call(start_server, uac_factory):
    """Defect 1: the same INVITE (same branch) three more times is one call and one To tag."""
    record = Recorded()
    running = start_server(hold_app(record, seconds=5))
    uac = uac_factory(running.port)
    uac.invite()
    first = uac.last_sent
    uac.send_raw(first)  # while the first copy is still being handled
    answered = uac.recv(3, want=lambda m: m["status"] == 200)
    assert answered is not None
    uac.send_raw(first)  # after the 200, as a UAC that missed it does
    uac.send_raw(first)
    finals = [header(answered, "to")]
    while len(finals) < 3 and (msg := uac.recv(3, want=lambda m: m["status"] == 200)) is not None:
        finals.append(header(msg, "to"))
    assert len(finals) == 3 and len(set(finals)) == 1  # 200 resent, always the same dialog
    assert running.state()["started"] == 1 and len(record.calls) == 1


@pytest.mark.slow
def test_info_dtmf_relay_is_a_digit(start_server, uac_factory):
    """Defect 2: INFO application/dtmf-relay gets 200 and reaches the application as a digit."""
    record = Recorded()
    running = start_server(menu_app(record))
    uac = uac_factory(running.port)
    uac.call()
    uac.request("INFO", to_tag=uac.to_tag, body="Signal=5\r\nDuration=160\r\n", content_type="application/dtmf-relay")
    reply = uac.recv(3, want=lambda m: "INFO" in header(m, "cseq"))
    assert reply["status"] == 200
    bye = uac.recv(15, want=lambda m: m["method"] == "BYE")
    assert bye is not None
    uac.answer_200(bye)
    assert record.digits == ["5"]


def test_reinvite_is_answered_and_media_follows(start_server, uac_factory):
    """Defect 3: a re-INVITE gets 200 with the same media port; RTP moves to the new address."""
    running = start_server(hold_app(Recorded(), seconds=10))
    uac = uac_factory(running.port)
    ok = uac.call()
    media_port = uac.media_port(ok)
    moved, reply = uac.move_media()
    try:
        assert reply["status"] == 200 and uac.media_port(reply) == media_port
        moved.settimeout(2)
        packet, _ = moved.recvfrom(2048)
        assert len(packet) == 172 and packet[1] & 0x7F == 0
        assert running.state()["live"] == 1
    finally:
        moved.close()


@pytest.mark.slow
def test_our_bye_is_retransmitted_and_the_call_leaves_every_table(start_server, uac_factory):
    """Defect 4: BYE resent until answered; the call is out of the UAS table as soon as we hang up."""
    running = start_server(menu_app(Recorded(), timeout=0.5))
    uac = uac_factory(running.port)
    uac.call()
    bye = uac.recv(15, want=lambda m: m["method"] == "BYE")
    again = uac.recv(3, want=lambda m: m["method"] == "BYE")
    assert again is not None and header(again, "via") == header(bye, "via")  # same transaction
    assert running.state()["uas_calls"] == 0
    uac.answer_200(again)
    state = running.wait_idle()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["clock"] == state["tasks"] == 0


def test_caller_bye_is_answered_and_cleans_up(start_server, uac_factory):
    running = start_server(hold_app(Recorded(), seconds=30))
    uac = uac_factory(running.port)
    uac.call()
    uac.request("BYE", to_tag=uac.to_tag)
    assert uac.recv(3, want=lambda m: "BYE" in header(m, "cseq"))["status"] == 200
    state = running.wait_idle()
    assert state["live"] == state["ports"] == state["clock"] == 0 and state["finished"] == 1


def test_cancel_before_answer_gets_200_and_487(start_server, uac_factory):
    record = Recorded()
    running = start_server(hold_app(record), answer_delay=3)
    uac = uac_factory(running.port)
    branch = uac.invite()
    assert uac.recv(2, want=lambda m: m["status"] == 180) is not None
    uac.request("CANCEL", branch=branch, cseq=uac.cseq)
    statuses = {}
    for _ in range(2):
        msg = uac.recv(3, want=lambda m: m["status"] >= 200)
        statuses[header(msg, "cseq").split()[1]] = msg["status"]
    assert statuses == {"CANCEL": 200, "INVITE": 487}
    uac.request("ACK", branch=branch, cseq=uac.cseq)
    state = running.wait_idle()
    assert state["live"] == state["ports"] == 0 and record.calls == []


def test_options_is_answered(start_server, uac_factory):
    running = start_server(never)
    uac = uac_factory(running.port)
    uac.request("OPTIONS")
    reply = uac.recv(3)
    assert reply["status"] == 200 and "INVITE" in header(reply, "allow") and "INFO" in header(reply, "allow")


def test_overload_gets_503_with_retry_after(start_server, uac_factory):
    running = start_server(hold_app(Recorded(), seconds=10), max_calls=2)
    first, second, third = (uac_factory(running.port) for _ in range(3))
    first.call()
    second.call()
    third.invite()
    reply = third.recv(3, want=lambda m: m["status"] >= 200)
    assert reply["status"] == 503 and header(reply, "retry-after").isdigit()
    assert running.state()["live"] == 2


def test_no_ack_tears_the_call_down(start_server, uac_factory):
    record = Recorded()
    running = start_server(hold_app(record, seconds=30), no_ack_timeout=1.0)
    uac = uac_factory(running.port)
    uac.invite()
    assert uac.recv(3, want=lambda m: m["status"] == 200) is not None
    state = running.wait_idle(10)  # the missing ACK ends the call after no_ack_timeout
    assert state["live"] == state["uas_calls"] == state["ports"] == 0
    assert [call.ended.result() for call in record.calls] == ["no-ack"]  # ended for that reason, not another


def test_no_rtp_tears_the_call_down_with_bye(start_server, uac_factory):
    running = start_server(hold_app(Recorded(), seconds=30), no_rtp_timeout=1.0)
    uac = uac_factory(running.port)
    uac.call()
    bye = uac.recv(6, want=lambda m: m["method"] == "BYE")
    assert bye is not None
    uac.answer_200(bye)
    state = running.wait_idle()
    assert state["live"] == state["ports"] == 0


def test_listening_on_all_interfaces_never_advertises_0000(start_server, uac_factory):
    running = start_server(hold_app(Recorded(), seconds=5), host="0.0.0.0")
    uac = uac_factory(running.port)
    ok = uac.call()
    assert "0.0.0.0" not in ok["body"] and "0.0.0.0" not in header(ok, "contact")
    assert "c=IN IP4 " in ok["body"]
