"""SIP over TCP and TLS: framing by Content-Length (split and coalesced segments), responses on the request's
connection, TLS 1.2+ only, a bad message on a stream answered 400 without closing the listener, and a request
we send over 1,300 bytes going over TCP (RFC 3261 18.1.1)."""

from __future__ import annotations

import socket
import ssl

import pytest
from aiosipua import SipMessage

from ivr.channels.sip.config import SipConfig
from ivr.channels.sip.server import SipServer
from ivr.channels.sip.streams import MTU_LIMIT

from .apps import Recorded, menu_app
from .tls_peer import StreamUac, client_context, self_signed


@pytest.fixture
def tls_server(start_server, tmp_path):
    cert, key = self_signed(tmp_path)
    running = start_server(menu_app(Recorded(), timeout=1), tls_cert=str(cert), tls_key=str(key), tls_port=0)
    tls = next(s for s in running.server.transport.streams if s.protocol == "TLS")
    return running, tls.local_addr[1], cert


def status_of(message: str | None) -> int:
    assert message is not None, "no response"
    return int(message.split(" ", 2)[1])


@pytest.mark.parametrize("protocol", ["TCP", "TLS"])
def test_framing_split_and_coalesced(tls_server, protocol):
    running, tls_port, cert = tls_server
    uac = StreamUac(
        tls_port if protocol == "TLS" else running.port, client_context(cert) if protocol == "TLS" else None
    )
    try:
        if protocol == "TLS":
            assert uac.sock.version() in ("TLSv1.2", "TLSv1.3")
        first = uac.options(running.port, "split", pad=300)
        for piece in (first[:17], first[17:200], first[200:-5], first[-5:]):  # one message in four segments
            uac.send(piece)  # TCP_NODELAY: each piece leaves as its own segment (TLS: its own record)
        reply = uac.recv_message()
        assert status_of(reply) == 200 and "Call-ID: split" in reply
        uac.send(b"\r\n\r\n" + uac.options(running.port, "one") + uac.options(running.port, "two"))  # keep-alive + 2
        replies = [uac.recv_message(), uac.recv_message()]
        assert [status_of(r) for r in replies] == [200, 200]
        assert "Call-ID: one" in replies[0] and "Call-ID: two" in replies[1]
        assert f"SIP/2.0/{protocol} 127.0.0.1:{uac.local[1]}" in replies[0]  # our Via answered, on this connection
        uac.send(
            b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKbad\r\nCall-ID: bad\r\n"
            b"CSeq: x INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        assert status_of(uac.recv_message()) == 400
        uac.send(uac.options(running.port, "after"))
        assert status_of(uac.recv_message()) == 200  # the same connection still works
    finally:
        uac.close()


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")
def test_tls_below_1_2_is_refused(tls_server):
    _running, tls_port, cert = tls_server
    context = client_context(cert, maximum=ssl.TLSVersion.TLSv1_1)
    try:
        context.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, ConnectionError)):
        StreamUac(tls_port, context)


def test_plain_tcp_to_the_tls_port_does_not_hurt(tls_server):
    running, tls_port, cert = tls_server
    raw = StreamUac(tls_port)  # no handshake: SIP in clear text on the TLS port
    raw.send(raw.options(running.port))
    assert raw.recv_message(timeout=3) is None
    raw.close()
    uac = StreamUac(tls_port, client_context(cert))
    uac.send(uac.options(running.port))
    assert status_of(uac.recv_message()) == 200
    uac.close()


def test_a_request_over_1300_bytes_goes_over_tcp(start_server):
    running = start_server(menu_app(Recorded(), timeout=1))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    peer = ("127.0.0.1", listener.getsockname()[1])
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(peer)  # the same port on UDP: a large request must not arrive here
    udp.settimeout(0.5)
    big = SipMessage.parse(uac_request(peer[1], pad=MTU_LIMIT))
    small = SipMessage.parse(uac_request(peer[1], pad=0))
    try:
        running.loop.call(running.server.transport.send, big, peer)
        conn, _ = listener.accept()
        uac = StreamUac.wrap(conn)
        received = uac.recv_message()
        assert received is not None and "SIP/2.0/TCP" in received and received.endswith("x" * MTU_LIMIT)
        running.loop.call(running.server.transport.send, small, peer)
        assert "Call-ID: c-0" in uac.recv_message()  # an open connection to the peer is reused
        with pytest.raises(TimeoutError):
            udp.recv(65535)
        conn.close()
    finally:
        listener.close()
        udp.close()


def uac_request(port: int, pad: int) -> bytes:
    body = "x" * pad
    return (
        f"MESSAGE sip:peer@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKbig{pad}\r\n"
        f"From: <sip:ivr@127.0.0.1>;tag=a\r\nTo: <sip:peer@127.0.0.1>\r\nCall-ID: c-{pad}\r\nCSeq: 1 MESSAGE\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("srtp", "maybe", "IVR_SIP_SRTP: 'maybe'"),
        ("codecs", ("pcmu", "g729"), "unknown codec 'g729'"),
        ("tls_cert", "/nonexistent/cert.pem", "IVR_SIP_TLS_CERT/IVR_SIP_TLS_KEY"),
    ],
)
def test_bad_settings_stop_the_start_with_a_clear_error(tmp_path, setting, value, message):
    values = {"tls_key": "/nonexistent/key.pem"} if setting == "tls_cert" else {}
    with pytest.raises(ValueError, match=message):
        SipServer(SipConfig(port=0, data_dir=tmp_path, **{setting: value}, **values), app=None)
