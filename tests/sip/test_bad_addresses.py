"""Addresses a peer gives us to send to (Via, Contact, Record-Route, SDP c=/m=) never silence the listener.

asyncio's datagram transport closes itself on an OverflowError from sendto() (a port above 65535 or below 0),
so one request with such a Via used to stop SIP for good. Each bad address gets a 400 at the datagram's
source (or is dropped and logged when no reply is possible), and the listener keeps answering.
"""

from __future__ import annotations

import time

import pytest

from .apps import Recorded, hold_app, never
from .conftest import header


def options_answered(uac) -> bool:
    uac.request("OPTIONS")
    reply = uac.recv(3, want=lambda m: "OPTIONS" in header(m, "cseq"))
    return reply is not None and reply["status"] == 200


def raw_request(uac, method: str, via: str, *, contact: str | None = None, extra: str = "", body: str = "") -> bytes:
    uac.cseq += 1
    lines = [
        f"{method} sip:ivr@127.0.0.1:{uac.server[1]} SIP/2.0",
        f"Via: {via}",
        f"From: <sip:+15550001111@127.0.0.1>;tag={uac.tag}",
        f"To: <sip:ivr@127.0.0.1:{uac.server[1]}>",
        f"Call-ID: bad-{uac.cseq}-{uac.call_id}",
        f"CSeq: {uac.cseq} {method}",
        "Max-Forwards: 70",
        f"Contact: {contact or f'<sip:caller@127.0.0.1:{uac.port}>'}",
    ]
    if extra:
        lines.append(extra)
    if body:
        lines.append("Content-Type: application/sdp")
    lines += [f"Content-Length: {len(body.encode())}", "", body]
    data = "\r\n".join(lines).encode()
    uac.send_raw(data)
    return data


@pytest.mark.parametrize("method", ["OPTIONS", "INVITE"])
@pytest.mark.parametrize("port", ["99999", "70000", "-1", "0"])
def test_a_via_port_out_of_range_gets_400_and_the_listener_lives_on(start_server, uac_factory, method, port):
    running = start_server(never)
    uac = uac_factory(running.port)
    body = uac.sdp() if method == "INVITE" else ""
    raw_request(uac, method, f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKbadvia{port}", body=body)
    reply = uac.recv(3, want=lambda m: m["status"] >= 200)
    assert reply is not None and reply["status"] == 400, reply  # sent to where the datagram came from
    assert options_answered(uac)
    assert running.state()["live"] == 0


def test_a_via_received_that_is_no_address_is_refused(start_server, uac_factory):
    running = start_server(never)
    uac = uac_factory(running.port)
    raw_request(uac, "OPTIONS", "SIP/2.0/UDP 127.0.0.1:5;received=evil.example;branch=z9hG4bKrcvd")
    reply = uac.recv(3, want=lambda m: m["status"] >= 200)
    assert reply is not None and reply["status"] == 400
    assert options_answered(uac)


@pytest.mark.parametrize("contact", ["<sip:caller@127.0.0.1:99999>", "<sip:caller@127.0.0.1:-1>"])
def test_a_contact_port_out_of_range_gets_400(start_server, uac_factory, contact):
    running = start_server(never)
    uac = uac_factory(running.port)
    raw_request(
        uac, "INVITE", f"SIP/2.0/UDP 127.0.0.1:{uac.port};branch=z9hG4bKbadct;rport", contact=contact, body=uac.sdp()
    )
    reply = uac.recv(3, want=lambda m: m["status"] >= 200)
    assert reply is not None and reply["status"] == 400, reply
    assert running.state()["live"] == 0 and options_answered(uac)


def test_a_record_route_port_out_of_range_gets_400(start_server, uac_factory):
    running = start_server(never)
    uac = uac_factory(running.port)
    raw_request(
        uac,
        "INVITE",
        f"SIP/2.0/UDP 127.0.0.1:{uac.port};branch=z9hG4bKbadrr;rport",
        extra="Record-Route: <sip:127.0.0.1:70000;lr>",
        body=uac.sdp(),
    )
    reply = uac.recv(3, want=lambda m: m["status"] >= 200)
    assert reply is not None and reply["status"] == 400, reply
    assert options_answered(uac)


@pytest.mark.parametrize(
    "edit",
    [
        ("m=audio {rtp}", "m=audio 99999"),
        ("m=audio {rtp}", "m=audio 70000"),
        ("c=IN IP4 127.0.0.1", "c=IN IP4 evil.example"),
        ("c=IN IP4 127.0.0.1", "c=IN IP4 999.1.1.1"),
    ],
)
def test_an_sdp_media_address_we_cannot_send_to_gets_400(start_server, uac_factory, edit):
    running = start_server(never)
    uac = uac_factory(running.port)
    old, new = edit
    sdp = uac.sdp().replace(old.format(rtp=uac.rtp_port), new)
    raw_request(uac, "INVITE", f"SIP/2.0/UDP 127.0.0.1:{uac.port};branch=z9hG4bKbadsdp;rport", body=sdp)
    reply = uac.recv(3, want=lambda m: m["status"] >= 200)
    assert reply is not None and reply["status"] == 400, reply
    assert running.state()["live"] == 0 and options_answered(uac)


def test_a_reinvite_moving_media_to_a_bad_port_is_refused_and_the_call_goes_on(start_server, uac_factory):
    record = Recorded()
    running = start_server(hold_app(record, seconds=10))
    uac = uac_factory(running.port)
    uac.call()
    sdp = uac.sdp().replace(f"m=audio {uac.rtp_port}", "m=audio 99999")
    uac.request("INVITE", to_tag=uac.to_tag, body=sdp)
    reply = uac.recv(3, want=lambda m: m["status"] >= 200 and "INVITE" in header(m, "cseq"))
    assert reply is not None and reply["status"] == 400, reply
    assert running.state()["live"] == 1  # the call itself is untouched
    assert options_answered(uac)


def test_a_transport_closed_under_us_is_reopened(start_server, uac_factory):
    """Whatever closes the socket (asyncio's own fatal-error path here), the listener comes back on its port."""
    running = start_server(never)
    uac = uac_factory(running.port)
    assert options_answered(uac)

    async def fatal_send():  # exactly what asyncio does on a bad sendto(), bypassing every guard of ours
        running.server.transport._udp_transport.sendto(b"x", ("127.0.0.1", 99999))

    running.loop.run(fatal_send())
    deadline = time.monotonic() + 10
    while not options_answered(uac):
        assert time.monotonic() < deadline, "the SIP listener never came back"
    assert running.server.transport.reopened == 1


def test_a_socket_that_cannot_be_reopened_sets_failed_so_ivr_sip_exits(start_server):
    """When the port is taken by then, reopening gives up after its retries and `failed` tells `ivr sip` to exit."""
    import asyncio
    import socket

    running = start_server(never)
    transport = running.server.transport
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def close_then_take_the_port():
        transport._udp_transport.sendto(b"x", ("127.0.0.1", 99999))  # asyncio closes the socket...
        await asyncio.sleep(0)  # ...its connection_lost runs (and schedules the reopen) before we go on
        squatter.bind(transport.local_addr)

    try:
        running.loop.run(close_then_take_the_port())
        deadline = time.monotonic() + 15
        while not running.loop.call(transport.failed.done):
            assert time.monotonic() < deadline, "reopening never gave up"
            time.sleep(0.1)
        assert "cannot reopen" in running.loop.call(transport.failed.result) and transport.reopened == 0
    finally:
        squatter.close()
