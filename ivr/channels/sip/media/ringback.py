"""What a caller hears while a bridged transfer rings: a ringback tone, hold music, or a flow's audio file, looped.

The tone is the ITU-T E.180 European ringing tone (425 Hz, 1 s on, 4 s off); the music is a soft arpeggio made
here (no bundled recording, nothing to license). Both are encoded once per codec and shared by every call;
an audio file comes from the PromptLibrary like any prompt. `Ringback` keeps a stream playing until stopped.
"""

from __future__ import annotations

import asyncio
import math
import struct
from functools import lru_cache

from .codecs import Codec
from .prompts import to_frames

RATE = 8000
TONE_HZ, TONE_ON, TONE_OFF = 425.0, 1.0, 4.0
MUSIC_NOTES = (261.63, 329.63, 392.0, 523.25, 392.0, 329.63)  # C major arpeggio, up and down
NOTE_SECONDS = 0.4


def _sine(frequency: float, seconds: float, level: float) -> list[int]:
    count = int(RATE * seconds)
    fade = min(count // 4, 400)  # short fades: no clicks between notes
    samples = []
    for n in range(count):
        envelope = min(1.0, n / fade, (count - n) / fade) if fade else 1.0
        samples.append(int(level * envelope * math.sin(2 * math.pi * frequency * n / RATE)))
    return samples


def _pcm(samples: list[int]) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


@lru_cache(maxsize=2)
def sound_pcm(kind: str) -> bytes:
    """One period of the "tone" or the "music" as 8 kHz 16-bit mono PCM (Twilio's queue plays it as a WAV)."""
    if kind == "tone":
        return _pcm(_sine(TONE_HZ, TONE_ON, 6000) + [0] * int(RATE * TONE_OFF))
    samples: list[int] = []
    for note in MUSIC_NOTES:
        samples += [a + b for a, b in zip(_sine(note, NOTE_SECONDS, 3500), _sine(note * 2, NOTE_SECONDS, 800))]
    return _pcm(samples)


@lru_cache(maxsize=4)
def tone_frames(codec: Codec | int) -> tuple[bytes, ...]:
    return to_frames(sound_pcm("tone"), codec)


@lru_cache(maxsize=4)
def music_frames(codec: Codec | int) -> tuple[bytes, ...]:
    return to_frames(sound_pcm("music"), codec)


class Ringback:
    """Loops `frames` on `stream` until `stop()` (the target answered, or the transfer is over)."""

    def __init__(self, stream, frames: tuple[bytes, ...]) -> None:
        self.stream = stream
        self.frames = frames
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="ringback")

    async def _loop(self) -> None:
        while await self.stream.play(self.frames):
            pass  # play() resolves False once stopped (barge-in, bridge start, hang-up)

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.stream.stop_playback()


async def ringback_frames(kind: str, codec: Codec | int, prompts) -> tuple[bytes, ...]:
    """The frames for a transfer's `ringback` in the caller's codec (a Codec; a static payload type also does):
    "tone", "music", or an audio file of the flow (via `prompts`)."""
    if kind == "music":
        return music_frames(codec)
    if kind in ("tone", ""):
        return tone_frames(codec)
    try:
        return await prompts.frames(codec, audio=kind)
    except Exception:  # noqa: BLE001 - an unreadable file must not leave the caller in silence
        return tone_frames(codec)
