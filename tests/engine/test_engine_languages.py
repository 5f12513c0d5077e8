"""Translations in the engine (issue 18): a call's language from the caller's prefix, the flow's default or a `set`,
prompts given per language with the fallback de-AT -> de -> the flow's language, and the built-in phrases."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.engine import actions as A
from ivr.engine.language import fallback_chain, language_for_caller, locale, pick
from ivr.engine.phrases import DIGIT_WORDS, LANGUAGES, PHRASES, hints
from ivr.flows import load_flow
from tests.engine.helpers import flow_from, play

FLOW = load_flow(Path(__file__).parents[1] / "flows" / "good" / "languages.yaml")


def says(actions) -> list[tuple[str, str]]:
    return [(a.text, a.language) for a in actions if isinstance(a, A.Say)]


@pytest.mark.parametrize(
    ("caller", "welcome", "language"),
    [
        ("+15550001111", "Welcome to the test line.", "en-US"),  # no prefix: the flow's language
        ("+4930123456", "Willkommen bei der Testleitung.", "de-DE"),
        ("+43150000", "Willkommen bei der Testleitung.", "de-DE"),  # Austria: de, as the flow's map says
        ("+33140000000", "Bienvenue sur la ligne de test.", "fr-FR"),
    ],
)
def test_the_callers_prefix_picks_the_calls_language(caller, welcome, language):
    state, _, actions = play(FLOW, [], caller=caller)
    assert says(actions)[0] == (welcome, language)
    assert state["vars"]["language"] == {"en-US": "en-US", "de-DE": "de", "fr-FR": "fr"}[language]


def test_a_set_from_the_menu_switches_the_rest_of_the_call_and_the_built_in_read_back():
    _, turns, actions = play(FLOW, ["digits:2", "digits:123", "digits:1"])
    assert turns[1] == ["say:Bitte geben Sie Ihre Nummer ein.", "gather:number"]
    assert turns[2][0] == "say:" + PHRASES["confirm"]["de"].replace("{{%s|spell}}", "1 2 3")
    assert turns[3] == ["say:Vielen Dank. Auf Wiederhören.", "hangup:completed"]
    assert says(actions)[-1][1] == "de-DE"


def test_built_in_no_input_and_no_match_follow_the_calls_language():
    _, turns, _ = play(FLOW, ["silence", "digits:9"], caller="+33140000000")
    assert turns[1][0] == "say:Désolé, je n'ai rien entendu."
    assert turns[2][0] == "say:Désolé, ce n'est pas l'une des options."
    _, turns, _ = play(FLOW, ["silence"])
    assert turns[1][0] == "say:Sorry, I didn't hear anything."  # English calls hear what they always heard


@pytest.mark.parametrize(
    ("call_language", "text", "say_language"),
    [
        ("de-AT", "Hallo", "de-AT"),  # de-AT falls back to de, spoken as the call's Austrian German
        ("de", "Hallo", "de-DE"),
        ("it", "Hello", "en-GB"),  # no Italian: the flow's language
        ("fr-CA", "Hello", "en-GB"),
    ],
)
def test_fallback_from_the_calls_language_to_its_language_then_the_flows(call_language, text, say_language):
    flow = flow_from(
        f"""
        id: fallback
        language: en-GB
        start: pick
        steps:
          pick: {{type: set, vars: {{language: {call_language}}}, next: hello}}
          hello: {{type: hangup, say: {{text: {{en: Hello, de: Hallo}}}}}}
        """
    )
    _, _, actions = play(flow, [])
    assert says(actions) == [(text, say_language)]


def test_the_chain_and_locale_rules():
    assert fallback_chain("de-AT", "en-US") == ("de-AT", "de", "en-US", "en")
    assert pick({"en": 1, "de": 2}, "de-AT", "en-US") == "de"
    assert pick({"en": 1, "de-CH": 2}, "de-AT", "en-US") == "de-CH"  # the same language in another region
    assert pick({"fr": 1, "es": 2}, "de", "it") == "fr"  # nothing matches at all: the first text
    assert locale("de", "de-AT", "en-US") == "de-AT" and locale("de", "de", "en-US") == "de-DE"
    assert locale("en", "de", "en-GB") == "en-GB"
    assert language_for_caller("+4930", {"+4": "x", "+49": "de"}, "en-US") == "de"  # the longest prefix wins
    assert language_for_caller("+4412", {"+49": "de"}, "en-US") == "en-US"
    assert hints("en-GB", ("one", "two")) == ("one", "two")  # English calls keep the step's hints
    assert hints("de-AT", (), confirm=True) == ("genau", "ja", "richtig", "stimmt", "falsch", "nein", "eins", "zwei")
    assert hints("it", ("uno",)) == ("uno",)  # no words of its own: the English hints


def test_a_plain_text_prompt_stays_in_the_flows_language_and_voice_for_every_call():
    flow = flow_from(
        """
        id: plain
        language: en-GB
        voice: en-gb
        languages: {declared: [en], by_prefix: {"+49": en}}
        start: bye
        steps:
          bye: {type: hangup, say: "Goodbye."}
        """
    )
    _, _, actions = play(flow, [], caller="+4930123")
    assert [(a.text, a.voice, a.language) for a in actions if isinstance(a, A.Say)] == [("Goodbye.", "en-gb", "en-GB")]


def test_a_voice_per_language_and_no_foreign_voice_for_other_languages():
    flow = flow_from(
        """
        id: voices
        language: en-US
        voice: {en: Polly.Joanna, de: Polly.Marlene}
        languages: {declared: [en, de, fr], by_prefix: {"+49": de, "+33": fr}}
        start: bye
        steps:
          bye: {type: hangup, say: {text: {en: Bye, de: Tschüss, fr: Salut}}}
        """
    )
    voices = {
        caller: [a.voice for a in play(flow, [], caller=caller)[2] if isinstance(a, A.Say)]
        for caller in ("+1555", "+4930", "+3314")
    }
    assert voices == {"+1555": ["Polly.Joanna"], "+4930": ["Polly.Marlene"], "+3314": [""]}


def test_german_and_french_spoken_digits_and_yes_in_collect_digits():
    _, turns, _ = play(FLOW, ["digits:1", "speech:eins zwei drei", "speech:ja"], caller="+4930123456")
    assert turns[2][0].startswith("say:Sie haben 1 2 3 eingegeben.")
    assert turns[3] == ["say:Vielen Dank. Auf Wiederhören.", "hangup:completed"]
    state, _, _ = play(FLOW, ["speech:zwei"], caller="+4930123456")  # a menu choice by a German digit word
    assert state["path"] == ["welcome", "pick", "german", "number"]
    _, turns, _ = play(FLOW, ["digits:1", "speech:quatre cinq six", "speech:non"], caller="+33140000000")
    assert turns[2][0].startswith("say:Vous avez saisi 4 5 6.")
    assert turns[3][0] == "say:Veuillez saisir votre numéro."  # "non": enter it again


def test_a_runaway_flow_says_goodbye_in_the_calls_language():
    flow = flow_from(
        """
        id: runaway
        max_steps: 3
        languages: {declared: [en, de], by_prefix: {"+49": de}}
        start: a
        steps:
          a: {type: set, vars: {x: "1"}, next: b}
          b: {type: set, vars: {x: "2"}, next: c}
          c: {type: set, vars: {x: "3"}, next: d}
          d: {type: hangup, say: {text: {en: Bye, de: Tschüss}}}
        """
    )
    _, _, actions = play(flow, [], caller="+4930123")
    assert says(actions) == [(PHRASES["goodbye"]["de"], "de-DE")]


def test_every_built_in_phrase_exists_in_every_language():
    for name, texts in PHRASES.items():
        assert set(texts) == set(LANGUAGES), name
        assert all(text.strip() for text in texts.values())
    confirm = {lang: text.count("%s") for lang, text in PHRASES["confirm"].items()}
    assert set(confirm.values()) == {1}
    assert {len(set(words.values()) - {"*", "#"}) for words in DIGIT_WORDS.values()} == {10}
