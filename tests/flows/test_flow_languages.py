"""Translations through the flow loader and `ivr simulate` (issue 18): the long form of `languages:` (by_region
from the calling codes), `voice:` per language, and the simulator printing what a German caller hears."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ivr.flows import validate_text
from tests.engine.helpers import flow_from

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


def test_by_region_maps_the_calling_codes_of_the_declared_languages_countries():
    flow = flow_from(
        """
        id: regions
        languages: {declared: [en, de, fr-CA], by_region: true, by_prefix: {"+41": fr-CA}}
        start: bye
        steps:
          bye: {type: hangup, say: {text: {en: Bye, de: Tschüss, fr: Salut}}}
        """
    )
    assert flow.languages == ("en", "de", "fr-CA")
    prefixes = flow.language_by_prefix
    assert (prefixes["+49"], prefixes["+43"], prefixes["+44"], prefixes["+33"]) == ("de", "de", "en", "fr-CA")
    assert prefixes["+41"] == "fr-CA"  # by_prefix wins over the region's language (Switzerland: de)
    assert "+34" not in prefixes  # Spanish is not declared


def test_a_prefix_map_alone_chooses_languages_without_declaring_any():
    flow = flow_from(
        """
        id: prefixes
        languages: {by_prefix: {"+49": de, "+43": de, "+33": fr}}
        start: bye
        steps:
          bye: {type: hangup, say: Bye}
        """
    )
    assert flow.languages == () and flow.language_by_prefix == {"+49": "de", "+43": "de", "+33": "fr"}
    regions = flow_from("id: r\nlanguages: {by_region: true}\nstart: a\nsteps:\n  a: {type: hangup}\n")
    assert (regions.language_by_prefix["+34"], regions.language_by_prefix["+1"]) == ("es", "en")


def test_a_voice_map_gives_the_flows_own_voice_and_the_others():
    flow = flow_from(
        """
        id: voices
        language: de-DE
        voice: {en: en-gb, de: de}
        start: bye
        steps:
          bye: {type: hangup, say: Tschüss}
        """
    )
    assert (flow.voice, flow.voices) == ("de", {"en": "en-gb", "de": "de"})


def test_a_flow_without_languages_may_still_give_texts_per_language():
    assert validate_text("id: x\nstart: a\nsteps:\n  a: {type: hangup, say: {text: {fr: Salut}}}\n", "x.yaml") == []


def test_the_simulator_shows_what_a_caller_from_germany_hears():
    out = subprocess.run(
        [sys.executable, "-m", "ivr", "simulate", str(HERE / "good" / "languages.yaml"), "--caller", "+4930123456"]
        + ["--input", "1", "--input", "4711", "--input", "say:ja"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    said = [line.removeprefix("  IVR: ") for line in out.stdout.splitlines() if line.startswith("  IVR: ")]
    assert said[:3] == [
        "Willkommen bei der Testleitung.",
        "Drücken Sie 1, um weiterzumachen, oder 2 für Deutsch.",
        "Bitte geben Sie Ihre Nummer ein.",
    ]
    assert said[3].startswith("Sie haben 4 7 1 1 eingegeben.") and said[-1] == "Vielen Dank. Auf Wiederhören."
