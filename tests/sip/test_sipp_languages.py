"""Translations on SIP (issue 18): SIPp calls from a German number; the prompts are rendered with espeak-ng's
German voice into the prompt cache under a key that holds the language, and the call's timeline says de-DE. A
prompt the channel cannot play is replaced by its built-in apology in the prompt's language."""

from __future__ import annotations

import array
import wave

import pytest

from ivr.channels import prompt_audio
from ivr.channels.sip.session import flow_app
from ivr.engine.phrases import phrase
from ivr.store.calls import CallStore
from tests.sessions import flow_session

from .conftest import SCENARIOS, run_sipp, sipp_counts
from .test_sipp_flow import only_call

pytestmark = pytest.mark.slow  # one SIPp call in real time (~5 s)

GERMAN_CALLER = "+493012345678"
WELCOME = {"en": "Welcome to the test line.", "de": "Willkommen bei der Testleitung."}
FLOW = f"""
id: hallo
language: en-US
languages: {{declared: [en, de], by_prefix: {{"+49": de}}}}
start: welcome
steps:
  welcome: {{type: say, text: {{en: "{WELCOME["en"]}", de: "{WELCOME["de"]}"}}, next: jingle}}
  jingle: {{type: say, audio: prompts/jingle.wav, language: de-DE, barge_in: false, next: bye}}  # unplayable
  bye: {{type: hangup, say: {{text: {{en: Goodbye., de: Auf Wiederhören.}}}}}}
"""


def test_a_call_from_germany_hears_prompts_in_the_german_voice(start_server, redis_conn, redis_server, tmp_path):
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "hallo.yaml").write_text(FLOW, encoding="utf-8")
    (flows / "prompts").mkdir()
    (flows / "prompts" / "jingle.wav").write_bytes(b"not a sound file")
    session = flow_session(redis_server.url, tmp_path / "spool.sqlite3", flows, "hallo")
    running = start_server(flow_app(session), audio_root=flows)
    scenario = tmp_path / "uac_german.xml"  # the digit scenario, calling from a German number
    scenario.write_text(
        (SCENARIOS / "uac_digit.xml").read_text().replace("+15557770001", GERMAN_CALLER).replace("@DIGIT@", "1")
    )
    result = run_sipp(str(scenario), running.port, timeout=40, cwd=tmp_path)
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    running.wait_idle()

    record = only_call(redis_conn)
    timeline = CallStore(redis_conn).timeline(record.id)
    said = [e["data"] for e in timeline if e["kind"] == "action" and e["data"]["type"] == "say"]
    assert [(s["text"], s["language"]) for s in said] == [
        (WELCOME["de"], "de-DE"),
        ("", "de-DE"),
        ("Auf Wiederhören.", "de-DE"),
    ]
    cache = tmp_path / "data" / "prompts"
    german = cache / f"{prompt_audio.tts_key(WELCOME['de'], '', 'de-DE')}.wav"
    apology = cache / f"{prompt_audio.tts_key(phrase('unavailable', 'de'), '', 'de-DE')}.wav"
    assert apology.is_file()  # the prompt the channel could not play was replaced by its German apology
    assert german.is_file() and not (cache / f"{prompt_audio.tts_key(WELCOME['en'], '', 'en-US')}.wav").exists()
    # the same audio as espeak-ng's German voice itself gives (up to sox's dither), and not its English one
    german_voice = samples(prompt_audio.render_tts(WELCOME["de"], tmp_path / "by-voice", voice="de"))
    english_voice = samples(prompt_audio.render_tts(WELCOME["de"], tmp_path / "by-voice", voice="en-us"))
    heard = samples(german)
    assert len(heard) == len(german_voice) and max(abs(a - b) for a, b in zip(heard, german_voice)) <= 4
    assert len(english_voice) != len(heard) or max(abs(a - b) for a, b in zip(heard, english_voice)) > 1000


def samples(path) -> array.array:
    with wave.open(str(path)) as wav:
        return array.array("h", wav.readframes(wav.getnframes()))
