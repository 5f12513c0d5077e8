"""Speech on SIP with real parts: SIPp plays espeak-ng audio (RTP pcaps, u-law and A-law) into the shipped flow,
the SIP channel's VAD and Whisper recognizer hear it, and the call goes where the words say."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.channels.sip.session import flow_app
from ivr.channels.sip.speech_input import SpeechInput
from ivr.store.calls import CallStore

from .conftest import run_sipp, sipp_counts

pytest.importorskip("faster_whisper")
pytest.importorskip("webrtcvad")
from ivr.channels.speech.pool import RecognitionPool  # noqa: E402
from ivr.channels.speech.recognizer import recognizer_factory  # noqa: E402
from tests.sessions import flow_session
from tests.speech.audio import g711_bytes, hd_pcm, phone_pcm, rtp_pcap, silence  # noqa: E402

pytestmark = pytest.mark.slow  # real-time calls with real recognition

FLOWS = Path(__file__).resolve().parents[2] / "flows"
CODECS = {"ulaw": (0, "PCMU"), "alaw": (8, "PCMA"), "g722": (9, "G722")}


@pytest.fixture(scope="module")
def pool():
    pool = RecognitionPool.processes(recognizer_factory("whisper"), workers=2)  # as `ivr sip` runs it
    yield pool
    pool.close()


@pytest.fixture
def speech_ivr(start_server, redis_server, tmp_path, pool):
    def start(**config):
        session = flow_session(redis_server.url, tmp_path / "spool.sqlite3")
        return start_server(flow_app(session, speech=SpeechInput(pool)), audio_root=FLOWS, **config)

    return start


def speak_call(
    speech_ivr, redis_conn, tmp_path, pcm: bytes, law: str = "ulaw", pause_ms: int = 1000, timeout: int = 90, **server
):
    running = speech_ivr(**server)
    payload_type, codec = CODECS[law]
    pcap = rtp_pcap(tmp_path / f"speech-{law}.pcap", pcm, law)
    result = run_sipp(
        "uac_speech.xml",
        running.port,
        timeout=timeout,
        cwd=tmp_path,
        subst={"PCAP": pcap, "PT": payload_type, "CODEC": codec, "PAUSE": pause_ms, "BYE_TIMEOUT": timeout * 1000},
    )
    assert sipp_counts(result) == (1, 0), result.stdout[-3000:] + result.stderr[-1500:]
    running.wait_idle()
    calls = CallStore(redis_conn).recent()
    assert len(calls) == 1
    return calls[0], CallStore(redis_conn).timeline(calls[0].id)


def events(timeline, kind: str) -> list[dict]:
    return [e["data"] for e in timeline if e["kind"] == "event" and e["data"]["type"] == kind]


def logs(timeline, name: str) -> list[dict]:
    return [
        e["data"]["data"]
        for e in timeline
        if e["kind"] == "action" and e["data"]["type"] == "log" and e["data"]["event"] == name
    ]


def jobs_of(timeline) -> list[dict]:
    return [e["data"] for e in timeline if e["kind"] == "action" and e["data"]["type"] == "job"]


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_saying_skype_over_the_prompt_sends_the_support_links(speech_ivr, redis_conn, tmp_path, law):
    # spoken 1 s into the greeting, which allows barge-in: it stops, and "skype" answers the menu
    record, timeline = speak_call(
        speech_ivr, redis_conn, tmp_path, phone_pcm("I need help with Skype", law=law) + silence(2), law=law
    )
    assert record.path[-4:] == ["main_menu", "support_links_route", "send_support_links", "goodbye"], record.path
    assert [j["kind"] for j in jobs_of(timeline)] == ["sms"]
    heard = events(timeline, "speech")
    assert len(heard) == 1 and "help" in heard[0]["text"].lower() and heard[0]["confidence"] > 0.3
    assert logs(timeline, "menu_choice") == [{"step": "main_menu", "choice": "1", "via": "speech"}]


def test_an_hd_call_is_heard_at_16_khz(speech_ivr, redis_conn, tmp_path, pool):
    """A G.722 caller's words reach the recognizer as the 16 kHz audio they were sent in, not the phone band."""
    before = pool.wideband
    pcm = hd_pcm("I need help with Skype") + b"\0" * 64000  # and 2 s of silence, at 16 kHz
    record, timeline = speak_call(speech_ivr, redis_conn, tmp_path, pcm, law="g722")
    assert record.path[-4:] == ["main_menu", "support_links_route", "send_support_links", "goodbye"], record.path
    assert [j["kind"] for j in jobs_of(timeline)] == ["sms"]
    assert logs(timeline, "menu_choice") == [{"step": "main_menu", "choice": "1", "via": "speech"}]
    assert pool.wideband == before + 1


def test_out_of_grammar_is_a_no_match_then_the_retry_hears_chat(speech_ivr, redis_conn, tmp_path):
    pcm = phone_pcm("what is the weather like tomorrow") + silence(4) + phone_pcm("live chat") + silence(2)
    record, timeline = speak_call(speech_ivr, redis_conn, tmp_path, pcm)
    assert [m["input"] for m in logs(timeline, "no_match")][:1] != [], timeline
    assert record.path[-2:] == ["send_chat_link", "goodbye"], record.path
    assert [j["kind"] for j in jobs_of(timeline)] == ["chat"]


def test_spoken_callback_number_reaches_the_callback_job(speech_ivr, redis_conn, tmp_path):
    # "call me back" -> "a different number" -> the number -> "yes" at the read-back
    pcm = (
        phone_pcm("call me back")
        + silence(3.5)
        + phone_pcm("different number please")
        + silence(3.5)
        + phone_pcm("two zero seven, nine four six, zero nine five eight")
        + silence(3.5)
        + phone_pcm("yes")
        + silence(2)
    )
    record, timeline = speak_call(speech_ivr, redis_conn, tmp_path, pcm, timeout=120)
    assert record.path[-3:] == ["enter_callback_number", "request_callback", "goodbye"], record.path
    callback = [j for j in jobs_of(timeline) if j["kind"] == "callback"]
    assert len(callback) == 1 and "2079460958" in str(callback[0]["payload"]), callback


def test_silence_and_line_noise_run_the_retries_out(speech_ivr, redis_conn, tmp_path):
    from tests.speech.audio import with_noise

    hiss = with_noise(silence(60), 30)  # faint pink noise, no words: the VAD must not start an utterance
    record, timeline = speak_call(speech_ivr, redis_conn, tmp_path, hiss, timeout=150, no_rtp_timeout=150)
    assert record.path[-4:] == ["main_menu", "links_anyway_route", "send_links_anyway", "goodbye"], record.path
    assert events(timeline, "speech") == [] and len(events(timeline, "no_input")) == 3


def test_talking_over_the_prompt_stops_it(speech_ivr, uac_factory):
    """Reads the IVR's own RTP: prompt audio, then silence once the caller speaks, long before the greeting
    (about 11 s) could have ended."""
    running = speech_ivr()
    uac = uac_factory(running.port)
    media = uac.media_port(uac.call(codecs="0"))
    uac.rtp.settimeout(5)
    playing = 0
    while playing < 25:  # the greeting plays (after the silence sent while it is rendered)
        playing = playing + 1 if _received_payloads(uac, 1)[0] != SILENT else 0
    voice = g711_bytes(phone_pcm("I need help with Skype"), "ulaw")
    quiet_run, after_start = 0, 0
    for index in range(0, len(voice) - 159, 160):
        uac.send_rtp(0, voice[index : index + 160], seq=index // 160, ts=index, to_port=media)
        for payload in _received_payloads(uac, 1):  # one IVR packet per packet sent: the pace of a phone
            after_start += 1
            quiet_run = quiet_run + 1 if payload == SILENT else 0
        if quiet_run >= 10:
            break
    assert quiet_run >= 10, "the prompt went on while the caller spoke"
    assert after_start < 150  # within the 3 s phrase, not after the 11 s greeting
    uac.request("BYE", to_tag=uac.to_tag)


SILENT = b"\xff" * 160


def _received_payloads(uac, count: int) -> list[bytes]:
    payloads = []
    while len(payloads) < count:
        data, _ = uac.rtp.recvfrom(2048)
        if len(data) == 172:
            payloads.append(data[12:])
    return payloads
