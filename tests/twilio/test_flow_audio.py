"""Flow audio is read only from inside the flows folder, at play time too (issue 12 item 10, defence in depth):
in "play" mode Twilio's <Play> URL serves the converted file to anyone, so a link swapped after the flow was
validated must not turn another caller's voicemail into public prompt audio. SIP's prompt library is the other
reader of the same rule."""

from __future__ import annotations

import shutil
import wave

import pytest

from ivr.channels.sip.media.prompts import PromptError, PromptLibrary
from tests.twilio.conftest import FLOWS
from tests.twilio.twilio_caller import FlaskTransport, SignedPoster, TwilioCall

JINGLE = """id: jingle
start: jingle
steps:
  jingle:
    type: say
    audio: prompts/hello.wav
    next: bye
  bye:
    type: hangup
"""


def write_wav(path, level: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(level.to_bytes(2, "little", signed=True) * 800)


@pytest.fixture
def flows(tmp_path):
    folder = tmp_path / "flows"
    shutil.copytree(FLOWS, folder)
    (folder / "jingle.yaml").write_text(JINGLE)
    write_wav(folder / "prompts" / "hello.wav", 1000)
    return folder


@pytest.fixture
def voicemail(settings):
    path = settings.data_dir / "recordings" / "CA1-1.wav"
    write_wav(path, -2000)
    return path


def test_play_mode_does_not_serve_a_file_a_link_now_points_to_outside_the_flows(make_app, settings, flows, voicemail):
    app = make_app(settings.with_overrides(flows_dir=flows, twilio_prompt_mode="play"))
    client = app.test_client()
    poster = SignedPoster(FlaskTransport(client))
    first = TwilioCall(poster).answer("/twilio/voice?flow=jingle")
    assert first.find("Play") is not None and client.get(first.find("Play").text).status_code == 200
    cached = sorted((settings.data_dir / "prompts").iterdir())
    (flows / "prompts" / "hello.wav").unlink()
    (flows / "prompts" / "hello.wav").symlink_to(voicemail)  # after the flow was validated and cached
    second = TwilioCall(poster).answer("/twilio/voice?flow=jingle")
    assert second.status == 200 and second.find("Play") is None and second.verbs()[-1] == "Hangup"
    assert sorted((settings.data_dir / "prompts").iterdir()) == cached  # the voicemail was never converted


def test_sip_prompts_play_no_audio_from_outside_the_flows_folder(settings, flows, voicemail):
    library = PromptLibrary(settings.data_dir / "prompts", audio_root=flows)
    assert library.wav_path(audio="prompts/hello.wav").is_file()
    (flows / "prompts" / "link.wav").symlink_to(voicemail)
    for outside in ("prompts/link.wav", "../flows/../data/recordings/CA1-1.wav", str(voicemail)):
        with pytest.raises(PromptError, match="inside the flows folder"):
            library.wav_path(audio=outside)
    with pytest.raises(PromptError):  # no flows folder: no audio files at all
        PromptLibrary(settings.data_dir / "prompts").wav_path(audio="prompts/hello.wav")


def test_say_mode_plays_an_audio_only_prompt_served_by_the_app(make_app, settings, flows):
    """docs/flows.md promised it; Twilio got <Response><Hangup/></Response> for an audio-only say step."""
    assert settings.twilio_prompt_mode == "say"
    client = make_app(settings.with_overrides(flows_dir=flows)).test_client()
    answered = TwilioCall(SignedPoster(FlaskTransport(client))).answer("/twilio/voice?flow=jingle")
    assert answered.verbs() == ["Play", "Hangup"]
    served = client.get(answered.find("Play").text)
    assert served.status_code == 200 and served.data[:4] == b"RIFF"
