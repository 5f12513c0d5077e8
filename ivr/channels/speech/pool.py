"""Recognition off the media loop: a bounded pool of worker processes (or threads) in front of a Recognizer.

The shipped engines run in worker processes (`RecognitionPool.processes`, each loading its own model from a
picklable factory): more throughput than threads (BENCHMARKS.md, bench/speech.py pool), because feature extraction
and the matching hold the GIL, which the SIP process's media loop needs every 20 ms. A plug-in recognizer given as
an object (a client of a server on the user's network) runs in threads (`RecognitionPool(recognizer)`). Either
way at most `workers` utterances decode at once and `queue` more wait; past that `submit` refuses (returns None)
and logs, and the caller goes on with the keypad. A refused utterance never waits, so no call's audio is delayed
by another call's speech; and worker processes run at a lower priority (nice 10), so a saturated recognizer takes
only the CPU the media leaves.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

from .matching import Match, match_digits, match_keywords
from .recognizer import SAMPLE_RATE, Expect, Heard, Recognizer, hears_wideband

log = logging.getLogger(__name__)
WARM_UP_SECONDS = 120.0  # loading a model in each worker process
WORKER_NICENESS = 10  # decoding yields the CPU to the media loop: a busy recognizer must never make packets late


@dataclass(frozen=True)
class Known:
    """What the media side knows of a recognizer that lives in worker processes (recognizer.Described)."""

    name: str
    multilingual: bool
    wideband: bool = False


class RecognitionPool:
    def __init__(
        self,
        recognizer: Recognizer | Known,
        workers: int = 2,
        queue: int | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.workers = max(1, workers)
        self.limit = self.workers + (self.workers if queue is None else queue)
        self._executor = executor or ThreadPoolExecutor(self.workers, thread_name_prefix="asr")
        self._in_processes = executor is not None
        self._lock = threading.Lock()
        self.pending = 0
        self.refused = 0
        self.recognized = 0
        self.wideband = 0  # utterances submitted at 16 kHz (an HD call)

    @classmethod
    def processes(
        cls, factory: Callable[[], Recognizer | None], workers: int = 2, queue: int | None = None
    ) -> RecognitionPool:
        """A pool of `workers` processes, each building its recognizer with `factory` once (warmed up here)."""
        context = multiprocessing.get_context("spawn")  # never fork a process that runs an event loop and threads
        count = max(1, workers)
        executor = ProcessPoolExecutor(count, mp_context=context, initializer=_load, initargs=(factory,))
        warming = [executor.submit(_describe) for _ in range(count)]
        described = [future.result(WARM_UP_SECONDS) for future in warming][0]
        return cls(described, count, queue, executor)

    def submit(self, pcm: bytes, expect: Expect, rate: int = SAMPLE_RATE) -> asyncio.Future | None:
        """Recognize `pcm` (at `rate`: 16000 only for a wideband recognizer) in a worker; None (refused, logged)
        when `limit` utterances are already in hand."""
        with self._lock:
            full = self.pending >= self.limit
            if full:
                self.refused += 1
                refused = self.refused
            else:
                self.pending += 1
                self.wideband += rate != SAMPLE_RATE
        if full:
            log.warning(
                "speech recognition saturated (%d in hand): utterance refused, keypad only (%d refused)",
                self.limit,
                refused,
            )
            return None
        if self._in_processes:
            future: Future = self._executor.submit(_recognize_here, pcm, expect, rate)
        else:
            future = self._executor.submit(recognize, self.recognizer, pcm, expect, rate)  # type: ignore[arg-type]
        future.add_done_callback(self._done)
        return asyncio.wrap_future(future)

    def _done(self, future: Future) -> None:
        with self._lock:
            self.pending -= 1
            if not future.cancelled() and future.exception() is None:
                self.recognized += 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def recognize(recognizer: Recognizer, pcm: bytes, expect: Expect, rate: int = SAMPLE_RATE) -> Heard:
    """Transcribe, then match to what the step expects: the text the engine gets, with its confidence."""
    wide = {} if rate == SAMPLE_RATE else {"rate": rate}  # only a wideband engine is ever given 16 kHz
    heard = recognizer.transcribe(pcm, expect, **wide)
    match = match_digits(heard.text) if expect.digits else match_keywords(heard.text, expect.hints)
    return _combine(heard, match, rate)


def _combine(heard: Heard, match: Match, rate: int) -> Heard:
    """The text for the engine, and a confidence lowered when the match was only by sound."""
    confidence = heard.confidence * (match.score if match.score else 1.0)
    detail = {**heard.detail, "heard": heard.text, "match": match.score, "rate": rate}
    return Heard(match.text, round(confidence, 3), detail)


# --- in each worker process -----------------------------------------------------------------------------------
_recognizer: Recognizer | None = None


def _load(factory: Callable[[], Recognizer | None]) -> None:
    global _recognizer
    os.nice(WORKER_NICENESS)
    _recognizer = factory()


def _describe() -> Known:
    assert _recognizer is not None
    return Known(_recognizer.name, bool(_recognizer.multilingual), hears_wideband(_recognizer))


def _recognize_here(pcm: bytes, expect: Expect, rate: int) -> Heard:
    assert _recognizer is not None
    return recognize(_recognizer, pcm, expect, rate)
