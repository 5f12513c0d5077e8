"""digit_decode.choose on beam results shaped as CTranslate2 returns them: the vote across hypotheses and speeds."""

from __future__ import annotations

import math
from types import SimpleNamespace

from ivr.channels.speech import digit_decode

WORDS = {1: " one", 2: " two", 3: " three", 4: " four", 5: " five"}
BEGIN = 100  # the first timestamp token


def decode(ids: list[int]) -> str:
    return "".join(WORDS[token] for token in ids)


def result(*hypotheses: tuple[list[int], float]):
    return SimpleNamespace(
        sequences_ids=[ids for ids, _ in hypotheses], scores=[score for _, score in hypotheses], no_speech_prob=0.01
    )


def choose(results, min_digits=3, max_digits=3):
    return digit_decode.choose(results, [2.0] * len(results), BEGIN, decode, min_digits, max_digits)


def test_a_number_written_by_several_hypotheses_beats_the_single_likeliest_one(monkeypatch):
    monkeypatch.setattr(digit_decode, "SPEEDS", (0.8, 0.9))
    slow = result(([1, 2, 3], -0.10), ([1, 5, 3], -0.12))
    less_slow = result(([1, 5, 3], -0.12), ([4, 4], -0.01))
    score, text, tokens, _, where = choose([slow, less_slow])
    assert text == "one five three" and tokens == 3 and score == -0.12
    share = 2 * math.exp(-0.48) / (2 * math.exp(-0.48) + math.exp(-0.4))
    assert where["speed"] == 0.8 and where["hypothesis"] == 1 and where["share"] == round(share, 3)


def test_a_hypothesis_whose_count_does_not_fit_has_no_vote(monkeypatch):
    monkeypatch.setattr(digit_decode, "SPEEDS", (0.8, 0.9))
    slow = result(([4, 4], -0.01), ([1, 2, 3], -0.5))
    less_slow = result(([4, 4, 4, 4], -0.01), ([4, 4], -0.02))
    assert choose([slow, less_slow])[1] == "one two three"


def test_what_is_past_the_audio_does_not_count(monkeypatch):
    """Timestamp 150 (1 s) then "four": said within 2 s, counted; timestamp 199 (1.98 s): after the end, dropped."""
    monkeypatch.setattr(digit_decode, "SPEEDS", (0.8,))
    assert choose([result(([1, 2, 150, 4, 199, 5], -0.1))])[1] == "one two four"


def test_with_no_hypothesis_that_fits_the_best_first_one_is_heard(monkeypatch):
    monkeypatch.setattr(digit_decode, "SPEEDS", (0.8, 0.9))
    slow = result(([1, 2], -0.3), ([1], -0.1))
    less_slow = result(([4, 4], -0.2), ([5], -0.01))
    score, text, _, _, where = choose([slow, less_slow])
    assert (score, text, where) == (-0.2, "four four", {"speed": 0.9, "hypothesis": 0})
