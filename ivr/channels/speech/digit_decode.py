"""Spoken numbers through Whisper: a beam search over the digit words, with timestamps, cut at the audio's end.

What made Whisper tiny.en write the digits said, measured on bench/speech.py's 10-digit numbers (BENCHMARKS.md):
- no initial prompt: a prompt listing "zero, one, two, ..." made it skip the number's first group;
- timestamps on: each stretch of words then has a time, and what the decoder places after the utterance's end
  is it looping on the number ("... zero nine five eight, nine four"), not something said: dropped;
- a beam of 8 and its 8 hypotheses: the first whose count of digits lies within the step's min_digits to
  max_digits is taken (a merged "five five five" is often whole in another one);
- then, as the keypad does, at most max_digits digits.
"""

from __future__ import annotations

from .matching import spoken_digits

BEAM = 8
END_MARGIN = 0.2  # seconds: a stretch starting this close to the end of the audio is past what was said
SECONDS_PER_TIMESTAMP = 0.02
TOKENS_PER_DIGIT = 2  # the digit word and its comma
TIMESTAMP_TOKENS = 10  # room for a few timestamped stretches


def said(ids: list[int], timestamp_begin: int, seconds: float) -> list[int]:
    """The text tokens of `ids` whose stretch starts before the audio's end (timestamp tokens dropped)."""
    kept, start = [], 0.0
    for token in ids:
        if token >= timestamp_begin:
            start = (token - timestamp_begin) * SECONDS_PER_TIMESTAMP
        elif start <= seconds - END_MARGIN:
            kept.append(token)
    return kept


def pick(hypotheses: list[str], min_digits: int, max_digits: int) -> int:
    """The index of the first hypothesis with an acceptable count of digits, else 0 (the beam's best)."""
    for index, text in enumerate(hypotheses):
        count = len(spoken_digits(text))
        if count >= max(1, min_digits) and (not max_digits or count <= max_digits):
            return index
    return 0


def at_most(text: str, max_digits: int) -> str:
    """`text` as spaced digits, at most `max_digits` of them (0: all)."""
    digits = spoken_digits(text)
    return " ".join(digits[:max_digits] if max_digits else digits)


def length_limit(max_digits: int, seconds: float) -> int:
    expected = max_digits or int(3 * seconds) + 1  # nobody says more than about three digits a second
    return TOKENS_PER_DIGIT * expected + TIMESTAMP_TOKENS
