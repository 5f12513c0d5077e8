"""Transcripts to choices by words and sounds; no-match rather than a wrong choice."""

from __future__ import annotations

import pytest

from ivr.channels.speech.matching import PHONETIC_SCORE, match_digits, match_keywords, spoken_digits

KEYWORDS = ("skype", "support", "help", "chat", "live chat", "callback", "call back", "call me", "operator")


@pytest.mark.parametrize("heard", ["Skype.", "I need help with Skype", "skype's not working"])
def test_word_for_word_keeps_the_transcript(heard):
    assert match_keywords(heard, KEYWORDS).score == 1.0
    assert match_keywords(heard, KEYWORDS).text == heard


@pytest.mark.parametrize(
    ("heard", "keyword"),
    [
        ("skipe", "skype"),
        ("I want to Skipe", "skype"),
        ("opperator please", "operator"),
        ("sopport", "support"),
        ("Kype.", "skype"),
    ],
)
def test_sounds_alike_becomes_the_keyword(heard, keyword):
    assert match_keywords(heard, KEYWORDS) == (match_keywords(keyword, KEYWORDS).__class__(keyword, PHONETIC_SCORE))


@pytest.mark.parametrize("heard", ["call my mother", "what is the weather", "sky", "I'd like a pizza"])
def test_nothing_alike_is_no_match(heard):
    assert match_keywords(heard, KEYWORDS).score == 0.0


@pytest.mark.parametrize(
    ("heard", "digits"),
    [
        ("5 5 5 1 2 3 4", "5551234"),
        ("five five five, oh one", "55501"),
        ("double five 12", "5512"),
        ("(555) 123-4567", "5551234567"),
        ("my number is triple nine", "999"),
    ],
)
def test_spoken_digits(heard, digits):
    assert spoken_digits(heard) == digits
    assert match_digits(heard).text.replace(" ", "") == digits


def test_no_digits_is_no_match():
    assert match_digits("hello there").score == 0.0
