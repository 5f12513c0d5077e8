"""Bridged transfers (B2BUA) on loopback: a raw UAC as the caller, a raw UAS (tests/sip/raw_owner.py) or SIPp as
the owner's phone. The relayed audio is checked by content in both directions with an independent decoder."""

from __future__ import annotations

import math
import socket
import struct
import time

import pytest

from ivr.channels.sip.bridge import STATS
from ivr.channels.sip.call import CallEnded
from ivr.engine.actions import Transfer
from ivr.system import handover
from tests.procs import wait_until

from ..audioop_shim import audioop
from .apps import Recorded
from .conftest import header
from .raw_owner import RawOwner, dtmf_press, rtp

CONTEXT = "path=main_menu>owner_hours>put_caller_through; digits=0; caller=+15550001111"


def bridge_app(record: Recorded, transfer: Transfer):
    async def app(call):
        record.calls.append(call)
        try:
            record.results.append(await call.bridge(transfer))
        except CallEnded as ended:
            record.results.append(f"ended:{ended}")

    return app


def tone(frequency: float, frames: int) -> bytes:
    return struct.pack(
        f"<{160 * frames}h", *(int(9000 * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(160 * frames))
    )


def similarity(a: bytes, b: bytes) -> float:
    n = min(len(a), len(b)) // 2
    x, y = struct.unpack(f"<{n}h", a[: 2 * n]), struct.unpack(f"<{n}h", b[: 2 * n])
    return sum(p * q for p, q in zip(x, y)) / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y) or 1)


def drain(sock: socket.socket) -> None:
    sock.setblocking(False)
    try:
        while True:
            sock.recv(2048)
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)


def caller_rtp(uac, count: int, timeout: float = 10.0) -> list[bytes]:
    got, deadline = [], time.monotonic() + timeout
    while len(got) < count and (remaining := deadline - time.monotonic()) > 0:
        uac.rtp.settimeout(remaining)
        try:
            got.append(uac.rtp.recv(2048))
        except TimeoutError:
            break
    return got


@pytest.fixture
def owner():
    phone = RawOwner()
    yield phone
    phone.close()


def ring_owner(start_server, uac_factory, owner, **fields):
    record = Recorded()
    transfer = Transfer(target=owner.uri, **{"timeout": 10, "context": CONTEXT, **fields})
    running = start_server(bridge_app(record, transfer))
    running.server.handover_link = handover.link_maker("https://ivr.example.test", "test-secret")
    caller = uac_factory(running.port)
    answer = caller.call()
    invite = owner.wait_invite()
    return record, running, caller, caller.media_port(answer), invite


def accept(owner, record, payload_type=8, dtmf=96, digit=1):
    before = STATS.bridged
    owner.answer(payload_type=payload_type, dtmf=dtmf)
    silence = {0: b"\xff" * 160, 8: b"\xd5" * 160}[payload_type]
    whisper = owner.rtp_packets(10, want=lambda p: p[12:] != silence)
    assert len(whisper) == 10, "the owner heard no whisper"
    for packet in dtmf_press(dtmf, digit, 500, 80000):
        owner.send_rtp(packet)
    return before


def test_owner_presses_1_and_audio_goes_both_ways_pcmu_caller_pcma_owner(start_server, uac_factory, owner):
    record, running, caller, ivr_port, invite = ring_owner(
        start_server, uac_factory, owner, whisper="A caller from plus one five five five. Press 1 to take the call."
    )
    context, _, link = header(invite, "x-ivr-context").partition("; link=")
    assert context == CONTEXT
    assert link.startswith("https://ivr.example.test/calls/shared/")
    token = link.rsplit("/", 1)[1]
    assert handover.call_of(token, "test-secret", 24) == caller.call_id  # signed for this call, read by the admin
    assert "PCMU" in invite["body"] and "PCMA" in invite["body"]
    ringback = caller_rtp(caller, 30)
    assert any(p[12:] != b"\xff" * 160 for p in ringback), "the caller heard no ringback"
    before = accept(owner, record)
    assert wait_until(lambda: STATS.bridged > before)
    drain(owner.rtp)
    drain(caller.rtp)
    for seq in range(25):  # the caller speaks (PCMU), the owner hears it (PCMA)
        caller.send_rtp(
            0, audioop.lin2ulaw(tone(440, 25)[320 * seq : 320 * (seq + 1)], 2), seq, 160 * seq, to_port=ivr_port
        )
    heard = owner.rtp_packets(25)
    assert {p[1] & 0x7F for p in heard} == {8}
    assert similarity(b"".join(audioop.alaw2lin(p[12:], 2) for p in heard), tone(440, 25)) > 0.99
    pcma = audioop.lin2alaw(tone(1100, 25), 2)
    for seq in range(25):  # and back
        owner.send_rtp(rtp(8, 1000 + seq, 4000 + 160 * seq, pcma[160 * seq : 160 * (seq + 1)]))
    back = caller_rtp(caller, 25)
    assert {p[1] & 0x7F for p in back} == {0}
    assert similarity(b"".join(audioop.ulaw2lin(p[12:], 2) for p in back), tone(1100, 25)) > 0.99
    for packet in dtmf_press(101, 7, 40, 9000):  # the caller's key press reaches the owner, re-typed to 96
        caller.send_rtp(
            packet[1] & 0x7F,
            packet[12:],
            struct.unpack("!H", packet[2:4])[0],
            9000,
            marker=packet[1] >> 7,
            to_port=ivr_port,
        )
    keys = owner.rtp_packets(6, want=lambda p: p[1] & 0x7F == 96)
    assert len(keys) == 6 and {p[12] for p in keys} == {7} and len({p[4:8] for p in keys}) == 1
    assert owner.bye()["status"] == 200  # the owner hangs up first: the caller's leg ends too
    assert caller.recv(5, want=lambda m: m["method"] == "BYE") is not None
    assert wait_until(lambda: record.results and record.results[0].ok)
    assert running.wait_idle()["ports"] == 0


def test_owner_presses_2_and_the_caller_goes_on_declined(start_server, uac_factory, owner):
    record, running, caller, _, _ = ring_owner(start_server, uac_factory, owner, whisper="Press 1 to take it.")
    accept(owner, record, payload_type=0, dtmf=101, digit=2)
    assert owner.recv(10, want=lambda m: m["method"] == "BYE") is not None  # we hang up the owner's leg
    assert wait_until(lambda: bool(record.results))
    assert (record.results[0].ok, record.results[0].reason) == (False, "declined")


@pytest.mark.parametrize("status,reason", [(486, "busy"), (603, "declined"), (480, "no-answer")])
def test_a_refusing_owner_is_the_failed_exit_with_the_reason(start_server, uac_factory, owner, status, reason):
    record, running, caller, _, invite = ring_owner(start_server, uac_factory, owner)
    owner.reply(invite, status, "Nope")
    assert owner.recv(5, want=lambda m: m["method"] == "ACK") is not None
    assert wait_until(lambda: bool(record.results))
    assert (record.results[0].ok, record.results[0].reason) == (False, reason)


def test_no_answer_within_the_ring_time_cancels_the_owner(start_server, uac_factory, owner):
    record, running, caller, _, invite = ring_owner(start_server, uac_factory, owner, timeout=1.5)
    owner.reply(invite, 180, "Ringing")
    cancel = owner.recv(10, want=lambda m: m["method"] == "CANCEL")
    assert cancel is not None
    assert wait_until(lambda: bool(record.results)) and record.results[0].reason == "no-answer"


def test_the_caller_hanging_up_while_it_rings_cancels_the_owner(start_server, uac_factory, owner):
    record, running, caller, _, invite = ring_owner(start_server, uac_factory, owner)
    owner.reply(invite, 180, "Ringing")
    caller.request("BYE", to_tag=caller.to_tag)
    assert owner.recv(10, want=lambda m: m["method"] == "CANCEL") is not None
    assert wait_until(lambda: bool(record.results)) and str(record.results[0]).startswith("ended:")


def test_the_caller_hanging_up_first_sends_the_owner_a_bye(start_server, uac_factory, owner):
    record, running, caller, _, _ = ring_owner(start_server, uac_factory, owner)
    before = STATS.bridged
    owner.answer(payload_type=0)
    assert wait_until(lambda: STATS.bridged > before)  # no whisper: bridged at the answer
    caller.request("BYE", to_tag=caller.to_tag)
    bye = owner.recv(10, want=lambda m: m["method"] == "BYE")
    assert bye is not None
    assert wait_until(lambda: running.state()["ports"] == 0)


def test_a_number_the_policy_refuses_is_never_dialled(start_server, uac_factory, owner):
    record = Recorded()
    running = start_server(bridge_app(record, Transfer(target="+44 909 879 0000", timeout=5)))
    caller = uac_factory(running.port)
    caller.call()
    assert wait_until(lambda: bool(record.results))
    assert (record.results[0].ok, record.results[0].reason) == (False, "refused")


def test_a_caller_reinvite_moves_the_bridged_audio_with_it(start_server, uac_factory, owner):
    record, running, caller, ivr_port, _ = ring_owner(start_server, uac_factory, owner)
    before = STATS.bridged
    owner.answer(payload_type=0)
    assert wait_until(lambda: STATS.bridged > before)
    moved, reply = caller.move_media()
    try:
        assert reply["status"] == 200 and caller.media_port(reply) == ivr_port
        pcmu = audioop.lin2ulaw(tone(1100, 5), 2)
        for seq in range(5):
            owner.send_rtp(rtp(0, 2000 + seq, 160 * seq, pcmu[160 * seq : 160 * (seq + 1)]))
        moved.settimeout(5)
        assert moved.recv(2048)[12:] == pcmu[:160]  # the owner's audio follows the caller to its new address
        caller.send_rtp(0, pcmu[:160], 1, 160, to_port=ivr_port, sock=moved)
        # and the caller's new address reaches the owner (whose socket may still hold the silence its stream sent
        # between the answer and the bridge: a loaded CI machine widens that gap)
        assert owner.rtp_packets(1, want=lambda data: data[12:] == pcmu[:160])
    finally:
        moved.close()
    caller.request("BYE", to_tag=caller.to_tag)
    assert owner.recv(10, want=lambda m: m["method"] == "BYE") is not None


def test_an_owner_reinvite_keeps_the_bridge_and_moves_the_relayed_audio(start_server, uac_factory, owner):
    record, running, caller, ivr_port, invite = ring_owner(start_server, uac_factory, owner)
    before = STATS.bridged
    owner.answer(payload_type=0)
    assert wait_until(lambda: STATS.bridged > before)
    leg_port = owner.ivr_rtp[1]
    moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    moved.bind(("127.0.0.1", 0))
    try:
        owner.rtp_port = moved.getsockname()[1]  # a session refresh that moves the owner's media
        owner.in_dialog("INVITE", 2, owner.sdp(0))
        reply = owner.recv(3, want=lambda m: m["status"] and "INVITE" in header(m, "cseq"))
        assert reply is not None and reply["status"] == 200, reply
        assert f"m=audio {leg_port} " in reply["body"]  # the same leg, not a new call
        owner.in_dialog("ACK", 2)
        pcmu = audioop.lin2ulaw(tone(700, 5), 2)
        for seq in range(5):
            caller.send_rtp(0, pcmu[160 * seq : 160 * (seq + 1)], 50 + seq, 160 * seq, to_port=ivr_port)
        moved.settimeout(5)
        assert moved.recv(2048)[12:] == pcmu[:160]  # the caller's audio follows the owner to its new address
    finally:
        moved.close()
    assert running.state()["live"] == 1  # still one call: the re-INVITE started nothing new
    caller.request("BYE", to_tag=caller.to_tag)
    assert owner.recv(10, want=lambda m: m["method"] == "BYE") is not None


def test_a_recorded_bridge_mixes_both_legs_into_one_wav(start_server, uac_factory, owner):
    import wave

    from ivr.system import recordings

    from .test_bridge_baresip import power_at

    record, running, caller, ivr_port, _ = ring_owner(start_server, uac_factory, owner, record=True)
    before = STATS.bridged
    owner.answer(payload_type=8)
    assert wait_until(lambda: STATS.bridged > before)
    caller_voice, owner_voice = audioop.lin2ulaw(tone(440, 50), 2), audioop.lin2alaw(tone(1100, 50), 2)
    for seq in range(50):  # both talk at once
        caller.send_rtp(0, caller_voice[160 * seq : 160 * (seq + 1)], seq, 160 * seq, to_port=ivr_port)
        owner.send_rtp(rtp(8, seq, 160 * seq, owner_voice[160 * seq : 160 * (seq + 1)]))
    assert len(owner.rtp_packets(50)) == 50 and len(caller_rtp(caller, 50)) == 50
    assert owner.bye()["status"] == 200
    assert wait_until(lambda: bool(record.results))
    reference = record.results[0].recording
    folder = recordings.folder_in(running.server.config.data_dir)
    found = recordings.resolve(reference, folder, caller.call_id)
    assert found is not None and found.path is not None
    with wave.open(str(found.path)) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (8000, 1)
        mixed = wav.readframes(wav.getnframes())
    assert 50 * 160 <= len(mixed) // 2 <= 100 * 160
    assert power_at(mixed, 440) > 0.2 * power_at(mixed, 1100) > 0  # both voices, in one file
    assert power_at(mixed, 440) > 100 * power_at(mixed, 2000)


@pytest.mark.parametrize(
    "scenario,expected", [("uas_busy.xml", (False, "busy")), ("uas_answer.xml", (True, "completed"))]
)
def test_sipp_as_the_owner(start_server, uac_factory, tmp_path, scenario, expected):
    """SIPp's own UAS as the owner: busy -> the failed exit's reason; answered -> bridged until the caller's BYE,
    which reaches SIPp as our BYE (SIPp counts the call successful only then)."""
    from .test_callback_dial import start_callee

    callee, port = start_callee(scenario, tmp_path)
    try:
        record = Recorded()
        before = STATS.bridged
        running = start_server(bridge_app(record, Transfer(target=f"sip:owner@127.0.0.1:{port}", timeout=10)))
        caller = uac_factory(running.port)
        caller.call()
        if expected[0]:
            assert wait_until(lambda: STATS.bridged > before, 10)
            caller.request("BYE", to_tag=caller.to_tag)
        assert wait_until(lambda: bool(record.results), 10)
        assert (record.results[0].ok, record.results[0].reason) == expected
        out, _ = callee.communicate(timeout=30)
        assert callee.returncode == 0, out[-2000:]
    finally:
        if callee.poll() is None:
            callee.kill()
