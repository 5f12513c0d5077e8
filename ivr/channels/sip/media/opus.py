"""Opus (RFC 6716, RTP format RFC 7587) through `opuslib-next` (BSD), a ctypes binding to the system libopus.

Prompts are 8 kHz PCM; we feed the encoder 8 kHz input in 20 ms frames, so with the default bitrate (settings:
IVR_SIP_OPUS_BITRATE, 12 kbit/s) it sends narrowband Opus that survives poor links; a higher bitrate gives the
peer fuller audio from the same prompts. Every prompt is encoded once (one encoder per prompt, frames shared by
all calls); each call has one decoder, used only while something listens (the recorder, in-band DTMF).
The RTP clock is always 48 kHz (RFC 7587), so a 20 ms frame advances the timestamp by 960.
"""

from __future__ import annotations

from collections.abc import Callable

import opuslib_next

DEFAULT_PAYLOAD_TYPE = 111  # dynamic: the offer's number wins when we answer
RTP_CLOCK = 48000
TIMESTAMP_STEP = 960  # 20 ms at the 48 kHz RTP clock
LINEAR_RATE = 8000
FRAME_SAMPLES = 160  # 20 ms at 8 kHz
FMTP = "useinbandfec=1; maxplaybackrate=16000"
DEFAULT_BITRATE = 12000


def _encoder(bitrate: int) -> opuslib_next.Encoder:
    encoder = opuslib_next.Encoder(LINEAR_RATE, 1, opuslib_next.APPLICATION_VOIP)
    encoder.bitrate = bitrate
    encoder.inband_fec = True
    return encoder


def encode_frames(pcm16: bytes, bitrate: int = DEFAULT_BITRATE) -> tuple[bytes, ...]:
    """20 ms Opus packets for a whole prompt; the last frame is padded with silence."""
    size = FRAME_SAMPLES * 2
    pcm16 = pcm16[: len(pcm16) & ~1]
    pcm16 += bytes((-len(pcm16)) % size)
    encoder = _encoder(bitrate)
    return tuple(encoder.encode(pcm16[i : i + size], FRAME_SAMPLES) for i in range(0, len(pcm16), size))


def silence_frame(bitrate: int = DEFAULT_BITRATE) -> bytes:
    return encode_frames(bytes(FRAME_SAMPLES * 2), bitrate)[0]


def new_decoder() -> Callable[[bytes], bytes]:
    """One call's decoder to 8 kHz PCM (libopus resamples internally)."""
    decoder = opuslib_next.Decoder(LINEAR_RATE, 1)

    def decode(payload: bytes) -> bytes:
        return decoder.decode(payload, FRAME_SAMPLES * 6)  # up to 120 ms in one packet

    return decode
