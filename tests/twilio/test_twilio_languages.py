"""Translations on Twilio (issue 18): signed webhooks for calls in German and French get <Say language="de-DE">
(and the Gather listens in that language); in "play" mode the prompt audio is rendered with the German voice."""

from __future__ import annotations

from pathlib import Path

from ivr.channels import prompt_audio
from tests.twilio.twilio_caller import FlaskTransport, SignedPoster, TwilioCall

GOOD_FLOWS = Path(__file__).parents[1] / "flows" / "good"  # languages.yaml: en, de, fr; +49 and +43 are German
GERMAN_CALLER = "+493012345678"


def languages(reply) -> list[tuple[str, str]]:
    return [(say.get("language"), say.text) for say in reply.xml.iter("Say")]


def test_a_caller_from_germany_hears_german_says_and_a_german_gather(make_app, settings):
    app = make_app(settings.with_overrides(flows_dir=GOOD_FLOWS))
    call = TwilioCall(SignedPoster(FlaskTransport(app.test_client())), caller=GERMAN_CALLER)
    first = call.answer("/twilio/voice?flow=languages")
    assert languages(first) == [
        ("de-DE", "Willkommen bei der Testleitung."),
        ("de-DE", "Drücken Sie 1, um weiterzumachen, oder 2 für Deutsch."),
    ]
    assert first.find("Gather").get("language") in (None, "de-DE")  # set when the gather takes speech
    assert languages(call.silence())[0] == ("de-DE", "Entschuldigung, ich habe nichts gehört.")


def test_an_english_caller_who_picks_german_hears_the_rest_in_german(make_app, settings):
    app = make_app(settings.with_overrides(flows_dir=GOOD_FLOWS))
    call = TwilioCall(SignedPoster(FlaskTransport(app.test_client())), caller="+15550001234")
    assert languages(call.answer("/twilio/voice?flow=languages"))[0] == ("en-US", "Welcome to the test line.")
    number = call.press("2")
    assert languages(number) == [("de-DE", "Bitte geben Sie Ihre Nummer ein.")]
    gather = number.find("Gather")  # spoken digits too, heard in German
    assert (gather.get("input"), gather.get("language")) == ("dtmf speech", "de-DE")
    assert gather.get("hints") == "null,eins,zwei,drei,vier,fünf,sechs,sieben,acht,neun"
    read_back = languages(call.press("4711"))
    assert read_back[0][0] == "de-DE" and read_back[0][1].startswith("Sie haben 4 7 1 1 eingegeben.")
    assert languages(call.press("1")) == [("de-DE", "Vielen Dank. Auf Wiederhören.")]


def test_play_mode_renders_the_german_prompt_with_the_german_voice(make_app, settings):
    app = make_app(settings.with_overrides(flows_dir=GOOD_FLOWS, twilio_prompt_mode="play"))
    client = app.test_client()
    first = TwilioCall(SignedPoster(FlaskTransport(client)), caller=GERMAN_CALLER).answer(
        "/twilio/voice?flow=languages"
    )
    urls = [play.text for play in first.xml.iter("Play")]
    key = prompt_audio.tts_key("Willkommen bei der Testleitung.", "", "de-DE")
    assert urls and urls[0].endswith(f"/audio/{key}.wav")  # the cache key holds the language
    assert client.get(urls[0]).status_code == 200
    assert prompt_audio.tts_command("Hallo", Path("x.wav"), language="de-DE")[:3] == ["espeak-ng", "-v", "de"]
