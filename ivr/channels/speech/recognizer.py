"""The `Recognizer` interface: one utterance of 8 kHz PCM in, a transcript with a confidence out.

An engine is any object with `transcribe(pcm, expect) -> Heard` that is safe to call from worker threads (the
recognition pool calls it off the media loop). We ship Whisper through faster-whisper (`whisper.py`) and
pocketsphinx (`sphinx.py`); a user can plug in another one (a Vosk or Whisper server on their own network) by
giving `SipServer` any such object. `load_recognizer` builds the one the settings name, or None (DTMF only)
when speech is off or the `speech` extra is not installed, which it logs once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)
SAMPLE_RATE = 8000  # what the channel hands over: 16-bit little-endian mono, as decoded from G.711
ENGLISH = ("en", "en-us", "en-gb", "en-au", "en-ca", "en-in", "en-ie", "en-nz", "en-za")


@dataclass(frozen=True)
class Expect:
    """What the step listens for: its keywords (a menu) or digits (collect_digits), in the flow's language."""

    hints: tuple[str, ...] = ()
    digits: bool = False
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


def speaks(recognizer: Recognizer | None, language: str) -> bool:
    """Whether `recognizer` can listen in `language` (an English-only model gets DTMF only elsewhere)."""
    if recognizer is None:
        return False
    return recognizer.multilingual or (language or "en").lower() in ENGLISH


_warned: set[str] = set()


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
        if engine not in _warned:
            _warned.add(engine)
            log.warning(
                "speech recognition is off: %s (install the extra: pip install 'ivr[speech]'); "
                "callers can use the keypad",
                exc,
            )
        return None
    raise ValueError(f"IVR_ASR_ENGINE={engine!r}: use whisper, pocketsphinx or off")
