"""baresip plays a WAV file as its microphone ("I need help with Skype") into the shipped flow: the SMS job appears.
Over G.722 or Opus (an HD call, baresip's own encoder) the words are heard at 16 kHz."""

from __future__ import annotations

import array
from pathlib import Path

import pytest

from ivr.store.calls import CallStore

from .baresip_peer import baresip, write_wav
from .test_sipp_flow import job_kinds
from .test_sipp_speech import pool, speech_ivr  # noqa: F401  (fixtures)

pytest.importorskip("faster_whisper")
from tests.speech.audio import hd_pcm, phone_pcm, silence, spoken  # noqa: E402

pytestmark = pytest.mark.slow  # a real baresip softphone, real recognition


def speaking_wav(path: Path) -> Path:
    return write_wav(path, silence(1.5) + phone_pcm("I need help with Skype") + silence(20))


def hd_speaking_wav(path: Path) -> Path:
    pcm = b"\0" * 48000 + hd_pcm("I need help with Skype") + b"\0" * 640000  # 1.5 s, the words, 20 s at 16 kHz
    return write_wav(path, pcm, rate=16000)


def opus_speaking_wav(path: Path) -> Path:
    """The words at 48 kHz, the same on both channels, as baresip's Opus wants its source."""
    mono = b"\0" * 144000 + spoken("I need help with Skype", rate=48000) + b"\0" * 1920000
    samples = memoryview(mono).cast("h")
    stereo = array.array("h", bytes(len(mono) * 2))
    stereo[0::2] = stereo[1::2] = array.array("h", samples)
    return write_wav(path, stereo.tobytes(), rate=48000, channels=2)


@pytest.mark.parametrize("codec", ["g711", "g722", "opus"])
def test_baresip_says_skype(speech_ivr, redis_conn, tmp_path, pool, codec):  # noqa: F811
    running = speech_ivr()
    before = pool.wideband
    if codec == "g722":
        phone = baresip(tmp_path, modules=("g722.so",), rate=16000, wav=hd_speaking_wav(tmp_path / "hd.wav"))
    elif codec == "opus":
        wav = opus_speaking_wav(tmp_path / "opus.wav")
        phone = baresip(tmp_path, modules=("opus.so",), rate=48000, channels=2, wav=wav)
    else:
        phone = baresip(tmp_path, wav=speaking_wav(tmp_path / "speaking.wav"))
    with phone as (ctrl, output):
        ctrl.send("dial", f"sip:ivr@127.0.0.1:{running.port}")
        assert ctrl.wait_for("CALL_ESTABLISHED", 10) is not None
        assert ctrl.wait_for("CALL_CLOSED", 40) is not None
    assert running.wait_idle()["live"] == 0
    assert pool.wideband == before + (codec != "g711")  # an HD call is heard at 16 kHz, a G.711 one at 8 kHz
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1, output()[-2000:]
    assert calls[0].path[-2:] == ["send_support_links", "goodbye"], calls[0].path
    assert job_kinds(redis_conn, calls[0].id) == ["sms"]
