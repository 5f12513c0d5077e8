"""Issue 12 item 11: a refusal never names the configuration in its body; the log says which setting is missing."""

from __future__ import annotations

import logging

from tests.twilio.twilio_caller import FlaskTransport, SignedPoster, TwilioCall


def test_an_unset_auth_token_is_named_in_the_log_never_in_the_403(make_app, settings, caplog):
    caplog.set_level(logging.WARNING)
    app = make_app(settings.with_overrides(twilio_auth_token=""))
    poster = SignedPoster(FlaskTransport(app.test_client()))
    reply = poster.post("/twilio/voice", TwilioCall(poster).params())
    assert reply.status == 403 and "TWILIO" not in reply.body.upper().replace("X-TWILIO-SIGNATURE", "")
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text


def test_a_bad_signature_is_logged_as_such(app, caplog):
    caplog.set_level(logging.WARNING)
    poster = SignedPoster(FlaskTransport(app.test_client()))
    reply = poster.post("/twilio/voice", TwilioCall(poster).params(), signature="bogus")
    assert reply.status == 403 and "TWILIO_AUTH_TOKEN" not in caplog.text
    assert "invalid X-Twilio-Signature" in caplog.text
