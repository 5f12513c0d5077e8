"""Floods against a real listener: one source floods, another calls with SIPp and is served.

127.0.0.3 plays the trusted trunk, 127.0.0.2 the attacker (loopback only, bounded sizes).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from pathlib import Path

from ivr.channels.sip.datagram_guard import RECEIVE_BUFFER

from .apps import Recorded, hold_app
from .conftest import run_sipp, sipp_counts
from .test_edge import edge_server  # noqa: F401  (the fixture)

ATTACKER, TRUNK = "127.0.0.2", "127.0.0.3"


def options(port: int, local_port: int, n: int) -> bytes:
    return (
        f"OPTIONS sip:ivr@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {ATTACKER}:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
        f"From: <sip:flood@{ATTACKER}>;tag=f{n}\r\nTo: <sip:ivr@127.0.0.1>\r\n"
        f"Call-ID: flood-{n}@{ATTACKER}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def flood(port: int, count: int, build, per_ms: int = 0) -> threading.Thread:
    """Send `count` requests from ATTACKER; `per_ms` > 0 paces them (that many a millisecond) so the flood
    overlaps the SIPp calls instead of overflowing the socket buffer in one burst."""

    def run() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((ATTACKER, 0))
            local_port = sock.getsockname()[1]
            for n in range(count):
                sock.sendto(build(port, local_port, n), ("127.0.0.1", port))
                if per_ms and n % per_ms == 0:
                    time.sleep(0.001)  # the generator's rate, not a wait in the test

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_2000_options_from_one_source_do_not_stop_calls_from_another(edge_server, tmp_path):  # noqa: F811
    running = edge_server(hold_app(Recorded(), seconds=3), trusted=(TRUNK,))
    attacker = flood(running.port, 2000, options, per_ms=1)
    result = run_sipp(
        "uac_hangup.xml", running.port, calls=5, concurrent=5, rate=10, timeout=40, cwd=tmp_path, local_ip=TRUNK
    )
    attacker.join(30)
    assert sipp_counts(result) == (5, 0), result.stdout[-2000:]
    pike = running.server.gate.pike
    assert pike.blocked(ATTACKER) and not pike.blocked(TRUNK)
    assert pike.dropped > 0 and pike.blocks == 1
    assert pike.dropped_unparsed > 0  # once blocked, the flood is dropped before it is parsed
    granted = min(RECEIVE_BUFFER, int(Path("/proc/sys/net/core/rmem_max").read_text()))
    assert running.server.transport.receive_buffer >= granted  # Linux reports twice what it keeps


def invite(port: int, local_port: int, n: int) -> bytes:
    sdp = (
        f"v=0\r\no=x 1 1 IN IP4 {ATTACKER}\r\ns=-\r\nc=IN IP4 192.0.2.99\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )  # SDP naming a third party: reflection
    return (
        f"INVITE sip:ivr@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {ATTACKER}:{local_port};branch=z9hG4bK{uuid.uuid4().hex[:12]};rport\r\n"
        f"From: <sip:+882345678901@{ATTACKER}>;tag=s{n}\r\nTo: <sip:ivr@127.0.0.1>\r\n"
        f"Call-ID: storm-{n}@{ATTACKER}\r\nCSeq: 1 INVITE\r\nContact: <sip:x@{ATTACKER}:{local_port}>\r\n"
        f"Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
    ).encode()


def test_an_invite_storm_that_never_acks_neither_starves_callers_nor_leaks(edge_server, tmp_path):  # noqa: F811
    # The public route lets the attacker's INVITEs in (the hardest case); slots are few
    running = edge_server(hold_app(Recorded(), seconds=3), trusted=(TRUNK,), public_route="public", max_calls=20)
    flood(running.port, 200, invite).join(30)
    result = run_sipp(
        "uac_hangup.xml", running.port, calls=3, concurrent=3, rate=10, timeout=40, cwd=tmp_path, local_ip=TRUNK
    )
    assert sipp_counts(result) == (3, 0), result.stdout[-2000:]
    assert running.server.calls_started <= 3 + running.server.config.pike_dialogs  # the rest were dropped
    state = running.wait_idle(timeout=20)  # no-ACK (4 s by default) ends the storm's calls
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == state["clock"] == 0, state


def test_a_never_acked_dialog_sends_at_most_a_second_of_rtp_to_the_address_its_sdp_names(
    edge_server,  # noqa: F811
    uac_factory,
):
    # The attack run's reflection: a 533-byte INVITE naming a third party made us stream there for 40 s
    running = edge_server(hold_app(Recorded(), seconds=30))
    uac = uac_factory(running.port)
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.bind(("127.0.0.1", 0))
    try:
        uac.invite(rtp_port=victim.getsockname()[1])  # never ACKed
        state = running.wait_idle(timeout=20)  # IVR_SIP_NO_ACK_TIMEOUT (4 s) ends it
        assert state["live"] == state["ports"] == 0, state
        victim.settimeout(0.2)
        received = 0
        try:
            while True:
                victim.recvfrom(2048)
                received += 1
        except OSError:
            pass
    finally:
        victim.close()
    assert 0 < received <= 50, received  # 1 s at 50 packets a second, not 4 s (200) or 40 s (2,000)
