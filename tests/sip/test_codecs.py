"""The codec table: G.722 and Opus from their C libraries encode a prompt once and decode back to the same tone;
payload types and clocks as the RFCs say; the offer's codec order and dynamic payload type win."""

from __future__ import annotations

import array
import math
from types import SimpleNamespace

import pytest

from ivr.channels.sip.media import codecs


def tone(freq: float, seconds: float = 1.0, rate: int = 8000, amplitude: int = 8000) -> bytes:
    return array.array(
        "h", (int(amplitude * math.sin(2 * math.pi * freq * n / rate)) for n in range(int(rate * seconds)))
    ).tobytes()


def power_at(pcm16: bytes, freq: float, rate: int = 8000) -> float:
    samples = array.array("h", pcm16)
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / max(1, len(samples)) ** 2


@pytest.mark.parametrize("name", ["pcmu", "pcma", "g722", "opus"])
def test_a_prompt_survives_encoding_and_decoding(name):
    codec = codecs.CODECS[name]
    frames = codec.encode_prompt(tone(440, rate=codec.prompt_rate))  # G.722 and Opus: from 16 kHz
    assert len(frames) == 50  # one second = fifty 20 ms frames
    decode = codec.new_decoder()
    decoded = b"".join(decode(frame) for frame in frames)
    assert len(decoded) == 16000  # 8 kHz PCM16 back, whatever the codec
    steady = decoded[3200:]  # past the adaptive codecs' start-up
    assert power_at(steady, 440) > 50 * power_at(steady, 1300), name
    assert power_at(steady, 440) > 0.1 * power_at(tone(440)[3200:], 440), name


@pytest.mark.parametrize("name", ["pcmu", "pcma", "g722", "opus"])
def test_silence_decodes_to_silence(name):
    codec = codecs.CODECS[name]
    decoded = array.array("h", codec.new_decoder()(codec.silence))
    assert max(abs(x) for x in decoded) < 64, name


def test_rfc_numbers():
    assert (codecs.CODECS["g722"].payload_type, codecs.CODECS["g722"].clock_rate) == (9, 8000)
    assert codecs.CODECS["g722"].timestamp_step == 160  # RFC 3551: G.722's RTP clock is 8 kHz
    opus = codecs.CODECS["opus"]
    assert (opus.rtpmap, opus.timestamp_step) == ("opus/48000/2", 960)  # RFC 7587


def offered(*items):
    return [SimpleNamespace(payload_type=pt, encoding_name=name, clock_rate=rate) for pt, name, rate in items]


def test_choose_keeps_the_offer_order_and_its_dynamic_payload_type():
    offer = offered((96, "opus", 48000), (9, "G722", 8000), (0, "PCMU", 8000), (101, "telephone-event", 8000))
    assert codecs.choose(offer, ["pcmu", "g722", "opus"]) == (codecs.CODECS["opus"], 96)
    assert codecs.choose(offer, ["pcmu", "g722"]) == (codecs.CODECS["g722"], 9)
    assert codecs.choose(offered((0, "", 0)), ["pcmu"]) == (codecs.CODECS["pcmu"], 0)  # static, no rtpmap
    assert codecs.choose(offered((97, "opus", 16000)), ["opus"]) is None  # a wrong clock is not Opus
    assert codecs.choose(offer, ["pcma"]) is None


def test_codec_names_are_checked():
    assert codecs.parse_names(" PCMU, g722 ") == ["pcmu", "g722"]
    with pytest.raises(ValueError, match="unknown codec 'g729'"):
        codecs.parse_names("pcmu,g729")


def test_the_opus_bitrate_setting_changes_the_packets():
    low = codecs.opus.encode_frames(tone(440, rate=16000), bitrate=8000)
    high = codecs.opus.encode_frames(tone(440, rate=16000), bitrate=32000)
    assert sum(map(len, low)) < sum(map(len, high))
    assert sum(map(len, low)) * 8 <= 10_000  # about 8 kbit/s for one second
