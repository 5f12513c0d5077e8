"""A bridged call's recording: both legs mixed into one 8 kHz 16-bit mono WAV, written as the audio is relayed.

Each relay direction hands over its payloads (`feed(side, payload, payload_type)`); frames are decoded (G.711 by
payload type, or by one decoder per side for a G.722 or Opus bridge) and
queued per side and written as the sum of one frame of each (clipped to 16 bits). A side that has gone quiet (no
packets: the peer sends nothing during silence, or hung up) holds nothing back: once the other side is
`MAX_LEAD` frames ahead, its frames are written alone. Bounded like voicemail: at most `max_length` seconds.
The file is 0600 in a 0700 directory (a caller's voice).
"""

from __future__ import annotations

import array
import sys
import wave
from collections import deque
from pathlib import Path

from ivr.system.private_files import open_private

from . import g711

FRAME_SECONDS = 0.02
MAX_LEAD = 5  # frames one side may run ahead of a silent other side before it is written alone


def _samples(pcm16: bytes) -> array.array:
    samples = array.array("h")
    samples.frombytes(pcm16)
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


class BridgeMixer:
    def __init__(self, path: Path, max_length: float = 3600.0, decoders=None) -> None:
        """`decoders`: one payload -> 8 kHz PCM function per side (codecs.Codec.new_decoder()), else G.711."""
        self.path = path
        self._decoders = decoders
        self._file = open_private(path)
        wav = wave.open(self._file, "wb")  # noqa: SIM115 - open as long as the bridge; close() ends it
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        self._wav: wave.Wave_write | None = wav
        self._sides: tuple[deque[bytes], deque[bytes]] = (deque(), deque())
        self._max_frames = int(max_length / FRAME_SECONDS)
        self.frames = 0

    @property
    def duration(self) -> float:
        return self.frames * FRAME_SECONDS

    def feed(self, side: int, payload: bytes, payload_type: int) -> None:
        if self._wav is None or self.frames >= self._max_frames:
            return
        pcm = self._decoders[side](payload) if self._decoders else g711.decode(payload, payload_type)
        self._sides[side].append(pcm)
        mine, other = self._sides[side], self._sides[1 - side]
        while mine and other:
            self._write(self._mix(mine.popleft(), other.popleft()))
        while len(mine) > MAX_LEAD:
            self._write(mine.popleft())

    @staticmethod
    def _mix(first: bytes, second: bytes) -> bytes:
        a, b = _samples(first), _samples(second)
        if len(a) < len(b):
            a, b = b, a
        mixed = array.array("h", (max(-32768, min(32767, x + y)) for x, y in zip(a, b)))
        mixed.extend(a[len(b) :])
        if sys.byteorder == "big":
            mixed.byteswap()
        return mixed.tobytes()

    def _write(self, pcm16: bytes) -> None:
        if self._wav is not None and self.frames < self._max_frames:
            self._wav.writeframes(pcm16)
            self.frames += 1

    def close(self) -> float:
        """Write what is left and close the file; returns the duration in seconds."""
        if self._wav is not None:
            for side in self._sides:
                while side:
                    self._write(side.popleft())
            self._wav.close()
            self._file.close()
            self._wav = None
        return self.duration
