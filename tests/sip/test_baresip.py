"""baresip, scripted through ctrl_tcp, dials the shipped flow, presses 1, and the SMS job appears."""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import time
import wave
from pathlib import Path

import pytest
from rq import Queue

from ivr import jobs
from ivr.store.calls import CallStore

from .conftest import free_port_range, free_udp_port
from .test_sipp_flow import SUPPORT_PATH, flow_ivr, job_kinds  # noqa: F401  (flow_ivr is a fixture)

pytestmark = pytest.mark.slow  # a real baresip softphone

CONFIG_DIR = Path(__file__).parent / "baresip"


class CtrlTcp:
    """baresip's ctrl_tcp: JSON commands and events framed as netstrings."""

    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buffer = b""

    def send(self, command: str, params: str = "") -> None:
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self.sock.sendall(str(len(body)).encode() + b":" + body + b",")

    def events(self, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b":" in self.buffer:
                size, _, rest = self.buffer.partition(b":")
                if len(rest) < int(size) + 1:
                    break
                yield json.loads(rest[: int(size)])
                self.buffer = rest[int(size) + 1 :]
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                return
            self.buffer += chunk

    def wait_for(self, event_type: str, timeout: float) -> dict | None:
        for event in self.events(timeout):
            if event.get("type") == event_type:
                return event
        return None


def caller_wav(path: Path) -> Path:
    """Ten seconds of quiet 8 kHz mono audio for baresip's aufile source."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(struct.pack("<80000h", *([0, 40, 0, -40] * 20000)))
    return path


def test_baresip_dials_in_and_presses_a_digit(flow_ivr, redis_conn, tmp_path):
    assert shutil.which("baresip"), "baresip is not installed"
    running = flow_ivr()
    ctrl_port = free_udp_port()
    rtp_min, rtp_max = free_port_range(40)
    config_dir = tmp_path / "baresip"
    config_dir.mkdir()
    text = (CONFIG_DIR / "config").read_text()
    for name, value in {
        "SIP_PORT": free_udp_port(),
        "CALLER_WAV": caller_wav(tmp_path / "caller.wav"),
        "RTP_MIN": rtp_min,
        "RTP_MAX": rtp_max,
        "CTRL_PORT": ctrl_port,
    }.items():
        text = text.replace(f"@{name}@", str(value))
    (config_dir / "config").write_text(text)
    shutil.copy(CONFIG_DIR / "accounts", config_dir / "accounts")
    proc = subprocess.Popen(
        ["baresip", "-f", str(config_dir), "-t", "60"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ctrl = CtrlTcp(ctrl_port)
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{running.port}")
        assert ctrl.wait_for("CALL_ESTABLISHED", 10) is not None
        time.sleep(1.0)
        ctrl.send("sndcode", "1")
        assert ctrl.wait_for("CALL_CLOSED", 30) is not None
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert running.wait_idle()["live"] == 0
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1, output[-2000:]
    record = calls[0]
    assert (record.channel, record.caller) == ("sip", "tester")
    assert record.path == SUPPORT_PATH and job_kinds(redis_conn, record.id) == ["sms"]
    assert len(Queue(jobs.QUEUE_NAME, connection=redis_conn)) == 1
