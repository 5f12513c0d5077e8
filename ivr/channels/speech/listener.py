"""One gather's ears: VAD on the inbound audio, then one utterance to the recognition pool.

Wire-agnostic: a channel feeds it 20 ms frames of 8 kHz PCM (`feed`, on its media loop) and awaits `result`.
A wideband call also hands over each frame at 16 kHz just before it (`feed_wide`): a wideband recognizer then
gets the utterance at 16 kHz.
`on_speech_start` fires once when the VAD hears speech (a channel stops a barge-in prompt there). `result`
resolves to a `Heard`, or to None when the pool refused the utterance (saturated: keypad only for this turn).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .pool import RecognitionPool
from .recognizer import WIDE_SAMPLE_RATE, Expect, Heard
from .vad import SpeechDetector

log = logging.getLogger(__name__)


class Listener:
    def __init__(
        self,
        pool: RecognitionPool,
        expect: Expect,
        trailing_silence_ms: int,
        on_speech_start: Callable[[], None] | None = None,
    ) -> None:
        self.pool = pool
        self.expect = expect
        self.loop = asyncio.get_running_loop()
        self.result: asyncio.Future[Heard | None] = self.loop.create_future()
        self.refused = False
        self.speech_ended_at = 0.0  # loop time of the VAD's end-of-speech decision (latency benchmark)
        self._on_speech_start = on_speech_start
        self._wide = b""  # this frame at 16 kHz, until feed() takes it
        self._detector = SpeechDetector(self._started, self._ended, trailing_silence_ms=trailing_silence_ms)

    @property
    def speaking(self) -> bool:
        return self._detector.speaking

    def feed_wide(self, pcm16: bytes) -> None:
        self._wide = pcm16

    def feed(self, pcm: bytes) -> None:
        wide, self._wide = self._wide, b""
        self._detector.feed(pcm, wide)

    def _started(self) -> None:
        if self._on_speech_start is not None:
            self._on_speech_start()

    def _ended(self, pcm: bytes, wide: bytes) -> None:
        self.speech_ended_at = self.loop.time()
        future = self.pool.submit(wide, self.expect, WIDE_SAMPLE_RATE) if wide else self.pool.submit(pcm, self.expect)
        if future is None:
            self.refused = True
            self.result.set_result(None)
            return
        future.add_done_callback(self._recognized)

    def _recognized(self, future: asyncio.Future) -> None:
        if self.result.done():
            return
        if future.cancelled() or future.exception() is not None:
            log.warning("speech recognition failed: %s", None if future.cancelled() else future.exception())
            self.result.set_result(None)
        else:
            self.result.set_result(future.result())
