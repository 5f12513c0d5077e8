"""DTMF from all three sources: RFC 2833/4733 events, SIP INFO bodies and in-band tones (Goertzel).

RFC 2833: every packet of one key press carries the same RTP timestamp, so the digit is reported on
the first packet seen of a new (timestamp, event), whichever packet of the event that is: losing the
first packet (or the marker) never loses the digit, and the redundant end packets never repeat it.
A press replayed with the very same timestamp (SIPp replays a capture) is told apart by a start
packet that follows the end of the previous one. Events 16 and above (flash, tones) are ignored.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable

EVENT_DIGITS = "0123456789*#ABCD"
DIGIT_CHARS = frozenset(EVENT_DIGITS)


class Rfc2833Receiver:
    HISTORY = 8  # recent events remembered, so late redundant packets of an older press are not new digits

    def __init__(self, on_digit: Callable[[str], None]) -> None:
        self._on_digit = on_digit
        self._events: dict[tuple[int, int], int] = {}  # (timestamp, event) -> end duration (-1: not ended)

    def feed(self, timestamp: int, payload: bytes) -> None:
        if len(payload) < 4:
            return
        event, ended, duration = payload[0], bool(payload[1] & 0x80), int.from_bytes(payload[2:4], "big")
        key = (timestamp, event)
        end_duration = self._events.get(key)
        if end_duration is None or (not ended and 0 <= duration < end_duration):
            self._events.pop(key, None)
            self._events[key] = -1
            while len(self._events) > self.HISTORY:
                del self._events[next(iter(self._events))]
            if event < 16:
                self._on_digit(EVENT_DIGITS[event])
        if ended:
            self._events[key] = max(duration, 1)


_INFO_SIGNAL = re.compile(r"^\s*signal\s*=\s*(\S)", re.IGNORECASE | re.MULTILINE)


def parse_info_digit(content_type: str, body: str) -> str | None:
    """The digit in a SIP INFO body (`application/dtmf-relay` `Signal=5`, or `application/dtmf` `5`)."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/dtmf-relay":
        match = _INFO_SIGNAL.search(body)
        digit = match.group(1).upper() if match else None
    elif kind == "application/dtmf":
        text = body.strip()
        digit = EVENT_DIGITS[int(text)] if text.isdigit() and int(text) < 16 else text.upper()[:1]
    else:
        return None
    return digit if digit in DIGIT_CHARS else None


_LOW = (697.0, 770.0, 852.0, 941.0)
_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYPAD = ("123A", "456B", "789C", "*0#D")


class GoertzelDetector:
    """In-band DTMF: Goertzel power at the 8 DTMF frequencies over 20 ms blocks of 8 kHz audio.

    A digit is reported once when two consecutive blocks show the same low+high pair clearly above
    the other tones and a minimum energy; it can repeat only after a block without that tone.
    """

    BLOCK = 160

    def __init__(self, on_digit: Callable[[str], None], rate: int = 8000) -> None:
        self._on_digit = on_digit
        self._coeffs = [2.0 * math.cos(2.0 * math.pi * f / rate) for f in _LOW + _HIGH]
        self._candidate: str | None = None
        self._reported: str | None = None

    def feed(self, pcm16: bytes) -> None:
        """Feed one block of 160 samples (signed 16-bit little-endian); shorter blocks are ignored."""
        if len(pcm16) < 2 * self.BLOCK:
            return
        samples = struct.unpack_from(f"<{self.BLOCK}h", pcm16)
        digit = self._classify(samples)
        if digit is None:
            self._candidate = self._reported = None
            return
        if digit == self._candidate and digit != self._reported:
            self._reported = digit
            self._on_digit(digit)
        self._candidate = digit

    def _classify(self, samples) -> str | None:
        energy = sum(s * s for s in samples)
        if energy < self.BLOCK * 300.0**2:  # quieter than about -40 dBFS: no tone
            return None
        powers = []
        for coeff in self._coeffs:
            s1 = s2 = 0.0
            for x in samples:
                s1, s2 = x + coeff * s1 - s2, s1
            powers.append(s1 * s1 + s2 * s2 - coeff * s1 * s2)
        low, high = powers[:4], powers[4:]
        li, hi = max(range(4), key=low.__getitem__), max(range(4), key=high.__getitem__)
        # Both tones must dominate their group and carry most of the block's energy
        if sorted(low)[-2] * 6 > low[li] or sorted(high)[-2] * 6 > high[hi]:
            return None
        if (low[li] + high[hi]) * 2.0 / self.BLOCK < energy * 0.5:
            return None
        return _KEYPAD[li][hi]


def tone_pcm(digit: str, duration: float = 0.1, rate: int = 8000, amplitude: int = 8000) -> bytes:
    """A DTMF tone as 16-bit PCM (used by tests and the benchmark's in-band caller)."""
    row = next(i for i, r in enumerate(_KEYPAD) if digit in r)
    col = _KEYPAD[row].index(digit)
    f1, f2 = _LOW[row], _HIGH[col]
    n = int(duration * rate)
    return struct.pack(
        f"<{n}h",
        *(
            int(amplitude * (math.sin(2 * math.pi * f1 * t / rate) + math.sin(2 * math.pi * f2 * t / rate)) / 2)
            for t in range(n)
        ),
    )
