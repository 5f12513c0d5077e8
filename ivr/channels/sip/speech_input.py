"""Speech on SIP calls: a gather that listens as well as counting digits, and barge-in by voice.

`SpeechInput` is shared by every call of a SIP process: the recognition pool (bounded, off the media loop) and
the settings (the shipped engines decode in worker processes). For a Gather that accepts speech it makes a
`Listener` fed from the call's RTP (the stream's PCM sink, on the media loop: one webrtcvad call per 20 ms frame;
a G.722 or Opus call also feeds a wideband recognizer its 16 kHz audio, the stream's `wide_sink`).
Speech that starts during a barge-in prompt stops it.
The gather ends with the first of: digits (as before), a recognized utterance (Speech), or the timeout counted
from the end of the prompt (NoInput) unless the caller is speaking then, in which case it waits for the result.
A saturated pool refuses the utterance: the caller is asked to use the keypad and the digit gather goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from ivr.engine import actions as A
from ivr.engine import events as E
from ivr.engine.phrases import phrase

from ..speech.listener import Listener
from ..speech.pool import RecognitionPool
from ..speech.recognizer import Expect, hears_wideband, recognizer_factory, speaks

log = logging.getLogger(__name__)
RESULT_WAIT = 15.0  # seconds a finished utterance may take to recognize before the turn gives up on it


@dataclass
class SpeechInput:
    pool: RecognitionPool
    trailing_silence_ms: int = 700
    min_confidence: float = 0.3

    def listen(self, call, gather: A.Gather | None, language: str) -> Listener | None:
        """A listener fed from `call`'s audio, when `gather` accepts speech the recognizer can hear."""
        if gather is None or "speech" not in gather.input or not speaks(self.pool.recognizer, language):
            return None
        digits = bool(gather.hints) and set(gather.hints) <= DIGIT_WORDS
        expect = Expect(
            hints=gather.hints,
            digits=digits,
            max_digits=gather.max_digits if digits else 0,
            min_digits=gather.min_digits if digits else 0,
            language=language or "en",
        )
        listener = Listener(self.pool, expect, self.trailing_silence_ms, on_speech_start=lambda: _barge_in(call))
        call.stream.sink = listener.feed
        if hears_wideband(self.pool.recognizer) and call.stream.codec.new_wide_decoder is not None:
            call.stream.wide_sink = listener.feed_wide
        return listener

    def threshold(self, gather: A.Gather) -> float:
        return gather.min_confidence if gather.min_confidence >= 0 else self.min_confidence


def stop_listening(call) -> None:
    call.stream.sink = call.stream.wide_sink = None


def speech_from_settings(settings) -> SpeechInput | None:
    """The SIP process's speech input from Settings; None (DTMF only, logged) when off, not installed, or when the
    model does not load in the worker processes."""
    factory = recognizer_factory(settings.asr_engine, settings.asr_model)
    if factory is None:
        return None
    try:
        pool = RecognitionPool.processes(factory, workers=settings.asr_workers)
    except Exception as exc:  # a model that will not load (IVR_ASR_MODEL): the calls still run, with the keypad
        log.error(
            "speech recognition could not start (IVR_ASR_ENGINE=%s, IVR_ASR_MODEL=%r): %s; callers can use the keypad",
            settings.asr_engine,
            settings.asr_model,
            exc or type(exc).__name__,
        )
        return None
    log.info("speech recognition: %s, %d worker processes", pool.recognizer.name, pool.workers)
    return SpeechInput(pool, settings.asr_trailing_silence_ms, settings.asr_min_confidence)


DIGIT_WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def _barge_in(call) -> None:
    if getattr(call, "speech_barge_in", False):
        call.stream.stop_playback()


async def gather_with_speech(call, gather: A.Gather, listener: Listener, speech: SpeechInput) -> E.Event:
    """Digits, Speech or NoInput for `gather`, whichever the caller gives first."""
    digits = asyncio.ensure_future(
        call.gather(
            max_digits=gather.max_digits,
            timeout=gather.timeout,
            inter_digit_timeout=gather.inter_digit_timeout,
            finish_on_key=gather.finish_on_key,
            min_digits=gather.min_digits,
        )
    )
    try:
        await asyncio.wait({digits, listener.result}, return_when=asyncio.FIRST_COMPLETED)
        if digits.done() and (digits.result() or not listener.speaking):
            entered = digits.result()
            return E.Digits(digits=entered, at=time.time()) if entered else E.NoInput(at=time.time())
        digits.cancel()  # the caller speaks: the words decide this turn
        try:
            heard = await asyncio.wait_for(asyncio.shield(listener.result), RESULT_WAIT)
        except TimeoutError:
            return E.NoInput(at=time.time())
    finally:
        stop_listening(call)
        digits.cancel()
    if heard is None:  # refused (saturated) or failed: keypad only for this turn
        language = listener.expect.language
        await call.say(text=phrase("use_keypad", language), language=language, barge_in=True)
        return await gather_digits(call, gather)
    confident = heard.confidence >= speech.threshold(gather)
    return E.Speech(text=heard.text if confident else "", at=time.time(), confidence=heard.confidence)


async def gather_digits(call, gather: A.Gather) -> E.Event:
    """A Gather answered with the keypad only: Digits, or NoInput when none came."""
    entered = await call.gather(
        max_digits=gather.max_digits,
        timeout=gather.timeout,
        inter_digit_timeout=gather.inter_digit_timeout,
        finish_on_key=gather.finish_on_key,
        min_digits=gather.min_digits,
    )
    return E.Digits(digits=entered, at=time.time()) if entered else E.NoInput(at=time.time())
