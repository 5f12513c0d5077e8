"""Signatures (missing, bad, wrong URL, replay), proxies (PUBLIC_BASE_URL, ProxyFix), CSRF and body limits."""

from __future__ import annotations

from flask import Flask
from flask_wtf import CSRFProtect
from rq import Queue
from twilio.request_validator import RequestValidator

from ivr import jobs
from ivr.channels.twilio import views as twilio_web
from ivr.store.calls import CallStore
from tests.twilio.twilio_caller import AUTH_TOKEN, FlaskTransport, SignedPoster, TwilioCall

ENDPOINTS = [
    "/twilio/voice",
    "/twilio/voice/gather?t=1",
    "/twilio/voice/dial?t=1",
    "/twilio/voice/record?t=1",
    "/twilio/voice/status",
    "/twilio/voice/fallback",
    "/twilio/sms",
]


def test_every_endpoint_refuses_missing_and_bad_signatures_and_changes_nothing(twilio, redis_conn):
    params = {
        "CallSid": "CAbad",
        "From": "+15557770001",
        "To": "+15550000000",
        "MessageSid": "SMbad",
        "Body": "hi",
        "Digits": "1",
        "CallStatus": "completed",
    }
    forged = SignedPoster(twilio.transport, token="not-the-auth-token")
    for path in ENDPOINTS:
        for reply in (
            twilio.post(path, params, sign=False),
            forged.post(path, params),
            twilio.post(path, params, signature=""),
        ):
            assert reply.status == 403, (path, reply.body)
            assert "X-Twilio-Signature" in reply.body
    assert redis_conn.dbsize() == 0


def test_signature_over_another_url_or_tampered_params_is_refused(twilio, redis_conn):
    params = TwilioCall(twilio).params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://ivr.example.test/twilio/voice", params)
    assert twilio.post("/twilio/voice?flow=other", params, signature=signature).status == 403
    assert twilio.post("/twilio/voice", {**params, "From": "+15550100200"}, signature=signature).status == 403
    assert twilio.post("/twilio/voice", params, signature=signature).status == 200


def test_no_auth_token_configured_refuses_everything(make_app, settings):
    app = make_app(settings.with_overrides(twilio_auth_token=""))
    poster = SignedPoster(FlaskTransport(app.test_client()), token="")
    assert poster.post("/twilio/voice", TwilioCall(poster).params()).status == 403


def test_the_same_signed_request_twice_gives_the_same_twiml_and_one_job(twilio, redis_conn):
    call = TwilioCall(twilio)
    first = call.answer()
    again = call.answer()
    assert again.body == first.body
    url = first.action("Gather")
    one = twilio.post(url, call.params(Digits="1"))
    two = twilio.post(url, call.params(Digits="1"))
    assert one.status == two.status == 200 and one.body == two.body
    assert len(Queue(jobs.QUEUE_NAME, connection=redis_conn).job_ids) == 1
    assert len(CallStore(redis_conn).get(call.sid).jobs) == 1
    events = [e for e in CallStore(redis_conn).timeline(call.sid) if e["kind"] == "event"]
    assert [e["data"]["type"] for e in events] == ["call_started", "digits"]


def test_public_base_url_behind_a_tls_proxy(make_app, settings):
    """Twilio signed https://ivr.example.test/...; the app is reached over http on an inner host and port."""
    app = make_app(settings.with_overrides(public_base_url="https://ivr.example.test/"))
    client = app.test_client()
    params = TwilioCall(SignedPoster(None)).params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://ivr.example.test/twilio/voice", params)
    inner = client.post("http://10.0.0.5:8000/twilio/voice", data=params, headers={"X-Twilio-Signature": signature})
    assert inner.status_code == 200
    # Twilio may sign with the default port spelled out; RequestValidator accepts both forms.
    with_port = RequestValidator(AUTH_TOKEN).compute_signature("https://ivr.example.test:443/twilio/voice", params)
    assert (
        client.post(
            "http://10.0.0.5:8000/twilio/voice", data=params, headers={"X-Twilio-Signature": with_port}
        ).status_code
        == 200
    )


def test_without_public_base_url_proxy_headers_are_trusted_only_with_proxy_fix(make_app, settings):
    params = TwilioCall(SignedPoster(None)).params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://ivr.example.test/twilio/voice", params)
    headers = {"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.test"}
    untrusted = make_app(settings.with_overrides(public_base_url="")).test_client()
    assert untrusted.post("http://127.0.0.1:8000/twilio/voice", data=params, headers=headers).status_code == 403
    trusted = make_app(settings.with_overrides(public_base_url="", proxy_fix=1)).test_client()
    assert trusted.post("http://127.0.0.1:8000/twilio/voice", data=params, headers=headers).status_code == 200


def test_body_over_the_limit_gets_413_even_unsigned(make_app, settings, redis_conn):
    app = make_app(settings.with_overrides(max_request_bytes=2048))
    poster = SignedPoster(FlaskTransport(app.test_client()))
    params = {**TwilioCall(poster).params(), "Body": "x" * 4096}
    for sign in (True, False):
        reply = poster.post("/twilio/sms", params, sign=sign)
        assert reply.status == 413 and '"status":413' in reply.body.replace(" ", "")
    assert redis_conn.dbsize() == 0


def test_admin_csrf_does_not_block_the_webhooks(settings, redis_conn, clock):
    """With Flask-WTF's CSRFProtect on the app (as the admin sets up), signed webhooks still pass."""
    from ivr.web import WebRuntime

    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", IVR_SETTINGS=settings, IVR_CLOCK=clock)
    app.extensions["ivr"] = WebRuntime(settings, redis_conn)
    CSRFProtect(app)
    twilio_web.init_app(app)

    @app.post("/admin-form")
    def admin_form():
        return "changed"

    client = app.test_client()
    assert client.post("/admin-form", data={}).status_code == 400  # CSRF is really on
    poster = SignedPoster(FlaskTransport(client))
    assert poster.post("/twilio/voice", TwilioCall(poster).params()).status == 200


def test_webhooks_neither_open_nor_set_session_cookies(app):
    """A webhook never gets a session: an admin's cookie is not read, and Twilio is never handed one."""
    client = app.test_client()
    with client.session_transaction() as session:  # this client is also logged in to the admin
        session["_user_id"] = "admin"
    seen = []

    @app.before_request
    def note_session():
        from flask import session

        seen.append(dict(session))

    poster = SignedPoster(FlaskTransport(client))
    call = TwilioCall(poster)
    for path, params in (
        ("/twilio/voice", call.params(CallStatus="ringing")),
        ("/twilio/voice/gather?t=1", call.params(Digits="1")),
        ("/twilio/voice/status", call.params(CallStatus="completed", CallDuration="9")),
        ("/twilio/sms", {"MessageSid": "SM1", "From": "+15557770001", "To": "+15550000000", "Body": "hi"}),
    ):
        url = "https://ivr.example.test" + path
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
        response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, (path, response.get_data(as_text=True))
        assert "Set-Cookie" not in response.headers, path
    assert seen == [{}, {}, {}, {}]
    assert client.get("/healthz").status_code == 200 and seen[-1] == {"_user_id": "admin"}  # the admin's own


def test_garbage_signature_headers_are_refused_not_crashing(twilio):
    params = TwilioCall(twilio).params()
    for junk in ("ünïcode", "a" * 5000, "=="):
        assert twilio.post("/twilio/voice", params, signature=junk).status == 403
    settings_header = {"X-Twilio-Webhooks-Signature-Settings": "key=k,algorithm=HMAC_MD5"}
    assert twilio.post("/twilio/voice", params, headers=settings_header).status == 403


def test_a_proxy_path_prefix_in_public_base_url_is_signed_and_kept_in_action_urls(make_app, settings):
    """The proxy serves https://example.test/ivr/... and strips /ivr before passing requests on."""
    app = make_app(settings.with_overrides(public_base_url="https://example.test/ivr"))
    params = TwilioCall(SignedPoster(None)).params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://example.test/ivr/twilio/voice", params)
    reply = app.test_client().post(
        "http://10.0.0.5:8000/twilio/voice", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert reply.status_code == 200
    assert 'action="https://example.test/ivr/twilio/voice/gather?t=1"' in reply.get_data(as_text=True)


def test_without_public_base_url_action_urls_are_root_relative(make_app, settings):
    app = make_app(settings.with_overrides(public_base_url=""))
    poster = SignedPoster(FlaskTransport(app.test_client()), base="http://localhost/")
    reply = TwilioCall(poster).answer()
    assert reply.find("Gather").get("action") == "/twilio/voice/gather?t=1"
