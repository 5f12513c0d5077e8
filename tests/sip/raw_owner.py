"""A hand-written SIP user agent server on loopback, as the owner's phone of a bridged transfer (no SIP library).

It reads the IVR's INVITE, answers it the way a test asks (180, then 200 with its own SDP, or a final failure),
acknowledges BYE and CANCEL, and sends and captures RTP on its own socket, so a test can check content."""

from __future__ import annotations

import re
import socket
import struct
import time
import uuid

from .conftest import header, parse_sip


class RawOwner:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.tag = uuid.uuid4().hex[:8]
        self.invite: dict | None = None
        self.ivr_addr: tuple[str, int] | None = None
        self.ivr_rtp: tuple[str, int] | None = None

    @property
    def uri(self) -> str:
        return f"sip:owner@127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()
        self.rtp.close()

    def recv(self, timeout: float = 5.0, want=None) -> dict | None:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            self.sock.settimeout(remaining)
            try:
                data, addr = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            message = parse_sip(data)
            message["addr"] = addr
            if want is None or want(message):
                return message
        return None

    def wait_invite(self, timeout: float = 5.0) -> dict:
        invite = self.recv(timeout, want=lambda m: m["method"] == "INVITE")
        assert invite is not None, "the IVR never rang the owner"
        self.invite, self.ivr_addr = invite, invite["addr"]
        media = re.search(r"m=audio (\d+)", invite["body"])
        self.ivr_rtp = ("127.0.0.1", int(media.group(1)))
        return invite

    def reply(self, request: dict, status: int, reason: str, body: str = "", tag: bool = True) -> None:
        lines = [f"SIP/2.0 {status} {reason}"] + [f"Via: {v}" for v in request["headers"]["via"]]
        to = header(request, "to") + (f";tag={self.tag}" if tag and "tag=" not in header(request, "to") else "")
        lines += [
            f"From: {header(request, 'from')}",
            f"To: {to}",
            f"Call-ID: {header(request, 'call-id')}",
            f"CSeq: {header(request, 'cseq')}",
            f"Contact: <sip:owner@127.0.0.1:{self.port}>",
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        self.sock.sendto("\r\n".join(lines).encode(), request["addr"])

    def sdp(self, payload_type: int, dtmf: int = 101) -> str:
        name = {0: "PCMU", 8: "PCMA", 9: "G722"}[payload_type]
        return (
            "\r\n".join(
                [
                    "v=0",
                    "o=owner 1 1 IN IP4 127.0.0.1",
                    "s=-",
                    "c=IN IP4 127.0.0.1",
                    "t=0 0",
                    f"m=audio {self.rtp_port} RTP/AVP {payload_type} {dtmf}",
                    f"a=rtpmap:{payload_type} {name}/8000",
                    f"a=rtpmap:{dtmf} telephone-event/8000",
                    f"a=fmtp:{dtmf} 0-16",
                    "a=sendrecv",
                ]
            )
            + "\r\n"
        )

    def answer(self, payload_type: int = 0, dtmf: int = 101) -> None:
        """180, 200 with our SDP, then wait for the ACK."""
        invite = self.invite or self.wait_invite()
        self.reply(invite, 180, "Ringing")
        self.reply(invite, 200, "OK", self.sdp(payload_type, dtmf))
        assert self.recv(5, want=lambda m: m["method"] == "ACK") is not None, "no ACK for the owner's 200"

    def bye(self) -> dict | None:
        """Hang up first: BYE on the dialog; returns the IVR's answer."""
        self.in_dialog("BYE", 1)
        return self.recv(5, want=lambda m: m["status"] and "BYE" in header(m, "cseq"))

    def in_dialog(self, method: str, cseq: int, body: str = "") -> None:
        """A request of ours on the answered dialog (to the IVR's Contact)."""
        invite = self.invite
        lines = [
            f"{method} {re.search(r'<([^>]+)>', header(invite, 'contact')).group(1)} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:10]};rport",
            f"From: {header(invite, 'to')};tag={self.tag}",
            f"To: {header(invite, 'from')}",
            f"Call-ID: {header(invite, 'call-id')}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:owner@127.0.0.1:{self.port}>",
            "Max-Forwards: 70",
        ]
        lines += (["Content-Type: application/sdp"] if body else []) + [
            f"Content-Length: {len(body.encode())}",
            "",
            body,
        ]
        self.sock.sendto("\r\n".join(lines).encode(), self.ivr_addr)

    def send_rtp(self, packet: bytes) -> None:
        self.rtp.sendto(packet, self.ivr_rtp)

    def rtp_packets(self, count: int, timeout: float = 10.0, want=None) -> list[bytes]:
        got, deadline = [], time.monotonic() + timeout
        while len(got) < count and (remaining := deadline - time.monotonic()) > 0:
            self.rtp.settimeout(remaining)
            try:
                data = self.rtp.recv(2048)
            except TimeoutError:
                break
            if want is None or want(data):
                got.append(data)
        return got


def rtp(payload_type: int, seq: int, ts: int, payload: bytes, marker: int = 0, ssrc: int = 0x5150) -> bytes:
    return struct.pack("!BBHII", 0x80, (marker << 7) | payload_type, seq & 0xFFFF, ts, ssrc) + payload


def dtmf_press(payload_type: int, digit: int, seq: int, ts: int) -> list[bytes]:
    """One RFC 2833 key press: three updates, then three end packets, all with the same timestamp."""
    return [
        rtp(
            payload_type,
            seq + i,
            ts,
            bytes([digit, 0x8A if i >= 3 else 0x0A]) + (160 * (i + 1)).to_bytes(2, "big"),
            marker=int(i == 0),
        )
        for i in range(6)
    ]
