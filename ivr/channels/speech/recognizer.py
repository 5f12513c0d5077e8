"""The `Recognizer` interface: one utterance of 8 kHz PCM in, a transcript with a confidence out.

An engine is any object with `transcribe(pcm, expect) -> Heard` that is safe to call from worker threads (the
recognition pool calls it off the media loop; the shipped engines run in worker processes, built there by
`recognizer_factory`). We ship Whisper through faster-whisper (`whisper.py`) and
pocketsphinx (`sphinx.py`); a user can plug in another one (a Vosk or Whisper server on their own network) by
giving `SipServer` any such object. `load_recognizer` builds the one the settings name, or None (DTMF only)
when speech is off or the `speech` extra is not installed, which it logs once.

An engine that sets `wideband = True` is also called as `transcribe(pcm, expect, rate=16000)` with the 16 kHz
audio of a call whose codec carries it (G.722, Opus): an HD call is heard with the 4-7 kHz band a phone line
drops, where much of "five", "six" and "skype" lies. Both shipped engines do; an engine without the attribute
always gets 8 kHz.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from importlib import import_module
from typing import Protocol

log = logging.getLogger(__name__)
SAMPLE_RATE = 8000  # what the channel hands over: 16-bit little-endian mono, as decoded from G.711
WIDE_SAMPLE_RATE = 16000  # what a wideband engine gets from a G.722 or Opus call
ENGLISH = ("en", "en-us", "en-gb", "en-au", "en-ca", "en-in", "en-ie", "en-nz", "en-za")


@dataclass(frozen=True)
class Expect:
    """What the step listens for: its keywords (a menu) or digits (collect_digits), in the flow's language."""

    hints: tuple[str, ...] = ()
    digits: bool = False
    max_digits: int = 0  # collect_digits' max_digits (0: unknown): bounds what a digit decode may say
    min_digits: int = 0  # and its min_digits: a hypothesis with fewer digits is passed over if another has enough
    language: str = "en"


@dataclass(frozen=True)
class Heard:
    text: str
    confidence: float  # 0..1, calibrated per engine (docs/speech.md)
    detail: dict = field(default_factory=dict)  # engine-specific scores, for the log


class Recognizer(Protocol):
    name: str
    multilingual: bool

    def transcribe(self, pcm: bytes, expect: Expect) -> Heard: ...


class Described(Protocol):
    """A recognizer as the media side sees it (it may live in worker processes: pool.py)."""

    name: str
    multilingual: bool


def hears_wideband(recognizer: object) -> bool:
    """Whether `recognizer` takes 16 kHz audio (`wideband = True`, transcribe's `rate`)."""
    return bool(getattr(recognizer, "wideband", False))


def speaks(recognizer: Described | None, language: str) -> bool:
    """Whether `recognizer` can listen in `language` (an English-only model gets DTMF only elsewhere)."""
    if recognizer is None:
        return False
    return recognizer.multilingual or (language or "en").lower() in ENGLISH


_warned: set[str] = set()


def recognizer_factory(engine: str, model: str = "", threads: int = 1) -> Callable[[], Recognizer | None] | None:
    """A picklable factory of the recognizer `engine` names, for worker processes; None means DTMF only (logged
    once, as `load_recognizer` does, when the `speech` extra is missing)."""
    if engine == "off":
        return None
    if engine not in ("whisper", "pocketsphinx"):
        raise ValueError(f"IVR_ASR_ENGINE={engine!r}: use whisper, pocketsphinx or off")
    try:
        import_module("faster_whisper" if engine == "whisper" else "pocketsphinx")
        import_module("webrtcvad")
        import_module("jellyfish")
    except ImportError as exc:
        _warn_missing(engine, exc)
        return None
    return partial(load_recognizer, engine, model, threads)


def _warn_missing(engine: str, exc: ImportError) -> None:
    if engine not in _warned:
        _warned.add(engine)
        log.warning(
            "speech recognition is off: %s (install the extra: pip install 'ivr[speech]'); callers can use the keypad",
            exc,
        )


def load_recognizer(engine: str, model: str = "", threads: int = 1) -> Recognizer | None:
    """The recognizer `engine` names ("whisper", "pocketsphinx" or "off"); None means DTMF only."""
    if engine == "off":
        return None
    try:
        if engine == "pocketsphinx":
            from .sphinx import SphinxRecognizer

            return SphinxRecognizer(model)
        if engine == "whisper":
            from .whisper import WhisperRecognizer

            return WhisperRecognizer(model, threads=threads)
    except ImportError as exc:
        _warn_missing(engine, exc)
        return None
    raise ValueError(f"IVR_ASR_ENGINE={engine!r}: use whisper, pocketsphinx or off")
