"""Spoken numbers through Whisper: a beam search over the digit words, with timestamps, cut at the audio's end,
at two speeds.

What made Whisper tiny.en write the digits said, measured on bench/speech.py's 10-digit numbers (BENCHMARKS.md):
- no initial prompt: a prompt listing "zero, one, two, ..." made it skip the number's first group;
- timestamps on: each stretch of words then has a time, and what the decoder places after the utterance's end
  is it looping on the number ("... zero nine five eight, nine four"), not something said: dropped;
- a beam of 8 and its 8 hypotheses, of which only those whose count of digits lies within the step's min_digits
  to max_digits count (a merged "five five five" is often whole in another one);
- the number decoded twice in one batch, played 20% and 10% slower (resample.py, `SPEEDS`): as said, tiny.en
  often moves a digit of a run ("415 555 0123" as "4155501233"); slower, with every pitch lower, it writes more
  of them right, and the two speeds get different ones right. Each number written by a hypothesis that counts
  gets the sum of their probabilities at both speeds, and the likeliest number wins (a vote: more right on both
  halves of the corpus than the best single hypothesis);
- then, as the keypad does, at most max_digits digits.
"""

from __future__ import annotations

import math

from .matching import spoken_digits

BEAM = 8
SPEEDS = (0.8, 0.9)  # the number is decoded at each, played slower (resample.py), in one batch
CONTEXT_FRAMES = 300  # of silence after the number: as many right as 500, for less CPU (BENCHMARKS.md)
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


def fits(digits: int, min_digits: int, max_digits: int) -> bool:
    return digits >= max(1, min_digits) and (not max_digits or digits <= max_digits)


def choose(results, seconds: list[float], timestamp_begin: int, decode, min_digits: int, max_digits: int):
    """(beam score, text, tokens, no-speech probability, where) of the number that CTranslate2's beam `results` at
    all of SPEEDS (`seconds`: each one's length) make likeliest together: each hypothesis whose count of digits
    fits adds its probability, exp(score x (tokens + 1)), to its digits' total; the number's likeliest hypothesis
    speaks for it. None fits: the best-scoring first hypothesis of a speed."""
    totals: dict[str, float] = {}
    best: dict[str, tuple] = {}
    fallback = None
    for speed, result, heard_for in zip(SPEEDS, results, seconds):
        for index, (ids, score) in enumerate(zip(result.sequences_ids, result.scores)):
            spoken = said(list(ids), timestamp_begin, heard_for)
            text = decode(spoken).strip()
            candidate = (score, text, len(spoken), result.no_speech_prob, {"speed": speed, "hypothesis": index})
            if index == 0 and (fallback is None or score > fallback[0]):
                fallback = candidate
            digits = "".join(spoken_digits(text))
            if fits(len(digits), min_digits, max_digits):
                totals[digits] = totals.get(digits, 0.0) + math.exp(score * (len(spoken) + 1))
                if digits not in best or score > best[digits][0]:
                    best[digits] = candidate
    if not totals:
        return fallback
    number = max(totals, key=totals.__getitem__)
    score, text, tokens, no_speech, where = best[number]
    return score, text, tokens, no_speech, {**where, "share": round(totals[number] / sum(totals.values()), 3)}


def at_most(text: str, max_digits: int) -> str:
    """`text` as spaced digits, at most `max_digits` of them (0: all)."""
    digits = spoken_digits(text)
    return " ".join(digits[:max_digits] if max_digits else digits)


def length_limit(max_digits: int, seconds: float) -> int:
    expected = max_digits or int(3 * seconds) + 1  # nobody says more than about three digits a second
    return TOKENS_PER_DIGIT * expected + TIMESTAMP_TOKENS
