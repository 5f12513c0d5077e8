"""A baresip softphone for tests: the shipped config with chosen codec modules and extra lines, driven by ctrl_tcp."""

from __future__ import annotations

import array
import math
import shutil
import socket
import subprocess
import wave
from contextlib import contextmanager
from pathlib import Path

from .conftest import free_port_range, free_udp_port
from .test_baresip import CONFIG_DIR, CtrlTcp


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


def tone_wav(path: Path, rate: int, channels: int = 1) -> Path:
    """Ten seconds of a quiet 440 Hz tone, 16-bit at `rate`, the same on every channel."""
    samples = array.array(
        "h", (int(800 * math.sin(2 * math.pi * 440 * (n // channels) / rate)) for n in range(rate * 10 * channels))
    )
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path


@contextmanager
def baresip(
    tmp_path: Path,
    *,
    modules: tuple[str, ...] = ("g711.so",),
    extra: str = "",
    accounts: str = "",
    rate: int = 8000,
    channels: int = 1,
    sip_port: int = 0,
):
    """`rate`: the caller WAV's sample rate, which baresip's aufile wants equal to the codec's (G.722 16 kHz, Opus 48
    kHz stereo). `sip_port`: where baresip listens (from free_sip_ports()), for tests that call it.

    Yields (ctrl, output) where output() returns what baresip printed so far (after it stopped: all of it)."""
    assert shutil.which("baresip"), "baresip is not installed"
    ctrl_port = free_sip_ports()  # TCP
    rtp_min, rtp_max = free_port_range(40)
    config_dir = tmp_path / "baresip"
    config_dir.mkdir()
    text = (CONFIG_DIR / "config").read_text()
    for name, value in {
        "SIP_PORT": sip_port or free_sip_ports(),
        "CALLER_WAV": tone_wav(tmp_path / "caller.wav", rate, channels),
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
