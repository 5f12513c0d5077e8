"""Voicemail recording: the caller's audio into an 8 kHz 16-bit mono WAV, with a silence detector.

The stream hands over decoded 20 ms frames in arrival order; nothing is padded from RTP timestamps,
so a hostile timestamp jump cannot make the recorder allocate. The file is bounded by the maximum
length: frames past it are ignored and `full` resolves. Recordings are 0600 in a 0700 directory.
"""

from __future__ import annotations

import array
import asyncio
import wave
from pathlib import Path

from ivr.system.private_files import open_private

SILENCE_PEAK = 600  # below this peak sample value a 20 ms frame counts as silence
FRAME_SECONDS = 0.02


class Recorder:
    def __init__(self, path: Path, max_length: float, silence_timeout: float) -> None:
        self.path = path
        self._file = open_private(path)  # a caller's voice: 0600 in a 0700 directory
        self._wav = wave.open(self._file, "wb")
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(8000)
        self._max_frames = int(max_length / FRAME_SECONDS)
        self._silence_frames_limit = max(1, int(silence_timeout / FRAME_SECONDS))
        self.frames = 0
        self.heard_voice = False
        self._silent_run = 0
        self.finished = asyncio.get_running_loop().create_future()  # result: "max-length" | "silence"

    @property
    def duration(self) -> float:
        return self.frames * FRAME_SECONDS

    def feed(self, pcm16: bytes) -> None:
        if self.finished.done() or self._wav is None:
            return
        self._wav.writeframesraw(pcm16)
        self.frames += 1
        samples = array.array("h", pcm16)
        peak = max(max(samples, default=0), -min(samples, default=0))
        if peak < SILENCE_PEAK:
            self._silent_run += 1
        else:
            self._silent_run = 0
            self.heard_voice = True
        if self.frames >= self._max_frames:
            self.finished.set_result("max-length")
        elif self._silent_run >= self._silence_frames_limit:
            self.finished.set_result("silence")

    def close(self) -> float:
        """Finish the file (header with the final length) and return its duration in seconds."""
        if self._wav is not None:
            self._wav.close()
            self._wav = None
            self._file.close()  # wave leaves a file object it did not open to its owner
        if not self.finished.done():
            self.finished.set_result("closed")
        return self.duration
