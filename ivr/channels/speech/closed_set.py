"""Closed-set decoding for Whisper: a step's grammar as a token vocabulary, and the test that rejects garbage.

A menu or a digit collection expects a closed set of words, so after Whisper's free transcript (its best guess at
any English) we may decode the same encoder output a second time allowed only the step's words: the keywords and
a small set of filler words callers wrap them in ("I need", "please") for a menu, the digit words for
collect_digits. Every other token is suppressed, which makes the decoder a grammar.

Whether a menu answer is taken is one calibrated probability, `menu_confidence`: a logistic regression fitted by
bench/speech.py on the tuning half of its corpus, over what the decoder says about the answer:
- the log-probability of the keyword's own tokens (how sure the decoder was of the word that picks the choice);
- for a grammar path, its margin over the free transcript, both scored by the same unconstrained decoder (the free
  transcript is the garbage model: a suppressed decode renormalises over the few allowed tokens, so its own score
  would always look better than it is);
- how the keyword was found (word for word, by its sound, or only through the grammar), Whisper's no-speech
  probability, the mean log-probability of the free transcript, and how many of its words are neither menu
  words nor fillers ("I would like to order a pizza" heard as "... owner of theator" leaves "theator").
An answer is taken when that probability is at least `ACCEPT`, the lowest that kept out-of-menu acceptances
within 2% on the tuning half, and Whisper's no-speech probability is below `MAX_NO_SPEECH` (the corpus holds no
utterance without speech, so the fit knows nothing of noise or silence, and took noise as "chat" at 0.9).
`bench/speech.py accuracy --rows 52 --fit` fits both again (docs/speech.md "Confidence").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .matching import occurrences, words_of
from .recognizer import Heard

_FILLER_TEXT = (  # what callers wrap a choice in ("I need ... please"); the grammar's garbage words
    "i i'd i'm need want would like to a an the please with my me can could you talk speak get some someone for of "
    "and uh um yes hi hello oh ok okay just is it it's on in about send give have do let thanks thank hey"
)
FILLERS = tuple(_FILLER_TEXT.split(" "))
_DIGIT_TEXT = "zero oh one two three four five six seven eight nine double triple"
DIGIT_WORDS = tuple(_DIGIT_TEXT.split(" "))
PUNCTUATION = (",", ".", "?", "!")
ACCEPT = 0.8
MAX_NO_SPEECH = 0.6  # Whisper's no-speech probability from which nothing is taken (silence, noise: 0.78-0.85)
MAX_COMPRESSION_RATIO = 2.4  # Whisper's own hallucination test (a transcript that gzips this well repeats itself)
GRAMMAR_BEAM = 5  # hypotheses of the grammar decode
RESCORED = 2  # of which at most this many, those holding a keyword, are rescored unconstrained (the costly part)
MISSING_KEYWORD_LOGPROB = -5.0  # a keyword found by the engine's matching but not in the decoder's words
MARGIN_FLOOR = -10.0
NO_MARGIN = -5.0  # found by sound, but the grammar path heard another keyword: no margin to speak of
MAX_UNEXPLAINED = 4
# bias, keyword log-prob, margin, by sound, by grammar, no-speech, unexplained words, mean log-prob
WEIGHTS = (4.314, 0.467, 0.399, 7.695, 2.032, -3.449, -1.912, -0.601)
WORD, SOUND, GRAMMAR = 0, 1, 2  # how the keyword was found


@dataclass(frozen=True)
class Decoded:
    text: str
    tokens: int
    logprob: float  # total over the tokens, end of text included
    no_speech: float
    ids: tuple[int, ...] = ()
    token_logprobs: tuple[float, ...] = ()  # per token, unconstrained, when asked for


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


def word_logprobs(pieces: list[str], logprobs: list[float]) -> list[tuple[str, float]]:
    """Tokens' texts and log-probabilities as words: a token that starts with a space starts a word."""
    words: list[list] = []
    for piece, logprob in zip(pieces, logprobs):
        parts = words_of(piece)
        if words and not piece.startswith(" "):
            words[-1][0] += parts[0] if parts else ""
            words[-1][1] += logprob
        elif parts:
            words.append([parts[0], logprob])
        elif words:
            words[-1][1] += logprob  # punctuation belongs to the word before it
    return [(word, logprob) for word, logprob in words]


def keyword_logprob(words: list[tuple[str, float]], hints: tuple[str, ...]) -> tuple[str, float] | None:
    """The keyword best found in `words` (word for word before by sound) and the sum of its words' log-probs."""
    names = [word for word, _ in words]
    best: tuple[int, float, str] | None = None
    for keyword in hints:
        wanted = words_of(keyword)
        for start, score in occurrences(names, wanted):
            found = (score, sum(logprob for _, logprob in words[start : start + len(wanted)]), keyword)
            if best is None or found[:2] > best[:2]:
                best = found
    return (best[2], best[1]) if best else None


def unexplained(text: str, vocabulary: tuple[str, ...]) -> int:
    known = set(vocabulary)
    return sum(1 for word in words_of(text) if word not in known)


def feature_vector(
    found: int, keyword: float, margin: float, no_speech: float, unexplained_words: int, mean_logprob: float
) -> tuple[float, ...]:
    """What `WEIGHTS` multiply: a bias, then the evidence (see the module docstring)."""
    return (
        1.0,
        keyword,
        max(margin, MARGIN_FLOOR) if found != WORD else 0.0,
        float(found == SOUND),
        float(found == GRAMMAR),
        no_speech,
        float(min(unexplained_words, MAX_UNEXPLAINED)),
        mean_logprob,
    )


def menu_confidence(
    found: int, keyword: float, margin: float, no_speech: float, unexplained_words: int, mean_logprob: float
) -> float:
    """The probability that taking this answer is right (fitted on the tuning voices; see the module docstring)."""
    features = feature_vector(found, keyword, margin, no_speech, unexplained_words, mean_logprob)
    score = sum(weight * value for weight, value in zip(WEIGHTS, features))
    return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, score)))), 3)


def looping(text: str) -> bool:
    """No words, or Whisper looping on noise ("help, help, help, ..."): its own hallucination test."""
    import zlib

    data = text.encode()
    return not text or len(data) / max(1, len(zlib.compress(data))) > MAX_COMPRESSION_RATIO


def taken(text: str, features: tuple, detail: dict) -> Heard:
    """A menu answer: its probability of being right if that reaches ACCEPT and Whisper heard speech, else 0 (a
    no-match). The features go in the detail, so bench/speech.py can fit the weights again (`accuracy --fit`)."""
    confidence = menu_confidence(*features)
    detail = {**detail, "answer": text, "p_right": confidence, "features": [round(float(v), 4) for v in features]}
    return Heard(text, confidence if confidence >= ACCEPT and heard_speech(features) else 0.0, detail)


def heard_speech(features) -> bool:
    """Whisper took the answer for speech: its no-speech probability, 4th of the features menu_confidence takes
    (found, keyword, margin, no_speech, ...), is below MAX_NO_SPEECH."""
    return float(features[3]) < MAX_NO_SPEECH
