"""baresip as the owner's phone of a bridged transfer, or as the one contact of a queue, answering by itself: the
caller hears the owner's audio (baresip's aufile source, a 1,100 Hz tone) relayed, and the caller hanging up closes
baresip's call."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import pytest

from ivr.channels.sip.bridge import STATS
from ivr.engine.actions import Queue, Transfer
from ivr.store.queues import QueueBoard

from ..audioop_shim import audioop
from .apps import Recorded
from .conftest import free_port_range, free_udp_port
from .test_baresip import CONFIG_DIR, CtrlTcp
from .test_bridge import bridge_app, caller_rtp, drain
from .test_media_calls import wait_until

pytestmark = pytest.mark.slow  # a real baresip softphone


def tone_wav(path: Path, frequency: float = 1100.0, seconds: int = 20) -> Path:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        count = 8000 * seconds
        wav.writeframes(
            struct.pack(f"<{count}h", *(int(8000 * math.sin(2 * math.pi * frequency * n / 8000)) for n in range(count)))
        )
    return path


def power_at(pcm: bytes, frequency: float) -> float:
    """Goertzel: the signal's power at `frequency` (8 kHz samples)."""
    samples = struct.unpack(f"<{len(pcm) // 2}h", pcm[: len(pcm) // 2 * 2])
    coefficient, previous, before = 2 * math.cos(2 * math.pi * frequency / 8000), 0.0, 0.0
    for sample in samples:
        previous, before = sample + coefficient * previous - before, previous
    return previous * previous + before * before - coefficient * previous * before


def start_baresip(tmp_path: Path) -> tuple[subprocess.Popen, int, int]:
    sip_port, ctrl_port = free_udp_port(), free_udp_port()
    rtp_min, rtp_max = free_port_range(40)
    config_dir = tmp_path / "baresip"
    config_dir.mkdir()
    text = (CONFIG_DIR / "config").read_text()
    for name, value in {
        "SIP_PORT": sip_port,
        "CALLER_WAV": tone_wav(tmp_path / "owner.wav"),
        "RTP_MIN": rtp_min,
        "RTP_MAX": rtp_max,
        "CTRL_PORT": ctrl_port,
    }.items():
        text = text.replace(f"@{name}@", str(value))
    (config_dir / "config").write_text(text)
    (config_dir / "accounts").write_text("<sip:owner@127.0.0.1>;regint=0;answermode=auto\n")
    proc = subprocess.Popen(
        ["baresip", "-f", str(config_dir), "-t", "60"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return proc, sip_port, ctrl_port


def put_through(kind: str, owner: str) -> Transfer | Queue:
    """A bridged transfer to the owner, or a queue whose one contact is the owner (issue 17)."""
    if kind == "transfer":
        return Transfer(target=owner, timeout=10)
    return Queue(name="baresip", contacts=(owner,), announce="You are number {position}.", max_wait=30)


@pytest.mark.parametrize("kind", ["transfer", "queue"])
def test_baresip_answers_by_itself_and_its_audio_reaches_the_caller(
    start_server, uac_factory, redis_conn, tmp_path, kind
):
    assert shutil.which("baresip"), "baresip is not installed"
    proc, sip_port, ctrl_port = start_baresip(tmp_path)
    try:
        ctrl = CtrlTcp(ctrl_port)
        record = Recorded()
        before = STATS.bridged
        running = start_server(bridge_app(record, put_through(kind, f"sip:owner@127.0.0.1:{sip_port}")))
        running.server.queue_board = QueueBoard(redis_conn)
        caller = uac_factory(running.port)
        caller.call()
        assert ctrl.wait_for("CALL_ESTABLISHED", 15) is not None
        assert wait_until(lambda: STATS.bridged > before, 10)
        drain(caller.rtp)
        heard = b"".join(audioop.ulaw2lin(p[12:], 2) for p in caller_rtp(caller, 50))
        assert power_at(heard, 1100) > 50 * power_at(heard, 440), "the caller does not hear the owner's tone"
        caller.request("BYE", to_tag=caller.to_tag)
        assert ctrl.wait_for("CALL_CLOSED", 10) is not None
        assert wait_until(lambda: bool(record.results)) and record.results[0].ok
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
