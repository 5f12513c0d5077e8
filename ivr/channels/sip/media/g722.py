"""G.722 (RTP payload type 9) through the `G722` package (sippy/libg722, public domain, C).

We run libg722 in its 8 kHz linear mode: prompts, the recorder and the DTMF detector all work on 8 kHz PCM, and
the bitstream is plain 64 kbit/s G.722 that every wideband terminal decodes. The RTP clock of G.722 is 8,000 Hz
by RFC 3551's historical error, so a 20 ms frame is 160 bytes and advances the timestamp by 160, as G.711 does.
"""

from __future__ import annotations

import array
from collections.abc import Callable

import G722

PAYLOAD_TYPE = 9
FRAME_BYTES = 160  # 20 ms at 64 kbit/s
BIT_RATE = 64000
LINEAR_RATE = 8000


def _samples(pcm16: bytes) -> array.array:
    samples = array.array("h")
    samples.frombytes(pcm16[: len(pcm16) & ~1])
    return samples


def encode(pcm16: bytes) -> bytes:
    """A whole prompt in one C call, with an encoder of its own (the bitstream is adaptive)."""
    return G722.G722(LINEAR_RATE, BIT_RATE).encode(_samples(pcm16))


def new_decoder() -> Callable[[bytes], bytes]:
    """One call's decoder: G.722 is ADPCM, so the state carries from packet to packet."""
    codec = G722.G722(LINEAR_RATE, BIT_RATE, use_numpy=False)

    def decode(payload: bytes) -> bytes:
        return codec.decode(payload).tobytes()

    return decode
