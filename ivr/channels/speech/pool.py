"""Recognition off the media loop: a bounded pool of worker threads in front of one Recognizer.

CTranslate2 (Whisper) and pocketsphinx release the GIL while they decode, so threads decode in parallel and the
media loop, which only hands over a finished utterance, keeps its 20 ms pace. At most `workers` utterances decode
at once and `queue` more wait; past that `submit` refuses (returns None) and logs, and the caller goes on with
the keypad. A refused utterance never waits, so no call's audio is delayed by another call's speech.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from .matching import Match, match_digits, match_keywords
from .recognizer import Expect, Heard, Recognizer

log = logging.getLogger(__name__)


class RecognitionPool:
    def __init__(self, recognizer: Recognizer, workers: int = 2, queue: int | None = None) -> None:
        self.recognizer = recognizer
        self.workers = max(1, workers)
        self.limit = self.workers + (self.workers if queue is None else queue)
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="asr")
        self._lock = threading.Lock()
        self.pending = 0
        self.refused = 0
        self.recognized = 0

    def submit(self, pcm: bytes, expect: Expect) -> asyncio.Future | None:
        """Recognize `pcm` in a worker; None (refused, logged) when `limit` utterances are already in hand."""
        with self._lock:
            if self.pending >= self.limit:
                self.refused += 1
                refused = self.refused
                full = True
            else:
                self.pending += 1
                full = False
        if full:
            log.warning(
                "speech recognition saturated (%d in hand): utterance refused, keypad only (%d refused)",
                self.limit,
                refused,
            )
            return None
        future: Future = self._executor.submit(self._recognize, pcm, expect)
        return asyncio.wrap_future(future)

    def _recognize(self, pcm: bytes, expect: Expect) -> Heard:
        try:
            heard = self.recognizer.transcribe(pcm, expect)
            match = match_digits(heard.text) if expect.digits else match_keywords(heard.text, expect.hints)
            self.recognized += 1
            return _combine(heard, match)
        finally:
            with self._lock:
                self.pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _combine(heard: Heard, match: Match) -> Heard:
    """The text for the engine, and a confidence lowered when the match was only by sound."""
    confidence = heard.confidence * (match.score if match.score else 1.0)
    return Heard(match.text, round(confidence, 3), {**heard.detail, "heard": heard.text, "match": match.score})
