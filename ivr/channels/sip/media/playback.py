"""A prompt being played on one RTP stream: its shared frames, how far it got, and when the caller heard it."""

from __future__ import annotations

import asyncio


class Playback:
    """A prompt being played on one stream; `done` resolves True when its last frame was sent."""

    __slots__ = ("frames", "index", "done", "heard")

    def __init__(self, frames: tuple[bytes, ...], done: asyncio.Future, heard: dict | None = None) -> None:
        self.frames = frames
        self.index = 0
        self.done = done
        self.heard = heard  # gets "started_at" (its first packet sent) and "ended_at" (last packet, or stopped)
