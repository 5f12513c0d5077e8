"""A baresip softphone for tests: the shipped config (tests/sip/baresip/) with chosen codec modules, accounts,
microphone WAV and extra lines, driven by ctrl_tcp."""

from __future__ import annotations

import array
import json
import math
import shutil
import socket
import subprocess
import time
import wave
from contextlib import contextmanager
from pathlib import Path

from .conftest import free_port_range, free_udp_port

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
            except TimeoutError:
                continue
            if not chunk:
                return
            self.buffer += chunk

    def wait_for(self, event_type: str, timeout: float) -> dict | None:
        for event in self.events(timeout):
            if event.get("type") == event_type:
                return event
        return None


def free_sip_ports() -> int:
    """A port P with P and P+1 free on UDP and TCP: baresip binds SIP on UDP, TCP and (P+1) TLS, and fails whole
    when any one is taken."""
    for _ in range(50):
        port = free_udp_port()
        try:
            for offset, kind in (
                (0, socket.SOCK_DGRAM),
                (0, socket.SOCK_STREAM),
                (1, socket.SOCK_DGRAM),
                (1, socket.SOCK_STREAM),
            ):
                with socket.socket(socket.AF_INET, kind) as probe:
                    probe.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no free SIP port pair for baresip")


def write_wav(path: Path, pcm: bytes, rate: int = 8000, channels: int = 1) -> Path:
    """16-bit PCM as a WAV file (what baresip's aufile source plays as its microphone)."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return path


def tone_wav(
    path: Path, rate: int, channels: int = 1, frequency: float = 440.0, seconds: int = 10, amplitude: int = 800
) -> Path:
    """`seconds` of a `frequency` Hz tone, 16-bit at `rate`, the same on every channel (by default quiet 440 Hz)."""
    samples = array.array(
        "h",
        (
            int(amplitude * math.sin(2 * math.pi * frequency * (n // channels) / rate))
            for n in range(rate * seconds * channels)
        ),
    )
    return write_wav(path, samples.tobytes(), rate, channels)


@contextmanager
def baresip(
    tmp_path: Path,
    *,
    modules: tuple[str, ...] = ("g711.so",),
    extra: str = "",
    accounts: str = "",
    rate: int = 8000,
    channels: int = 1,
    wav: Path | None = None,
    sip_port: int | None = None,
):
    """`rate`: the caller WAV's sample rate, which baresip's aufile wants equal to the codec's (G.722 16 kHz, Opus 48
    kHz stereo). `wav`: what baresip sends as its microphone (by default a quiet 440 Hz tone at `rate`); `sip_port`:
    where it listens (by default a free pair, see free_sip_ports).

    Yields (ctrl, output) where output() returns what baresip printed so far (after it stopped: all of it)."""
    assert shutil.which("baresip"), "baresip is not installed"
    ctrl_port = free_sip_ports()  # TCP
    rtp_min, rtp_max = free_port_range(40)
    config_dir = tmp_path / "baresip"
    config_dir.mkdir()
    text = (CONFIG_DIR / "config").read_text()
    for name, value in {
        "SIP_PORT": sip_port or free_sip_ports(),
        "CALLER_WAV": wav or tone_wav(tmp_path / "caller.wav", rate, channels),
        "RTP_MIN": rtp_min,
        "RTP_MAX": rtp_max,
        "CTRL_PORT": ctrl_port,
    }.items():
        text = text.replace(f"@{name}@", str(value))
    codec_lines = "".join(f"module\t\t\t{module}\n" for module in modules)
    text = text.replace("module\t\t\tg711.so\n", codec_lines) + extra
    (config_dir / "config").write_text(text)
    (config_dir / "accounts").write_text(accounts or (CONFIG_DIR / "accounts").read_text())
    log_path = tmp_path / "baresip.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            ["baresip", "-v", "-f", str(config_dir), "-t", "60"],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            yield CtrlTcp(ctrl_port), lambda: log_path.read_text(errors="replace")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
