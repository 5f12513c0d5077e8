"""Opus (RFC 6716, RTP format RFC 7587) through `opuslib-next` (BSD), a ctypes binding to the system libopus.

Prompts are fed to the encoder as 16 kHz PCM in 20 ms frames (prompt_audio.py renders a 16 kHz copy), so libopus
picks the band the bitrate allows (settings: IVR_SIP_OPUS_BITRATE): at the default 12 kbit/s a narrow or medium
band that survives poor links, at 24 kbit/s and more the full wideband. Every prompt is encoded once (one encoder
per prompt, frames shared by all calls); each call has one decoder to 8 kHz, used only while something listens
(the recorder, in-band DTMF), and one to 16 kHz while a wideband recognizer listens (`new_decoder(WIDE_RATE)`).
The RTP clock is always 48 kHz (RFC 7587), so a 20 ms frame advances the timestamp by 960.
"""

from __future__ import annotations

from collections.abc import Callable

import opuslib_next

DEFAULT_PAYLOAD_TYPE = 111  # dynamic: the offer's number wins when we answer
RTP_CLOCK = 48000
TIMESTAMP_STEP = 960  # 20 ms at the 48 kHz RTP clock
PROMPT_RATE = 16000  # what prompts are encoded from
DECODED_RATE = 8000  # what received audio is decoded to
WIDE_RATE = 16000  # what it is decoded to for a wideband recognizer (speech)
FMTP = "useinbandfec=1; maxplaybackrate=16000"
DEFAULT_BITRATE = 12000


def _encoder(bitrate: int, rate: int) -> opuslib_next.Encoder:
    encoder = opuslib_next.Encoder(rate, 1, opuslib_next.APPLICATION_VOIP)
    encoder.bitrate = bitrate
    encoder.inband_fec = True
    return encoder


def encode_frames(pcm16: bytes, bitrate: int = DEFAULT_BITRATE, rate: int = PROMPT_RATE) -> tuple[bytes, ...]:
    """20 ms Opus packets for a whole prompt (PCM16 at `rate`); the last frame is padded with silence."""
    samples = rate // 50
    size = samples * 2
    pcm16 = pcm16[: len(pcm16) & ~1]
    pcm16 += bytes((-len(pcm16)) % size)
    encoder = _encoder(bitrate, rate)
    return tuple(encoder.encode(pcm16[i : i + size], samples) for i in range(0, len(pcm16), size))


def silence_frame(bitrate: int = DEFAULT_BITRATE) -> bytes:
    return encode_frames(bytes(PROMPT_RATE // 50 * 2), bitrate)[0]


def new_decoder(rate: int = DECODED_RATE) -> Callable[[bytes], bytes]:
    """One call's decoder to PCM16 at `rate` (libopus resamples internally)."""
    decoder = opuslib_next.Decoder(rate, 1)
    most = rate // 50 * 6  # samples: up to 120 ms in one packet

    def decode(payload: bytes) -> bytes:
        return decoder.decode(payload, most)

    return decode
