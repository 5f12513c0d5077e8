"""Spoken numbers through Whisper: a beam search over the digit words, with timestamps, cut at the audio's end,
at two speeds.

What made Whisper tiny.en write the digits said, measured on bench/speech.py's 10-digit numbers (BENCHMARKS.md):
- no initial prompt: a prompt listing "zero, one, two, ..." made it skip the number's first group;
- timestamps on: each stretch of words then has a time, and what the decoder places after the utterance's end
  is it looping on the number ("... zero nine five eight, nine four"), not something said: dropped;
- a beam of 8 and its 8 hypotheses: the first whose count of digits lies within the step's min_digits to
  max_digits is taken (a merged "five five five" is often whole in another one);
- the number decoded twice in one batch, played 20% and 5% slower (resample.py, `SPEEDS`): as said, tiny.en
  often moves a digit of a run ("415 555 0123" as "4155501233"); slower, with every pitch lower, it writes more
  of them right, and the two speeds get different ones right. Of the two picks, one whose count fits beats one
  that does not, then the better beam score (mean log-probability per token) wins;
- then, as the keypad does, at most max_digits digits.
"""

from __future__ import annotations

from .matching import spoken_digits

BEAM = 8
SPEEDS = (0.8, 0.95)  # the number is decoded at each, played slower (resample.py), in one batch
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


def pick(hypotheses: list[str], min_digits: int, max_digits: int) -> int | None:
    """The index of the first hypothesis with an acceptable count of digits, or None."""
    for index, text in enumerate(hypotheses):
        count = len(spoken_digits(text))
        if count >= max(1, min_digits) and (not max_digits or count <= max_digits):
            return index
    return None


def choose(results, seconds: list[float], timestamp_begin: int, decode, min_digits: int, max_digits: int):
    """(beam score, text, tokens, no-speech probability, where) of the best pick among CTranslate2's beam `results`
    at each of SPEEDS (`seconds`: each one's length): a pick whose count fits wins, then the better score."""
    picks = []
    for speed, result, heard_for in zip(SPEEDS, results, seconds):
        spoken = [said(list(ids), timestamp_begin, heard_for) for ids in result.sequences_ids]
        texts = [decode(ids).strip() for ids in spoken]
        chosen = pick(texts, min_digits, max_digits)
        index = chosen or 0
        where = {"speed": speed, "hypothesis": index}
        picks.append(
            (chosen is not None, result.scores[index], texts[index], len(spoken[index]), result.no_speech_prob, where)
        )
    return max(picks, key=lambda candidate: candidate[:2])[1:]


def at_most(text: str, max_digits: int) -> str:
    """`text` as spaced digits, at most `max_digits` of them (0: all)."""
    digits = spoken_digits(text)
    return " ".join(digits[:max_digits] if max_digits else digits)


def length_limit(max_digits: int, seconds: float) -> int:
    expected = max_digits or int(3 * seconds) + 1  # nobody says more than about three digits a second
    return TOKENS_PER_DIGIT * expected + TIMESTAMP_TOKENS
