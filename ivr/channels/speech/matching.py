"""Match a transcript to what the step expects, by words and by sounds.

A recognizer hears "skipe" or "Skype's"; the engine's menu matches keywords word for word. So the channel
rewrites the transcript before it becomes a `Speech` event: a keyword found word for word leaves the text as it is
(score 1.0); a keyword found only by its sound (Metaphone codes, `jellyfish`) becomes the text (score 0.85); nothing
found leaves the transcript, which the engine then counts as a no-match, never a wrong choice. Only words of 4 or
more letters match by sound, and words of 5 or more one letter off: short words sound alike too easily
("call my" is not "call me").
Spoken numbers are normalised to words the engine reads as digits ("double five" -> "five five", "5-5" -> "5 5").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from ivr.engine.steps.menu import NUMBER_WORDS

_WORD = re.compile(r"[a-z0-9']+")
PHONETIC_SCORE = 0.85
MIN_PHONETIC_LETTERS = 4
MIN_NEAR_LETTERS = 5
# Spoken digits, as the engine's menu hears them (without star and pound), plus "o" for zero.
_DIGIT_WORDS = {**{word: key for word, key in NUMBER_WORDS.items() if key.isdigit()}, "o": "0"}
_REPEATS = {"double": 2, "triple": 3}


@dataclass(frozen=True)
class Match:
    text: str  # what the engine gets as Speech.text
    score: float  # 1.0 word for word, PHONETIC_SCORE by sound, 0.0 nothing expected was heard


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("-", " "))


@lru_cache(maxsize=4096)
def sound(word: str) -> str:
    import jellyfish  # the speech extra

    return str(jellyfish.metaphone(word.strip("'")))


def _word_matches(heard: str, wanted: str) -> int:
    """2: the same word, 1: the same sound or one letter off (long words only), 0: different."""
    if heard == wanted or heard.rstrip("s").rstrip("'") == wanted:
        return 2
    if len(wanted) >= MIN_PHONETIC_LETTERS and len(heard) >= 3 and sound(heard) == sound(wanted):
        return 1
    if len(wanted) >= MIN_NEAR_LETTERS and len(heard) >= MIN_NEAR_LETTERS - 1 and _near(heard, wanted):
        return 1  # the phone band cuts a leading "s" ("skype" heard as "kype")
    return 0


def _near(heard: str, wanted: str) -> bool:
    import jellyfish

    return int(jellyfish.damerau_levenshtein_distance(heard, wanted)) <= 1


def occurrences(words: list[str], keyword: list[str]) -> Iterator[tuple[int, int]]:
    """(start, how well) for each place `keyword` is found in `words`: 2 word for word, 1 by sound."""
    size = len(keyword)
    for start in range(len(words) - size + 1):
        scores = [_word_matches(words[start + i], keyword[i]) for i in range(size)]
        if all(scores):
            yield start, min(scores)


def _find(words: list[str], keyword: list[str]) -> int:
    """The best match of `keyword` anywhere in `words`: 2 exact, 1 by sound, 0 absent."""
    best = 0
    for _, score in occurrences(words, keyword):
        best = max(best, score)
        if best == 2:
            break
    return best


def match_keywords(transcript: str, keywords: tuple[str, ...]) -> Match:
    """The transcript for the engine: itself if a keyword is in it word for word, else the keyword it sounds like."""
    words = words_of(transcript)
    by_sound = ""
    for keyword in keywords:
        found = _find(words, words_of(keyword))
        if found == 2:
            return Match(transcript, 1.0)
        if found == 1 and not by_sound:
            by_sound = keyword
    if by_sound:
        return Match(by_sound, PHONETIC_SCORE)
    return Match(transcript, 0.0)


def spoken_digits(transcript: str) -> str:
    """The digits said, as digits ("five five five, one two" -> "55512"); words that are not digits are dropped."""
    digits: list[str] = []
    repeat = 1
    for word in words_of(transcript):
        if word in _REPEATS:
            repeat = _REPEATS[word]
            continue
        value = _DIGIT_WORDS.get(word, word if word.isdigit() else "")
        if value:
            digits.append(value * repeat if len(value) == 1 else value)
        repeat = 1
    return "".join(digits)


def match_digits(transcript: str) -> Match:
    """For collect_digits: the digits heard, spaced so the engine reads each one; no digits: the transcript."""
    digits = spoken_digits(transcript)
    return Match(" ".join(digits), 1.0) if digits else Match(transcript, 0.0)
