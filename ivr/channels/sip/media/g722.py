"""G.722 (RTP payload type 9) through the `G722` package (sippy/libg722, public domain, C).

Prompts are encoded from 16 kHz PCM in libg722's wideband mode, so a G.722 caller hears the full 50-7,000 Hz band
the prompt was rendered with (prompt_audio.py renders a 16 kHz copy for it). Received audio is decoded in the 8 kHz
mode (the lower sub-band only): the recorder and the DTMF detector work on 8 kHz PCM. While a wideband
recognizer listens, a second decoder in the 16 kHz mode gives it the whole band (`new_decoder(WIDE_RATE)`).
The bitstream is plain 64 kbit/s G.722 either way. The RTP clock of G.722 is 8,000 Hz by RFC 3551's historical
error, so a 20 ms frame is 160 bytes and advances the timestamp by 160, as G.711 does.
"""

from __future__ import annotations

import array
from collections.abc import Callable

import G722

PAYLOAD_TYPE = 9
FRAME_BYTES = 160  # 20 ms at 64 kbit/s
BIT_RATE = 64000
PROMPT_RATE = 16000  # what prompts are encoded from: wideband
DECODED_RATE = 8000  # what received audio is decoded to
WIDE_RATE = 16000  # what it is decoded to for a wideband recognizer (speech)


def _samples(pcm16: bytes) -> array.array:
    samples = array.array("h")
    samples.frombytes(pcm16[: len(pcm16) & ~1])
    return samples


def encode(pcm16: bytes, rate: int = PROMPT_RATE) -> bytes:
    """A whole prompt (PCM16 at `rate`: 16000, or 8000 for narrowband input) in one C call, with an encoder of
    its own (the bitstream is adaptive)."""
    return G722.G722(rate, BIT_RATE).encode(_samples(pcm16))


def new_decoder(rate: int = DECODED_RATE) -> Callable[[bytes], bytes]:
    """One call's decoder to PCM16 at `rate`: G.722 is ADPCM, so the state carries from packet to packet."""
    codec = G722.G722(rate, BIT_RATE, use_numpy=False)

    def decode(payload: bytes) -> bytes:
        return codec.decode(payload).tobytes()

    return decode
