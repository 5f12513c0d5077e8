"""Status callbacks (duplicates, out of order), unknown calls, the fallback URL, Redis down, prompt audio."""

from __future__ import annotations

import wave

from ivr.call_session.session import DOWN_BACKOFF
from ivr.store import keys
from ivr.store.calls import CallStore
from tests.twilio.twilio_caller import TwilioCall


def call_hash(redis_conn, sid) -> dict:
    return {k.decode(): v.decode() for k, v in redis_conn.hgetall(keys.call(sid)).items()}


def test_status_callbacks_complete_the_record_once_and_in_order(twilio, redis_conn):
    call = TwilioCall(twilio)
    call.answer()
    assert call.status("ringing").status == 200
    assert call.status("in-progress").status == 200
    assert CallStore(redis_conn).live() == [call.sid]
    done = call.status("completed", duration=37)
    assert done.status == 200 and '"result":"applied"' in done.body.replace(" ", "")
    record = call_hash(redis_conn, call.sid)
    assert (record["status"], record["duration"]) == ("completed", "37")
    stored = CallStore(redis_conn).get(call.sid)
    assert stored.ended_at is not None and stored.path[-1] == "main_menu"
    assert CallStore(redis_conn).live() == []
    timeline = CallStore(redis_conn).timeline(call.sid)
    # duplicates and late arrivals change nothing, and the hang-up reaches the engine once
    for late in ("completed", "in-progress", "ringing", "busy"):
        reply = call.status(late, duration=99)
        assert reply.status == 200 and '"result":"stale"' in reply.body.replace(" ", "")
    assert (call_hash(redis_conn, call.sid)["status"], call_hash(redis_conn, call.sid)["duration"]) == (
        "completed",
        "37",
    )
    assert CallStore(redis_conn).timeline(call.sid) == timeline
    hung_up = [e for e in timeline if e["kind"] == "event" and e["data"]["type"] == "hung_up"]
    assert len(hung_up) == 1


def test_final_status_arriving_before_the_intermediate_ones(twilio, redis_conn):
    call = TwilioCall(twilio)
    call.answer()
    call.press("1")
    call.status("completed", duration=12)
    call.status("in-progress")
    call.status("ringing")
    record = call_hash(redis_conn, call.sid)
    assert (record["status"], record["duration"]) == ("completed", "12")
    assert CallStore(redis_conn).get(call.sid).outcome == "support_links_sent"  # the flow's own outcome stays


def test_status_for_an_unknown_call_is_accepted_and_stores_nothing(twilio, redis_conn):
    reply = TwilioCall(twilio).status("completed", duration=3)
    assert reply.status == 200 and '"result":"no-record"' in reply.body.replace(" ", "")
    assert redis_conn.keys(f"{keys.PREFIX}call:*") == []


def test_unknown_or_expired_call_on_an_action_url_ends_politely(twilio, redis_conn):
    call = TwilioCall(twilio)
    for path in ("/twilio/voice/gather?t=3", "/twilio/voice/dial?t=2", "/twilio/voice/record?t=4"):
        reply = twilio.post(path, call.params(Digits="1"))
        assert reply.status == 200 and reply.verbs() == ["Say", "Hangup"]
        assert "can no longer be continued" in reply.said()[0]


def test_missing_callsid_is_a_json_400(twilio):
    reply = twilio.post("/twilio/voice", {"From": "+15557770001"})
    assert reply.status == 400 and "CallSid" in reply.body


def test_fallback_needs_neither_redis_nor_flows(make_app, settings, redis_server, tmp_path):
    app = make_app(settings.with_overrides(flows_dir=tmp_path / "no-flows", redis_url="unix:///nonexistent.sock"))
    redis_server.stop()
    try:
        from tests.twilio.twilio_caller import FlaskTransport, SignedPoster

        poster = SignedPoster(FlaskTransport(app.test_client()))
        reply = poster.post(
            "/twilio/voice/fallback",
            {**TwilioCall(poster).params(), "ErrorCode": "11200", "ErrorUrl": "https://ivr.example.test/twilio/voice"},
        )
        assert reply.status == 200 and reply.verbs() == ["Say", "Hangup"]
        assert "not Skype" in reply.said()[0] and "support dot skype dot com" in reply.said()[0]
        # the main webhook with no flow and no Redis still answers with the same key information
        broken = poster.post("/twilio/voice", TwilioCall(poster).params())
        assert broken.status == 200 and broken.verbs() == ["Say", "Hangup"] and "not Skype" in broken.said()[0]
    finally:
        redis_server.start()


def test_redis_down_a_new_call_runs_from_the_cached_flow_and_the_spool(app, flask_twilio, redis_server, redis_conn):
    twilio = flask_twilio
    warm = TwilioCall(twilio)
    warm.answer()  # the process has loaded the flow
    redis_server.stop()
    try:
        call = TwilioCall(twilio)
        first = call.answer()
        assert first.find("Gather") is not None and "This is not Skype" in first.said()[0]
        done = call.press("1")
        assert "sent Skype's support links" in done.said()[0] and done.verbs()[-1] == "Hangup"
        # a call that was live before the outage goes on from the state this process remembers
        live = warm.press("1")
        assert "sent Skype's support links" in live.said()[0] and live.verbs()[-1] == "Hangup"
    finally:
        redis_server.start()
    conn = redis_server.client()
    assert CallStore(conn).get(call.sid) is None  # so far only in the local spool
    app.extensions["ivr"].call_session.replay()  # what the next turn does in the background
    record = CallStore(conn).get(call.sid)
    assert record is not None and record.outcome == "support_links_sent" and len(record.jobs) == 1


def test_play_mode_serves_the_shared_tts_audio_with_caching_headers(make_app, settings):
    app = make_app(settings.with_overrides(twilio_prompt_mode="play"))
    client = app.test_client()
    from tests.twilio.twilio_caller import FlaskTransport, SignedPoster

    call = TwilioCall(SignedPoster(FlaskTransport(client)))
    first = call.answer()
    plays = [e.text for e in first.xml.iter("Play")]
    assert len(plays) == 2 and first.said() == [] and first.find("Gather/Play") is not None
    audio = client.get(plays[0])
    assert audio.status_code == 200 and audio.mimetype == "audio/wav"
    assert "immutable" in audio.headers["Cache-Control"] and "max-age=31536000" in audio.headers["Cache-Control"]
    path = settings.data_dir / "prompts" / plays[0].rsplit("/", 1)[1]
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
    assert client.get(plays[0], headers={"If-None-Match": audio.headers["ETag"]}).status_code == 304
    assert client.get("/audio/" + "0" * 64 + ".wav").status_code == 404
    assert client.get("/audio/..%2Fsecret.wav").status_code == 404


def test_play_mode_audio_is_the_sip_channels_cached_file(make_app, settings):
    """One voice on both channels: the WAV a Twilio caller is sent is the very file SIP's prompt library plays."""
    from ivr.channels.sip.media.prompts import PromptLibrary
    from tests.twilio.twilio_caller import FlaskTransport, SignedPoster

    app = make_app(settings.with_overrides(twilio_prompt_mode="play"))
    first = TwilioCall(SignedPoster(FlaskTransport(app.test_client()))).answer()
    served = [settings.data_dir / "prompts" / e.text.rsplit("/", 1)[1] for e in first.xml.iter("Play")]
    library = PromptLibrary(settings.data_dir / "prompts")
    texts = [
        "Hello. You have reached a private phone number. This is not Skype, and Skype does not offer support "
        "by phone, so nobody here can help with a Skype account. I can send you Skype's own help instead.",
        "To get Skype's support links by text message, press 1 or say support. For a link to a live chat, "
        "press 2. To ask for a call back, press 3. To reach the owner of this number, press 0.",
    ]
    mtimes = [p.stat().st_mtime_ns for p in served]
    assert [library.wav_path(text=t, language="en-US") for t in texts] == served
    assert [p.stat().st_mtime_ns for p in served] == mtimes  # found in the cache, not rendered again


class SteppedClock:
    """A monotonic clock for the call session's Redis breaker that only moves when the test says so."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_status_callback_while_redis_is_down_gets_503_and_its_retry_completes_the_call(
    app, flask_twilio, redis_server, settings
):
    from ivr.call_session.wiring import open_call_session

    breaker_clock = SteppedClock()
    runtime = app.extensions["ivr"]
    runtime.call_session = open_call_session(settings, conn=runtime.redis, clock=breaker_clock)
    call = TwilioCall(flask_twilio)
    call.answer()
    redis_server.stop()
    try:
        reply = call.status("completed", duration=20)
        assert reply.status == 503 and '"result":"unavailable"' in reply.body.replace(" ", "")
    finally:
        redis_server.start()
    assert CallStore(redis_server.client()).get(call.sid).ended_at is None  # nothing in Redis changed
    breaker_clock.now += DOWN_BACKOFF  # Twilio's retry comes after the session stops treating Redis as down
    retry = call.status("completed", duration=20)
    assert retry.status == 200 and '"result":"applied"' in retry.body.replace(" ", "")
    app.extensions["ivr"].call_session.replay()  # the hang-up turn, spooled during the outage, reaches Redis
    record = CallStore(redis_server.client()).get(call.sid)
    assert record.ended_at is not None and record.path[-1] == "main_menu"
    assert call_hash(redis_server.client(), call.sid)["duration"] == "20"
