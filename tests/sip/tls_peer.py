"""Test helpers for SIP over TCP and TLS: a self-signed certificate made with openssl, and a client that
speaks SIP on a stream (framing by Content-Length) through Python's ssl module or plain TCP."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "sip-cert.pem", tmp_path / "sip-key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def client_context(cert: Path, *, maximum: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cert))
    if maximum is not None:
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        context.maximum_version = maximum
    return context


class StreamUac:
    """A SIP client on one TCP or TLS connection."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None) -> None:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1") if context else raw
        self.transport = "TLS" if context else "TCP"
        self.local = self.sock.getsockname()
        self.buffer = b""

    @classmethod
    def wrap(cls, sock: socket.socket) -> StreamUac:
        """A connection someone else opened (to a listener of ours)."""
        uac = cls.__new__(cls)
        uac.sock, uac.transport, uac.local, uac.buffer = sock, "TCP", sock.getsockname(), b""
        return uac

    def close(self) -> None:
        self.sock.close()

    def options(self, port: int, call_id: str | None = None, pad: int = 0) -> bytes:
        call_id = call_id or uuid.uuid4().hex
        head = (
            f"OPTIONS sip:ivr@127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/{self.transport} 127.0.0.1:{self.local[1]};branch=z9hG4bK{uuid.uuid4().hex[:12]}\r\n"
            f"From: <sip:tester@127.0.0.1>;tag=t1\r\nTo: <sip:ivr@127.0.0.1>\r\nCall-ID: {call_id}\r\n"
            f"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        )
        body = "x" * pad
        return (head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_message(self, timeout: float = 5.0) -> str | None:
        """One framed message (headers + Content-Length body), or None on timeout or close."""
        deadline = time.monotonic() + timeout
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                match = re.search(rb"(?im)^(content-length|l)[ \t]*:[ \t]*(\d+)", self.buffer[:end])
                size = end + 4 + (int(match.group(2)) if match else 0)
                if len(self.buffer) >= size:
                    message, self.buffer = self.buffer[:size], self.buffer[size:]
                    return message.decode(errors="replace")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
