"""Speech and translations (issues 14 and 18): with the bundled English-only model, a call in German gets DTMF
only on SIP, although its gathers offer speech, and the validator warns about each declared non-English language."""

from __future__ import annotations

from pathlib import Path

from ivr.channels.sip.session import _listener
from ivr.channels.sip.speech_input import SpeechInput
from ivr.channels.speech.pool import RecognitionPool
from ivr.engine import actions as A
from ivr.flows import load_flow
from ivr.flows.speech_check import speech_warnings
from tests.engine.helpers import play

LANGUAGES = Path(__file__).parents[1] / "flows" / "good" / "languages.yaml"


def test_a_german_call_gets_dtmf_only_from_an_english_only_model(whisper):
    _, _, actions = play(load_flow(LANGUAGES), ["digits:1"], caller="+4930123456")
    turn = actions[actions.index(next(a for a in actions if isinstance(a, A.Gather))) + 1 :]  # the number's turn
    gather = next(a for a in turn if isinstance(a, A.Gather))
    assert "speech" in gather.input and [a.language for a in turn if isinstance(a, A.Say)] == ["de-DE"]
    pool = RecognitionPool(whisper, workers=1)
    try:
        assert _listener(None, turn, SpeechInput(pool)) is None  # never listens: the keypad gather goes on alone
    finally:
        pool.close()


def test_the_validator_warns_about_declared_languages_an_english_model_cannot_hear():
    warnings = [str(w) for w in speech_warnings(LANGUAGES, "whisper", "")]
    assert warnings == [
        f"{LANGUAGES}:6:1: warning: languages de, fr: the speech recognizer is English-only, so SIP calls in these "
        "languages get DTMF only (set IVR_ASR_MODEL to a multilingual Whisper model)"
    ]
    assert speech_warnings(LANGUAGES, "whisper", "/models/whisper-small") == []  # a multilingual model
    assert speech_warnings(LANGUAGES, "off", "") == []  # no speech at all: nothing to lose
