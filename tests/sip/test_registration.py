"""Registration to a PBX/trunk: digest auth, refresh before expiry, clear errors and retries on failure."""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import time

from .apps import never
from .conftest import header, parse_sip


class Registrar:
    """A registrar on a UDP socket: challenges the first REGISTER, then grants `expires` seconds."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def next_register(self, timeout: float = 5.0):
        self.sock.settimeout(timeout)
        try:
            data, addr = self.sock.recvfrom(65535)
        except socket.timeout:
            return None, None
        return parse_sip(data), addr

    def reply(self, request, addr, status: str, *extra: str) -> None:
        lines = [f"SIP/2.0 {status}", *[f"Via: {v}" for v in request["headers"]["via"]]]
        lines += [f"{n.title()}: {header(request, n)}" for n in ("from", "to", "call-id", "cseq")]
        lines += [*extra, "Content-Length: 0", "", ""]
        self.sock.sendto("\r\n".join(lines).encode(), addr)


def digest_ok(authorization: str, password: str, method: str = "REGISTER") -> bool:
    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', authorization))
    ha1 = hashlib.md5(f"{fields['username']}:{fields['realm']}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{fields['uri']}".encode()).hexdigest()
    if "qop" in fields:
        expected = hashlib.md5(
            f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}".encode()
        )
    else:
        expected = hashlib.md5(f"{ha1}:{fields['nonce']}:{ha2}".encode())
    return expected.hexdigest() == fields["response"]


def test_registers_with_digest_and_refreshes_before_expiry(start_server):
    registrar = Registrar()
    try:
        running = start_server(
            never, registrar=f"127.0.0.1:{registrar.port}", user="ivr-user", password="s3cret", register_expiry=60
        )
        granted = 0
        deadline = time.monotonic() + 10
        while granted < 2 and time.monotonic() < deadline:
            request, addr = registrar.next_register()
            assert request is not None and request["method"] == "REGISTER"
            assert "sip:ivr-user@127.0.0.1" in header(request, "from")
            authorization = header(request, "authorization")
            if not authorization:
                registrar.reply(
                    request,
                    addr,
                    "401 Unauthorized",
                    'WWW-Authenticate: Digest realm="pbx", nonce="n0nce", algorithm=MD5',
                )
                continue
            assert digest_ok(authorization, "s3cret")
            registrar.reply(request, addr, "200 OK", "Expires: 2")  # short: the refresh comes within 2 s
            granted += 1
        assert granted == 2
        assert running.loop.call(lambda: running.server.registration.registered_count) >= 1
    finally:
        registrar.sock.close()


def test_a_refused_registration_is_logged_and_retried(start_server, caplog):
    caplog.set_level(logging.INFO)
    registrar = Registrar()
    try:
        running = start_server(never, registrar=f"127.0.0.1:{registrar.port}", user="ivr-user", password="")
        running.loop.call(lambda: setattr(running.server.registration, "retry", 1.0))
        request, addr = registrar.next_register()
        registrar.reply(request, addr, "403 Forbidden")
        again, _ = registrar.next_register(5)
        assert again is not None and again["method"] == "REGISTER"  # retried by itself
        assert "SIP registration" in caplog.text and "FAILED: 403 Forbidden" in caplog.text
        # The listener still answers calls' first requests while registration fails
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.sendto(
            (
                f"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKo1\r\n"
                "From: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", running.port),
        )
        probe.settimeout(3)
        assert parse_sip(probe.recvfrom(65535)[0])["status"] == 200
        probe.close()
    finally:
        registrar.sock.close()
