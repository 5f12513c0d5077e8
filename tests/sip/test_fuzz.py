"""12,000 malformed and mutated SIP datagrams; the listener keeps answering and memory stays bounded.

Mutations of real requests (INVITE, OPTIONS, BYE, INFO, CANCEL, REGISTER, ACK) and responses:
byte flips, truncation, dropped/duplicated/emptied headers, compact and mixed-case names, bad
numbers, missing or lying Content-Length, broken SDP, oversize datagrams and plain garbage, and
addresses we would send to (Via without rport, received, Contact, Record-Route, SDP c=/m=) that are
out of range or no IP address at all: asyncio closes a datagram socket on such a sendto() for good.
Afterwards a normal SIPp call succeeds and no call, port or task is left behind.
"""

from __future__ import annotations

import random
import re
import socket
import time

import pytest

from .apps import Recorded, menu_app
from .conftest import free_port_range, header, run_sipp, sipp_counts

pytestmark = pytest.mark.slow  # hundreds of fuzzed datagrams and SIPp calls

SDP = (
    "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {rtp} RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)

COMPACT = {
    "Via": "v",
    "From": "f",
    "To": "t",
    "Call-ID": "i",
    "Contact": "m",
    "Content-Length": "l",
    "Content-Type": "c",
    "Supported": "k",
}


def base_messages(port: int, rtp: int, n: int) -> list[list[str]]:
    """Valid messages as [start line, headers..., body] (the body is the last element)."""

    def req(method, body="", extra=()):
        return [
            f"{method} sip:ivr@127.0.0.1:{port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{port + 1};branch=z9hG4bKfz{n};rport",
            f"From: <sip:+1555{n:07d}@127.0.0.1>;tag=f{n}",
            f"To: <sip:ivr@127.0.0.1:{port}>",
            f"Call-ID: fuzz-{n}@127.0.0.1",
            f"CSeq: {n % 1000 + 1} {method}",
            "Max-Forwards: 70",
            "Contact: <sip:fuzz@127.0.0.1>",
            "Supported: replaces, timer",
            *extra,
            f"Content-Length: {len(body)}",
            body,
        ]

    sdp = SDP.format(rtp=rtp)
    return [
        req("INVITE", sdp, ("Content-Type: application/sdp",)),
        req("OPTIONS"),
        req("BYE"),
        req("CANCEL"),
        req("ACK"),
        req("REGISTER", extra=("Expires: 60",)),
        req("INFO", "Signal=5\r\n", ("Content-Type: application/dtmf-relay",)),
        [
            "SIP/2.0 200 OK",
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKx{n}",
            f"Call-ID: r{n}",
            "CSeq: 2 BYE",
            "From: <sip:a@b>;tag=1",
            "To: <sip:c@d>;tag=2",
            "Content-Length: 0",
            "",
        ],
    ]


BAD_PORTS = ["99999", "70000", "65536", "-1", "0", "1e3", "", "4294967297", "٥٠٦٠"]
BAD_HOSTS = ["evil.example", "999.1.1.1", "::1", "[::1]", "0.0.0.0", "224.0.0.1", "", "127.0.0.1%00"]


def mutate_addresses(rng: random.Random, headers: list[str], body: str) -> tuple[list[str], str]:
    """Out-of-range ports and unusable hosts wherever a peer names an address we would send to."""
    port, host = rng.choice(BAD_PORTS), rng.choice(BAD_HOSTS)
    where = rng.randrange(6)
    if where == 0:  # Via sent-by port, rport removed so the reply would go there
        headers = [
            re.sub(r"127\.0\.0\.1:\d+;branch", f"127.0.0.1:{port};branch", h).replace(";rport", "")
            if h.startswith("Via")
            else h
            for h in headers
        ]
    elif where == 1:  # Via received / rport values
        params = rng.choice([f";received={host}", f";rport={port}", f";rport={port};received={host}"])
        headers = [h.replace(";rport", params) if h.startswith("Via") else h for h in headers]
    elif where == 2:  # Contact
        headers = [
            f"Contact: <sip:fuzz@{host or '127.0.0.1'}:{port}>" if h.startswith("Contact") else h for h in headers
        ]
    elif where == 3:  # Record-Route
        headers.append(f"Record-Route: <sip:{host or '127.0.0.1'}:{port};lr>")
    elif where == 4:  # SDP m= port
        body = re.sub(r"m=audio \d+", f"m=audio {port}", body)
    else:  # SDP c= host
        body = body.replace("c=IN IP4 127.0.0.1", f"c=IN IP4 {host}")
    headers = [f"Content-Length: {len(body.encode())}" if h.startswith("Content-Length") else h for h in headers]
    return headers, body


def mutate(rng: random.Random, msg: list[str]) -> bytes:
    start, headers, body = msg[0], list(msg[1:-1]), msg[-1]
    kind = rng.randrange(17)
    if kind == 0 and headers:  # drop a header
        headers.pop(rng.randrange(len(headers)))
    elif kind == 1 and headers:  # empty a header value
        i = rng.randrange(len(headers))
        headers[i] = headers[i].split(":")[0] + ":"
    elif kind == 2:  # compact and mixed-case names
        headers = [
            COMPACT.get(h.split(":")[0], h.split(":")[0].swapcase()) + ":" + h.split(":", 1)[1] if ":" in h else h
            for h in headers
        ]
    elif kind == 3 and headers:  # duplicate headers
        headers += rng.sample(headers, min(len(headers), 3))
    elif kind == 4:  # no Content-Length at all
        headers = [h for h in headers if not h.lower().startswith("content-length")]
    elif kind == 5:  # lying or nonsense Content-Length
        headers = [h for h in headers if not h.lower().startswith("content-length")]
        headers.append(f"Content-Length: {rng.choice(['-5', '999999', 'abc', '', '1e9', str(len(body) + 40)])}")
    elif kind == 6:  # bad numbers in CSeq / Via port / Max-Forwards
        headers = [
            h.replace("CSeq: ", rng.choice(["CSeq: x", "CSeq: -1 ", "CSeq: 99999999999999 "])).replace(
                ";branch", rng.choice([":99999;branch", ":0;branch", ":-1;branch", ";branch"])
            )
            for h in headers
        ]
    elif kind == 7:  # broken SDP
        body = body.replace("m=audio", rng.choice(["m=audio x", "m=video", "m=", "m=audio 70000"]))
    elif kind == 8:  # truncated anywhere
        raw = "\r\n".join([start, *headers, "", body]).encode()
        return raw[: rng.randrange(len(raw))]
    elif kind == 9:  # garbage start line
        start = rng.choice(
            [
                "",
                "INVITE",
                "INV ITE sip:x SIP/2.0",
                "SIP/2.0 abc",
                "\x00\x01",
                "GET / HTTP/1.1",
                "INVITE sip:x SIP/3.0",
                "SIP/2.0",
            ]
        )
    elif kind == 10:  # non-UTF-8 and control bytes in values
        raw = "\r\n".join([start, *headers, "", body]).encode()
        pos = rng.randrange(len(raw))
        return raw[:pos] + bytes(rng.randrange(256) for _ in range(8)) + raw[pos:]
    elif kind == 11:  # oversize
        headers.append("X-Pad: " + "A" * rng.choice([1000, 20_000, 60_000]))
    elif kind == 12:  # random garbage
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1500)))
    elif kind == 13:  # line folding and bare LF
        return ("\n".join([start, *[h.replace(": ", ":\n ") for h in headers], "", body])).encode()
    elif kind == 14:  # flip random bytes
        raw = bytearray("\r\n".join([start, *headers, "", body]).encode())
        for _ in range(rng.randrange(1, 10)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw)
    elif kind == 15:  # addresses we are asked to send to: Via (without rport), Contact, Record-Route, SDP
        headers, body = mutate_addresses(rng, headers, body)
    else:  # a huge number of tiny headers
        headers += [f"X-{i}: {i}" for i in range(rng.choice([10, 300, 2000]))]
    return "\r\n".join([start, *headers, "", body]).encode()


def rss_kb() -> int:
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1])


def test_fuzzed_sip_never_kills_the_listener(start_server, uac_factory):
    running = start_server(menu_app(Recorded(), timeout=1), max_calls=20, no_ack_timeout=1.0, no_rtp_timeout=2.0)
    rng = random.Random(20261121)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    rtp_first, _ = free_port_range(4)
    target = ("127.0.0.1", running.port)

    def drain():
        try:
            while True:
                sock.recv(65535)
        except (BlockingIOError, OSError):
            pass

    def blast(count: int, seed_offset: int) -> None:
        for n in range(count):
            msg = rng.choice(base_messages(running.port, rtp_first, n + seed_offset))
            data = mutate(rng, msg)
            try:
                sock.sendto(data[:65000], target)
            except OSError:
                pass
            if n % 40 == 0:
                time.sleep(0.004)  # let the listener keep up, so every datagram is really processed
                drain()

    try:
        blast(2000, 0)  # warm-up: caches, prompt rendering, first allocations
        time.sleep(3)
        before = rss_kb()
        blast(10_000, 10_000)
        time.sleep(1)
        state = running.wait_idle(20)
    finally:
        sock.close()
    assert state["live"] == state["uas_calls"] == state["ports"] == state["tasks"] == 0, state
    assert running.server.transport.dropped > 500  # the garbage really reached the listener
    assert rss_kb() - before < 30_000, (before, rss_kb())

    # The listener still answers: OPTIONS by hand, then a full SIPp call with a digit
    uac = uac_factory(running.port)
    uac.request("OPTIONS")
    assert uac.recv(3, want=lambda m: "OPTIONS" in header(m, "cseq"))["status"] == 200
    result = run_sipp("uac_ivr.xml", running.port, timeout=40)
    assert sipp_counts(result) == (1, 0), result.stdout[-2000:]
