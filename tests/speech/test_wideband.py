"""HD calls heard at 16 kHz: a G.722 or Opus call's own wideband audio reaches a wideband recognizer, from the
RTP receive path through the VAD to Whisper; a plug-in recognizer that does not say it is wideband gets 8 kHz."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import pytest

from ivr.channels.sip.media import codecs
from ivr.channels.sip.media.stream import RtpStream
from ivr.channels.speech.pool import RecognitionPool
from ivr.channels.speech.recognizer import Expect, Heard, hears_wideband
from ivr.channels.speech.resample import to_16k
from ivr.channels.speech.vad import SpeechDetector

from .audio import frames, g722_bytes, hd_pcm, phone_pcm, spoken
from .test_recognizer import MENU

NUMBER = Expect(hints=("zero", "one"), digits=True, max_digits=15, min_digits=10)


def peak_hz(samples, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def test_16k_audio_passes_through_and_is_slowed_with_its_high_band():
    tone = (0.5 * np.sin(2 * np.pi * 6000 * np.arange(16000) / 16000)).astype(np.float32)  # above a phone's band
    assert np.array_equal(to_16k(tone, rate=16000), tone)
    slower = to_16k(tone, speed=0.8, rate=16000)
    assert len(slower) == 20000 and peak_hz(slower) == pytest.approx(4800, abs=5)  # every pitch 20% lower
    assert float(np.sqrt(np.mean(slower[200:-200] ** 2))) == pytest.approx(0.354, abs=0.01)  # not attenuated
    with pytest.raises(ValueError):
        to_16k(tone, rate=11025)


@pytest.mark.parametrize("name", ["g722", "opus"])
def test_a_wideband_stream_hands_the_listener_16k_audio_before_the_8k_frame(name):
    if name not in codecs.CODECS:
        pytest.skip("no libopus")
    codec = codecs.CODECS[name]
    stream = RtpStream(("127.0.0.1", 4000), codec.payload_type, 101, lambda d: None, codec=codec)
    got: list[tuple[str, int]] = []
    stream.sink = lambda pcm: got.append(("narrow", len(pcm)))
    voice = spoken("skype", rate=16000)[16000:16640]  # 20 ms of the word
    payload = g722_bytes(voice) if name == "g722" else codec.encode_prompt(voice)[0]
    packet = struct.pack("!BBHII", 0x80, codec.payload_type, 1, 160, 1234) + payload
    stream.datagram_received(packet, ("127.0.0.1", 4000))
    assert got == [("narrow", 320)]  # no wide sink: decoded at 8 kHz only
    stream.wide_sink = lambda pcm: got.append(("wide", len(pcm)))
    stream.datagram_received(packet, ("127.0.0.1", 4000))
    assert got[1:] == [("wide", 640), ("narrow", 320)]
    assert codecs.CODECS["pcmu"].new_wide_decoder is None  # G.711 has no wideband audio to give


def test_vad_hands_over_the_same_stretch_at_16k_only_when_every_frame_had_it():
    narrow = frames(b"\0" * 8000 + spoken("I need help with Skype"))
    wide = frames(b"\0" * 16000 + spoken("I need help with Skype", rate=16000), size=640)
    ended: list[tuple[bytes, bytes]] = []
    detector = SpeechDetector(lambda: None, lambda pcm, hd: ended.append((pcm, hd)), trailing_silence_ms=300)
    for pcm, hd in zip(narrow + frames(b"\0" * 16000), wide + frames(b"\0" * 32000, size=640)):
        detector.feed(pcm, hd)
    ((pcm, hd),) = ended
    assert len(hd) == 2 * len(pcm) > 16000
    gapped: list[bytes] = []
    detector = SpeechDetector(lambda: None, lambda pcm, hd: gapped.append(hd), trailing_silence_ms=300)
    for index, (pcm, hd) in enumerate(zip(narrow + frames(b"\0" * 16000), wide + frames(b"\0" * 32000, size=640))):
        detector.feed(pcm, b"" if index == 60 else hd)  # one frame came without its wide copy: 8 kHz only
    assert gapped == [b""]


def submit(pool: RecognitionPool, pcm: bytes, expect: Expect, rate: int):
    async def run():
        future = pool.submit(pcm, expect, rate)
        assert future is not None
        return await future

    return asyncio.run(run())


def test_whisper_hears_an_hd_call_at_16k(whisper):
    pool = RecognitionPool(whisper, workers=1)
    try:
        heard = submit(pool, hd_pcm("I need help with Skype", snr_db=20), MENU, 16000)
        assert "skype" in heard.text.lower() and heard.confidence > 0.5 and heard.detail["rate"] == 16000
        number = submit(pool, hd_pcm("two zero seven, nine four six, zero nine five eight"), NUMBER, 16000)
        assert number.text.replace(" ", "") == "2079460958", number.detail
        assert pool.wideband == 2
    finally:
        pool.close()


class EightKilohertzEngine:
    """A user's plug-in that knows nothing of wideband audio (a client of their own server)."""

    name = "theirs"
    multilingual = False

    def __init__(self) -> None:
        self.lengths: list[int] = []

    def transcribe(self, pcm: bytes, expect: Expect) -> Heard:
        self.lengths.append(len(pcm))
        return Heard("skype", 0.9)


def test_a_plug_in_that_is_not_wideband_gets_8k():
    engine = EightKilohertzEngine()
    assert not hears_wideband(engine)
    pool = RecognitionPool(engine, workers=1)
    try:
        pcm = phone_pcm("skype")
        assert submit(pool, pcm, MENU, 8000).detail["rate"] == 8000
        assert engine.lengths == [len(pcm)] and pool.wideband == 0
    finally:
        pool.close()


def test_pocketsphinx_hears_an_hd_call_at_16k():
    pytest.importorskip("pocketsphinx")
    from ivr.channels.speech.recognizer import load_recognizer

    sphinx = load_recognizer("pocketsphinx")
    assert hears_wideband(sphinx)
    phrases = ("skype support please", "operator")
    heard = [sphinx.transcribe(hd_pcm(phrase), MENU, rate=16000).text for phrase in phrases]
    assert "skype" in heard[0] and "operator" in heard[1], heard  # taken as 8 kHz, the same audio is garbage
