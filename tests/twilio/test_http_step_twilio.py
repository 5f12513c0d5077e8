"""The http step on Twilio, through signed requests: the request runs off the web worker; a slow answer has the
caller hear the filler and Twilio <Redirect> to a poll URL until the answer is in, on any web process."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes.web_service import WebService, lookup_flow
from tests.twilio.conftest import server_env, start_gunicorn, stop_gunicorn
from tests.twilio.twilio_caller import FlaskTransport, HttpTransport, SignedPoster, TwilioCall


@pytest.fixture
def service():
    with WebService() as running:
        yield running


def flows_for(folder, service, path: str):
    folder.mkdir(exist_ok=True)
    (folder / "lookup.yaml").write_text(lookup_flow(service.url + path, filler="One moment while I look you up."))
    return folder


def poster_for(make_app, settings, tmp_path, service, path: str) -> SignedPoster:
    flows = flows_for(tmp_path / "flows", service, path)
    app = make_app(settings.with_overrides(flows_dir=flows, http_allowlist=(service.url + "/",)))
    return SignedPoster(FlaskTransport(app.test_client()))


def follow_redirects(call: TwilioCall, reply, limit: int = 40) -> list:
    """What Twilio does: say the prompts, then POST to the <Redirect> URL, until a reply has none."""
    replies = [reply]
    while replies[-1].find("Redirect") is not None:
        assert len(replies) < limit, replies[-1].body
        replies.append(call._post(replies[-1].find("Redirect").text, call.params()))
    return replies


def test_a_quick_answer_is_rendered_in_the_same_reply(make_app, settings, tmp_path, service):
    call = TwilioCall(poster_for(make_app, settings, tmp_path, service, "/customer"))
    reply = call.answer("/twilio/voice?flow=lookup")
    assert reply.said() == ["Hello Ada."] and reply.find("Redirect") is None and reply.find("Hangup") is not None
    assert service.requests[0]["body"] == f'{{"number":"{call.caller}"}}'.encode()


def test_a_slow_answer_has_the_caller_hear_the_filler_and_poll_until_it_is_in(make_app, settings, tmp_path, service):
    call = TwilioCall(poster_for(make_app, settings, tmp_path, service, "/slow?s=2"))
    started = time.monotonic()
    first = call.answer("/twilio/voice?flow=lookup")
    assert time.monotonic() - started < 1.5  # the web worker waited filler_after, not for the answer
    assert first.said() == ["One moment while I look you up."] and first.verbs() == ["Say", "Redirect"]
    poll = urlsplit(first.find("Redirect").text)
    assert poll.path == "/twilio/voice/http" and parse_qs(poll.query)["t"] == ["1"]
    replies = follow_redirects(call, first)
    assert len(replies) >= 3  # at least one poll came back with the filler again
    assert all(r.said() == ["One moment while I look you up."] for r in replies[:-1])
    assert replies[-1].said() == ["Hello Slow."] and replies[-1].find("Hangup") is not None
    assert len(service.requests) == 1  # polls never repeat the request


def test_a_failing_service_takes_the_failed_exit(make_app, settings, tmp_path, service):
    call = TwilioCall(poster_for(make_app, settings, tmp_path, service, "/fail?status=500"))
    assert call.answer("/twilio/voice?flow=lookup").said() == ["Sorry, HTTP 500."]


def test_a_repeated_poll_gets_the_same_turn(make_app, settings, tmp_path, service):
    call = TwilioCall(poster_for(make_app, settings, tmp_path, service, "/slow?s=1.5"))
    first = call.answer("/twilio/voice?flow=lookup")
    final = follow_redirects(call, first)[-1]
    again = call._post(first.find("Redirect").text, call.params())  # Twilio retried the first poll
    assert again.said() == final.said() == ["Hello Slow."]


@pytest.mark.slow
def test_polls_may_reach_another_web_process(redis_server, redis_conn, tmp_path, service):
    flows = flows_for(tmp_path / "flows", service, "/slow?s=2")
    env = server_env(redis_server.url, tmp_path / "data")
    env.update(IVR_FLOWS_DIR=str(flows), IVR_HTTP_ALLOWLIST=service.url + "/")
    servers = [start_gunicorn(env) for _ in range(2)]
    try:
        call = TwilioCall(SignedPoster(HttpTransport([base for _, base in servers])))  # alternate request by request
        replies = follow_redirects(call, call.answer("/twilio/voice?flow=lookup"))
        assert replies[0].said() == ["One moment while I look you up."]
        assert replies[-1].said() == ["Hello Slow."] and len(service.requests) == 1
    finally:
        for proc, _ in servers:
            stop_gunicorn(proc)


def test_with_redis_down_the_filler_poll_and_answer_work_from_the_spool(
    make_app, settings, tmp_path, service, redis_server, redis_conn
):
    poster = poster_for(make_app, settings, tmp_path, service, "/slow?s=1.5")
    TwilioCall(poster).answer("/twilio/voice?flow=lookup")  # the process has loaded the flow
    redis_server.stop()
    try:
        call = TwilioCall(poster)
        replies = follow_redirects(call, call.answer("/twilio/voice?flow=lookup"))
        assert replies[0].said() == ["One moment while I look you up."]
        assert replies[-1].said() == ["Hello Slow."] and replies[-1].find("Hangup") is not None
    finally:
        redis_server.start()
