"""G.711 mu-law (PCMU, payload type 0) and A-law (PCMA, payload type 8) with precomputed tables.

We do not use aiortp's PCMA codec: it inverts the A-law sign bit (it encodes silence as 0x55 where
ITU-T G.711 and every peer use 0xD5), so our A-law bytes would not be real A-law. Tables are built
once from the ITU-T reference algorithm; encoding a prompt is one `bytes.translate`-free table
lookup per sample and happens once per prompt (see prompts.py), decoding is two `translate` passes.
"""

from __future__ import annotations

import array
import sys

PCMU = 0
PCMA = 8
SAMPLES_PER_FRAME = 160  # 20 ms at 8 kHz
SILENCE_BYTE = {PCMU: 0xFF, PCMA: 0xD5}


def _ulaw_encode(sample: int) -> int:
    value = sample >> 2  # G.711 mu-law works on 14-bit samples
    mask = 0x7F if value < 0 else 0xFF
    value = min(-value if value < 0 else value, 8159) + 0x21
    segment = max(0, value.bit_length() - 6)
    if segment > 7:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def _ulaw_decode(byte: int) -> int:
    byte = ~byte & 0xFF
    magnitude = ((((byte & 0x0F) << 3) + 0x84) << ((byte >> 4) & 0x07)) - 0x84
    return -magnitude if byte & 0x80 else magnitude


def _alaw_encode(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0  # A-law: bit 7 set for positive samples (before the 0x55 mask)
    magnitude = min(-sample - 1 if sample < 0 else sample, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


def _alaw_decode(byte: int) -> int:
    byte ^= 0x55
    exponent = (byte >> 4) & 0x07
    mantissa = byte & 0x0F
    magnitude = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if byte & 0x80 else -magnitude


def _tables(encode, decode) -> tuple[bytes, bytes, bytes]:
    """Encode table indexed by the unsigned 16-bit sample; decode split into low/high byte tables."""
    enc = bytes(encode(s - 65536 if s >= 32768 else s) for s in range(65536))
    dec = [decode(b) & 0xFFFF for b in range(256)]
    return enc, bytes(v & 0xFF for v in dec), bytes(v >> 8 for v in dec)


_TABLES = {PCMU: _tables(_ulaw_encode, _ulaw_decode), PCMA: _tables(_alaw_encode, _alaw_decode)}


def encode(pcm16: bytes, payload_type: int) -> bytes:
    """Signed 16-bit little-endian mono PCM -> G.711 bytes."""
    samples = array.array("H")
    samples.frombytes(pcm16[: len(pcm16) & ~1])
    if sys.byteorder == "big":
        samples.byteswap()
    table = _TABLES[payload_type][0]
    return bytes(map(table.__getitem__, samples))


def decode(payload: bytes, payload_type: int) -> bytes:
    """G.711 bytes -> signed 16-bit little-endian PCM (C-speed: two translate passes)."""
    _, low, high = _TABLES[payload_type]
    out = bytearray(len(payload) * 2)
    out[0::2] = payload.translate(low)
    out[1::2] = payload.translate(high)
    return bytes(out)
