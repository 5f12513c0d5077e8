"""Real wideband: G.722 and Opus prompts are encoded from a 16 kHz rendering (not 8 kHz audio upsampled), once per
codec, and shared between calls. A G.722 call's RTP, decoded by libg722 itself in its 16 kHz mode, carries the
prompt's energy above 4 kHz, which no narrowband rendering has."""

from __future__ import annotations

import array
import math

import G722
import numpy

from ivr.channels.prompt_audio import tts_key
from ivr.channels.sip.media import codecs, g722
from ivr.channels.sip.media.prompts import read_pcm, to_frames

from .apps import WELCOME, Recorded, menu_app
from .test_codecs import tone
from .test_media_calls import capture_rtp


def share_above_4k(pcm16: bytes, rate: int = 16000) -> float:
    """The fraction of the audio's energy above 4 kHz."""
    spectrum = numpy.abs(numpy.fft.rfft(numpy.frombuffer(pcm16, dtype="<i2").astype(float))) ** 2
    freqs = numpy.fft.rfftfreq(len(pcm16) // 2, 1 / rate)
    return float(spectrum[freqs > 4000].sum() / max(spectrum.sum(), 1e-9))


def wideband_decode(frames) -> bytes:
    decoder = G722.G722(16000, 64000, use_numpy=False)  # libg722's own 16 kHz decoder, not our 8 kHz one
    return b"".join(decoder.decode(frame).tobytes() for frame in frames)


def test_a_6_khz_tone_survives_g722_and_opus_prompts_but_not_an_8_khz_source():
    high = tone(6000, rate=16000)
    for name in ("g722", "opus"):
        assert codecs.CODECS[name].prompt_rate == 16000
    assert share_above_4k(wideband_decode(to_frames(high, codecs.CODECS["g722"], rate=16000))) > 0.8
    low_then_up = to_frames(tone(440), codecs.CODECS["g722"])  # a tone made at 8 kHz (a beep) still plays
    assert len(low_then_up) == 50 and share_above_4k(wideband_decode(low_then_up)) < 0.01
    opus_frames = codecs.opus.encode_frames(high, bitrate=32000)
    assert len(opus_frames) == 50  # 20 ms frames of 16 kHz input


def test_a_g722_calls_prompt_carries_energy_above_4_khz(start_server, uac_factory, tmp_path):
    running = start_server(menu_app(Recorded(), timeout=5))
    uac = uac_factory(running.port)
    ok = uac.call(codecs="9 101")
    assert "G722/8000" in ok["body"]
    silence = codecs.CODECS["g722"].silence
    # the welcome, and not yet the goodbye 5 s after it; its silence frames left out
    packets = [p for p in capture_rtp(uac.rtp, 6.0) if p[12:] != silence]
    assert {p[1] & 0x7F for p in packets} == {9}
    audio = wideband_decode(p[12:] for p in packets)
    samples = array.array("h", audio)
    assert len(packets) > 100 and math.sqrt(sum(x * x for x in samples) / len(samples)) > 300  # the whole prompt
    rendering = tmp_path / "data" / "prompts" / f"{tts_key(WELCOME)}-16k.wav"
    assert not rendering.with_name(f"{tts_key(WELCOME)}.wav").exists()  # no 8 kHz copy was needed
    reference = share_above_4k(read_pcm(rendering, 16000))
    assert reference > 0.01  # espeak's fricatives
    assert share_above_4k(audio) > 0.6 * reference, (share_above_4k(audio), reference)


def test_prompts_are_rendered_once_per_rate_and_encoded_once_per_codec(start_server, uac_factory, tmp_path):
    running = start_server(menu_app(Recorded(), timeout=30))  # the goodbye (another prompt) never comes
    offers = ("9 101", "9 101", "0 101")  # two G.722 calls share one rendering; PCMU needs the 8 kHz one
    uacs = [uac_factory(running.port) for _ in offers]
    for uac, offer in zip(uacs, offers):
        uac.call(codecs=offer)
        assert capture_rtp(uac.rtp, 5.0, count=10), "a call never played"
    assert running.server.prompts.renders == 2
    names = sorted(p.name for p in (tmp_path / "data" / "prompts").glob("*.wav"))
    assert len(names) == 2 and names[0][:64] == names[1][:64], names  # one key, two rates
    assert g722.FRAME_BYTES == 160
