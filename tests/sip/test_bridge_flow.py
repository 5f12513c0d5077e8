"""A flow's bridged transfer end to end on SIP: engine + call session + real Redis + the SIP channel, a raw UAC
as the caller pressing 0 and a raw UAS as the owner. The owner declining (2) or not answering takes the
transfer's `failed` exit with the reason, and the caller is offered voicemail."""

from __future__ import annotations

import pytest

from ivr.channels.sip.session import flow_app
from ivr.store.calls import CallStore
from tests.procs import wait_until
from tests.sessions import flow_session

from .raw_owner import RawOwner, dtmf_press
from .test_bridge import caller_rtp

pytestmark = pytest.mark.slow

FLOW = """
id: bridged
start: menu
steps:
  menu:
    type: menu
    prompt: "Press 0 for the owner."
    choices:
      - {digit: "0", goto: put_through}
    exhausted: bye
  put_through:
    type: transfer
    to: "OWNER_URI"
    timeout: TIMEOUT
    whisper: "A caller from {{caller.number}}. Press 1 to take the call, 2 to send them to voicemail."
    ringback: music
    failed: voicemail
  voicemail:
    type: voicemail
    prompt: "Nobody could take your call ({{transfer.reason}}). Leave a message."
    next: bye
  bye: {type: hangup}
"""


@pytest.fixture
def bridged_ivr(start_server, redis_server, tmp_path):
    def start(owner: RawOwner, timeout: float = 10):
        flows = tmp_path / "flows"
        flows.mkdir(exist_ok=True)
        (flows / "bridged.yaml").write_text(FLOW.replace("OWNER_URI", owner.uri).replace("TIMEOUT", str(timeout)))
        session = flow_session(redis_server.url, tmp_path / "spool.sqlite3", flows, "bridged")
        return start_server(flow_app(session), audio_root=flows)

    return start


def press_0(running, uac_factory):
    caller = uac_factory(running.port)
    answer = caller.call()
    port = caller.media_port(answer)
    caller_rtp(caller, 5)  # the greeting started
    for packet in dtmf_press(101, 0, 10, 3200):
        caller.send_rtp(101, packet[12:], 10, 3200, marker=packet[1] >> 7, to_port=port)
    return caller


def transfer_reason(redis_conn, call_id: str) -> str | None:
    for entry in CallStore(redis_conn).timeline(call_id):
        data = entry.get("data") or {}
        if data.get("event") == "transfer_result":
            return data["data"]["reason"]
    return None


@pytest.mark.parametrize("owner_does", ["presses 2", "does not answer"])
def test_the_owner_not_taking_the_call_sends_the_caller_to_voicemail(bridged_ivr, uac_factory, redis_conn, owner_does):
    owner = RawOwner()
    try:
        running = bridged_ivr(owner, timeout=10 if owner_does == "presses 2" else 1.5)
        caller = press_0(running, uac_factory)
        invite = owner.wait_invite(10)
        if owner_does == "presses 2":
            owner.answer(payload_type=0)
            assert len(owner.rtp_packets(10, want=lambda p: p[12:] != b"\xff" * 160)) == 10  # the whisper
            for packet in dtmf_press(101, 2, 300, 64000):
                owner.send_rtp(packet)
            assert owner.recv(10, want=lambda m: m["method"] == "BYE") is not None
        else:
            owner.reply(invite, 180, "Ringing")
            assert owner.recv(10, want=lambda m: m["method"] == "CANCEL") is not None
        expected = "declined" if owner_does == "presses 2" else "no-answer"
        assert wait_until(lambda: transfer_reason(redis_conn, caller.call_id) == expected, 15)
        assert wait_until(lambda: "voicemail" in (CallStore(redis_conn).get(caller.call_id).path or []), 10)
        caller.request("BYE", to_tag=caller.to_tag)
        assert running.wait_idle()["ports"] == 0
    finally:
        owner.close()
