"""Closed-set decoding for Whisper: a step's grammar as a token vocabulary, and the test that rejects garbage.

A menu or a digit collection expects a closed set of words, so after Whisper's free transcript (its best guess at
any English) we decode the same encoder output a second time allowed only the step's words: the keywords and a
small set of filler words callers wrap them in ("I need", "please") for a menu, the digit words for collect_digits.
Every other token is suppressed, which makes the decoder a grammar. The free transcript is the garbage model: the
grammar's transcript is accepted only when its log-probability is at least `MARGIN` above the free one's (the
audio is better explained by the step's words than by anything else the model could say) and it covers at least
`MIN_COVERAGE` of the free transcript's tokens (a grammar path that stops early explains only part of the audio).
Both figures were chosen on the tuning half of bench/speech.py's corpus (docs/speech.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_FILLER_TEXT = (  # what callers wrap a choice in ("I need ... please"); the grammar's garbage words
    "i i'd i'm need want would like to a an the please with my me can could you talk speak get some someone for of "
    "and uh um yes hi hello oh ok okay just is it it's on in about send give have do let thanks thank hey"
)
FILLERS = tuple(_FILLER_TEXT.split(" "))
_DIGIT_TEXT = "zero oh one two three four five six seven eight nine double triple"
DIGIT_WORDS = tuple(_DIGIT_TEXT.split(" "))
PUNCTUATION = (",", ".", "?", "!")
MARGIN = 0.5  # nats: the grammar path must beat the free transcript by this much in total log-probability
MIN_COVERAGE = 0.5  # grammar tokens / free tokens


@dataclass(frozen=True)
class Decoded:
    text: str
    tokens: int
    logprob: float  # total over the tokens, end of text included (CTranslate2's length-normalised score x length)
    no_speech: float


def spellings(word: str) -> tuple[str, ...]:
    """How a word can appear in Whisper's byte-pair tokens: with or without its leading space, capitalised or not."""
    return (word, " " + word, word.capitalize(), " " + word.capitalize())


def suppressed(encode, vocabulary_size: int, words: tuple[str, ...], always: set[int]) -> list[int]:
    """Every token id except those spelling `words`, punctuation and `always` (end of text)."""
    allowed = set(always)
    for word in words:
        for spelling in spellings(word):
            allowed.update(encode(spelling))
    for mark in PUNCTUATION:
        allowed.update(encode(mark))
    return [token for token in range(vocabulary_size) if token not in allowed]


def menu_words(hints: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({word for hint in hints for word in hint.lower().split()} | set(FILLERS)))


def accept(free: Decoded, grammar: Decoded) -> float:
    """The confidence that the grammar path is what was said: logistic in the margin; 0 when it fails the tests."""
    margin = grammar.logprob - free.logprob
    if margin < MARGIN or grammar.tokens < MIN_COVERAGE * free.tokens:
        return 0.0
    return round(1.0 / (1.0 + math.exp(-margin)), 3)
