"""baresip plays a WAV file as its microphone ("I need help with Skype") into the shipped flow: the SMS job appears."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from ivr.store.calls import CallStore

from .conftest import free_port_range, free_udp_port
from .test_baresip import CONFIG_DIR, CtrlTcp
from .test_sipp_flow import job_kinds
from .test_sipp_speech import pool, speech_ivr  # noqa: F401  (fixtures)

pytest.importorskip("faster_whisper")
from tests.speech.audio import phone_pcm, silence  # noqa: E402

pytestmark = pytest.mark.slow  # a real baresip softphone, real recognition


def speaking_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(silence(1.5) + phone_pcm("I need help with Skype") + silence(20))
    return path


def test_baresip_says_skype(speech_ivr, redis_conn, tmp_path):  # noqa: F811
    assert shutil.which("baresip"), "baresip is not installed"
    running = speech_ivr()
    ctrl_port = free_udp_port()
    rtp_min, rtp_max = free_port_range(40)
    config_dir = tmp_path / "baresip"
    config_dir.mkdir()
    text = (CONFIG_DIR / "config").read_text()
    for name, value in {
        "SIP_PORT": free_udp_port(),
        "CALLER_WAV": speaking_wav(tmp_path / "caller.wav"),
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
        assert ctrl.wait_for("CALL_CLOSED", 40) is not None
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert running.wait_idle()["live"] == 0
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1, output[-2000:]
    assert calls[0].path[-2:] == ["send_support_links", "goodbye"], calls[0].path
    assert job_kinds(redis_conn, calls[0].id) == ["sms"]
