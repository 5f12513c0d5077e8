"""Fixtures for SIP tests: a real SipServer on its own event loop thread, free ports, a raw UDP UAC, SIPp."""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from ivr.channels.sip.server import SipConfig, SipServer

SCENARIOS = Path(__file__).parent / "scenarios"
SIPP_PCAPS = Path("/usr/share/sip-tester")


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that is free on TCP too: `ivr sip` listens on both (IVR_SIP_TCP), and so does SIPp with -t t1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no port free on both UDP and TCP")


def free_port_range(size: int = 400) -> tuple[int, int]:
    """A block of ports in 40000-60000 that is free right now (RTP pools of parallel test runs differ)."""
    for _ in range(50):
        first = random.randrange(40000, 60000 - size, 2)
        socks = []
        try:
            for port in range(first, first + size, 50):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return first, first + size
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


class LoopThread:
    """An asyncio loop in a background thread; `run(coro)` executes on it and returns the result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args):
        async def wrapper():
            return fn(*args)

        return self.run(wrapper())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if not self.thread.is_alive():
            self.loop.close()


class RunningServer:
    def __init__(self, server: SipServer, loop: LoopThread) -> None:
        self.server = server
        self.loop = loop

    @property
    def port(self) -> int:
        return self.server.address[1]

    def state(self) -> dict:
        def snapshot():
            s = self.server
            return {
                "live": len(s.live),
                "uas_calls": len(s.endpoint._calls),
                "ports": len(s.ports.in_use),
                "clock": len(s.clock),
                "tasks": len(s.tasks),
                "started": s.calls_started,
                "finished": s.calls_finished,
                "digits": s.digits_received,
            }

        return self.loop.call(snapshot)

    def wait_idle(self, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state()
            if not (state["live"] or state["uas_calls"] or state["ports"] or state["tasks"]):
                return state
            if time.monotonic() > deadline:
                return state
            time.sleep(0.1)


@pytest.fixture
def start_server(tmp_path):
    """start_server(app, accounts=None, **config) -> RunningServer on 127.0.0.1, a free SIP port and a free RTP range
    (`accounts`: the SIP accounts' HA1s the edge checks digests against)."""
    started: list[RunningServer] = []

    def start(app, accounts=None, **overrides) -> RunningServer:
        loop = LoopThread()
        rtp_min, rtp_max = free_port_range()
        values = dict(host="127.0.0.1", port=0, rtp_port_min=rtp_min, rtp_port_max=rtp_max, data_dir=tmp_path / "data")
        values.update(overrides)
        server = SipServer(SipConfig(**values), app, accounts=accounts)
        loop.run(server.start())
        running = RunningServer(server, loop)
        started.append(running)
        return running

    yield start
    for running in started:
        try:
            running.loop.run(running.server.stop(), timeout=20)
        finally:
            running.loop.close()


# --- a raw UDP user agent for precise protocol tests -------------------------------------


def parse_sip(data: bytes) -> dict:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    first = lines[0]
    status = int(first.split()[1]) if first.startswith("SIP/2.0") else 0
    method = "" if status else first.split()[0]
    return {
        "status": status,
        "method": method,
        "first": first,
        "headers": headers,
        "body": body.decode(errors="replace"),
    }


def header(msg: dict, name: str) -> str:
    return msg["headers"].get(name.lower(), [""])[0]


class RawUac:
    """Sends hand-written SIP over UDP and reads what comes back (no SIP library involved)."""

    def __init__(self, server_port: int, host: str = "127.0.0.1") -> None:
        self.server = ("127.0.0.1", server_port)
        self.host = host  # another loopback address (127.0.0.2) plays an untrusted source
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp_port = self.rtp.getsockname()[1]
        self.call_id = f"{uuid.uuid4().hex}@127.0.0.1"
        self.tag = uuid.uuid4().hex[:8]
        self.cseq = 1

    def close(self) -> None:
        self.sock.close()
        self.rtp.close()

    def sdp(self, rtp_port: int | None = None, codecs: str = "0 101") -> str:
        port = rtp_port or self.rtp_port
        lines = [
            "v=0",
            "o=raw 1 1 IN IP4 127.0.0.1",
            "s=-",
            "c=IN IP4 127.0.0.1",
            "t=0 0",
            f"m=audio {port} RTP/AVP {codecs}",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
        ]
        if "101" in codecs.split():
            lines += ["a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"]
        return "\r\n".join(lines) + "\r\n"

    def request(
        self,
        method: str,
        *,
        branch: str | None = None,
        to_tag: str = "",
        body: str = "",
        content_type: str = "application/sdp",
        cseq: int | None = None,
        extra: str = "",
        cseq_method: str | None = None,
    ) -> str:
        branch = branch or f"z9hG4bK{uuid.uuid4().hex[:12]}"
        if cseq is None:
            if method not in ("ACK", "CANCEL"):
                self.cseq += 1
            cseq = self.cseq
        to = f"<sip:ivr@127.0.0.1:{self.server[1]}>" + (f";tag={to_tag}" if to_tag else "")
        lines = [
            f"{method} sip:ivr@127.0.0.1:{self.server[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch={branch};rport",
            f'From: "Caller" <sip:+15550001111@127.0.0.1:{self.port}>;tag={self.tag}',
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {cseq_method or method}",
            f"Contact: <sip:caller@{self.host}:{self.port}>",
            "Max-Forwards: 70",
        ]
        if extra:
            lines.append(extra)
        if body:
            lines.append(f"Content-Type: {content_type}")
        lines += [f"Content-Length: {len(body.encode())}", "", body]
        self.last_sent = "\r\n".join(lines).encode()
        self.sock.sendto(self.last_sent, self.server)
        return branch

    def last_sent_with_via(self, via: str, method: str = "OPTIONS") -> bytes:
        """A fresh request like `request(method)` would send, but with this top Via (nothing is sent)."""
        self.cseq += 1
        lines = [
            f"{method} sip:ivr@127.0.0.1:{self.server[1]} SIP/2.0",
            f"Via: {via}",
            f"From: <sip:+15550001111@127.0.0.1>;tag={self.tag}",
            f"To: <sip:ivr@127.0.0.1:{self.server[1]}>",
            f"Call-ID: {uuid.uuid4().hex}@127.0.0.1",
            f"CSeq: {self.cseq} {method}",
            "Max-Forwards: 70",
            "Content-Length: 0",
            "",
            "",
        ]
        return "\r\n".join(lines).encode()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def recv(self, timeout: float = 3.0, want=None) -> dict | None:
        """Next message (optionally the next one for which want(msg) is true), or None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                data, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                return None
            msg = parse_sip(data)
            if want is None or want(msg):
                return msg

    def invite(self, **kw) -> str:
        return self.request("INVITE", body=self.sdp(**kw))

    def call(self, **kw) -> dict:
        """INVITE, wait for the 200, ACK it; returns the 200 (its To tag is in `self.to_tag`)."""
        self.invite(**kw)
        ok = self.recv(5, want=lambda m: m["status"] >= 200)
        assert ok is not None and ok["status"] == 200, ok
        self.to_tag = header(ok, "to").split("tag=")[1]
        self.request("ACK", to_tag=self.to_tag, cseq=self.cseq)
        return ok

    def send_rtp(
        self, payload_type: int, payload: bytes, seq: int, ts: int, marker: int = 0, to_port: int = 0, sock=None
    ) -> None:
        header_bytes = struct.pack("!BBHII", 0x80, (marker << 7) | payload_type, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x1234)
        (sock or self.rtp).sendto(header_bytes + payload, ("127.0.0.1", to_port))

    def answer_200(self, request: dict) -> None:
        """Answer an in-dialog request from the server (BYE, NOTIFY) with 200."""
        lines = ["SIP/2.0 200 OK"] + [f"Via: {v}" for v in request["headers"]["via"]]
        for name in ("from", "to", "call-id", "cseq"):
            lines.append(f"{name.title()}: {header(request, name)}")
        lines += ["Content-Length: 0", "", ""]
        self.sock.sendto("\r\n".join(lines).encode(), self.server)

    def move_media(self) -> tuple[socket.socket, dict]:
        """A re-INVITE that moves this caller's RTP to a new loopback socket, then the ACK: (the socket, the answer)."""
        moved = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        moved.bind(("127.0.0.1", 0))
        self.request("INVITE", to_tag=self.to_tag, body=self.sdp(rtp_port=moved.getsockname()[1]))
        reply = self.recv(3, want=lambda m: m["status"] >= 200)
        self.request("ACK", to_tag=self.to_tag, cseq=self.cseq)
        return moved, reply

    def media_port(self, response: dict) -> int:
        return int(re.search(r"m=audio (\d+)", response["body"]).group(1))


@pytest.fixture
def flow_server(start_server, redis_server, tmp_path):
    """flow_server(flow_yaml) -> RunningServer: the SIP channel running that flow (its id is the default flow,
    its folder tmp_path/flows) through the call session `ivr sip` opens (wiring.py), on the test Redis."""
    from ivr.call_session.wiring import open_call_session, open_queue_board
    from ivr.channels.sip.session import flow_app
    from ivr.settings import Settings
    from ivr.store import connect

    def start(text: str) -> RunningServer:
        flows = tmp_path / "flows"
        flows.mkdir(exist_ok=True)
        flow_id = re.search(r"^id: (\S+)$", text, re.M).group(1)
        (flows / f"{flow_id}.yaml").write_text(text)
        settings = Settings(
            data_dir=tmp_path / "data", flows_dir=flows, redis_url=redis_server.url, default_flow=flow_id
        )
        conn = connect(redis_server.url)
        running = start_server(flow_app(open_call_session(settings, conn=conn)), audio_root=flows)
        running.server.queue_board = open_queue_board(conn)  # as `ivr sip` wires it
        return running

    return start


@pytest.fixture
def uac_factory():
    made: list[RawUac] = []

    def make(port: int, host: str = "127.0.0.1") -> RawUac:
        uac = RawUac(port, host)
        made.append(uac)
        return uac

    yield make
    for uac in made:
        uac.close()


# --- SIPp ------------------------------------------------------------------------------------


def run_sipp(
    scenario: str,
    server_port: int,
    *,
    calls: int = 1,
    concurrent: int = 1,
    rate: float = 10,
    timeout: float = 60,
    extra: list[str] | None = None,
    keys: dict | None = None,
    cwd: Path | None = None,
    subst: dict | None = None,
    local_ip: str = "127.0.0.1",
) -> subprocess.CompletedProcess:
    """Run a SIPp scenario; `subst` replaces @NAME@ placeholders (the edited copy goes to `cwd`)."""
    assert shutil.which("sipp"), "sip-tester (sipp) is not installed"
    cwd = Path(cwd) if cwd is not None else Path(tempfile.mkdtemp(prefix="sipp-"))  # SIPp writes logs to its cwd
    path = SCENARIOS / scenario
    if subst:
        text = path.read_text()
        for name, value in subst.items():
            text = text.replace(f"@{name}@", str(value))
        path = Path(cwd) / f"{uuid.uuid4().hex[:6]}-{scenario}"
        path.write_text(text)
    cmd = [
        "sipp",
        f"127.0.0.1:{server_port}",
        "-sf",
        str(path),
        "-i",
        local_ip,
        "-p",
        str(free_udp_port(local_ip)),
        "-mi",
        "127.0.0.1",
        "-mp",
        str(free_port_range(40)[0]),
        "-l",
        str(concurrent),
        "-r",
        str(rate),
        "-m",
        str(calls),
        "-timeout",
        f"{int(timeout)}s",
        "-timeout_error",
        "-nostdin",
        "-trace_err",
        "-trace_stat",
        "-stf",
        "stat.csv",
    ]
    for key, value in (keys or {}).items():
        cmd += ["-key", key, str(value)]
    cmd += extra or []
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30, cwd=cwd)


def sipp_counts(result: subprocess.CompletedProcess) -> tuple[int, int]:
    """(successful, failed) cumulative calls from SIPp's final screen."""
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", result.stdout)
    bad = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", result.stdout)
    return (int(ok.group(1)) if ok else -1, int(bad.group(1)) if bad else -1)
