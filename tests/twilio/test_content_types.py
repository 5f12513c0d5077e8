"""Twilio posts url-encoded forms only: every other body is refused with 415, and the signature covers exactly
the parameters the views read (issue 12 item 2).

Twilio's signing string is the URL followed by name+value pairs with no separators, so one captured signed
request also signs a URL that carries its pairs as a query string. Sent with a multipart body (which Flask
reads into `request.form` too), that signature once drove another caller's gather.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from rq import Queue
from twilio.request_validator import RequestValidator
from urllib3 import encode_multipart_formdata

from ivr import jobs
from ivr.store.calls import CallStore
from tests.twilio.test_security import ENDPOINTS
from tests.twilio.twilio_caller import AUTH_TOKEN, PUBLIC_BASE, TwilioCall

VALIDATOR = RequestValidator(AUTH_TOKEN)


def url_of(path: str) -> str:
    return PUBLIC_BASE + path


def send(poster, url: str, body: bytes, content_type: str | None, signature: str):
    headers = {"X-Twilio-Signature": signature}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return poster.transport.post_raw(url, body, headers)


def digits_heard(redis_conn, call_sid: str) -> list[str]:
    return [
        e["data"]["digits"]
        for e in CallStore(redis_conn).timeline(call_sid)
        if e["kind"] == "event" and e["data"]["type"] == "digits"
    ]


def test_a_captured_signature_moved_into_the_query_cannot_drive_another_call(twilio, redis_conn):
    victim, attacker = TwilioCall(twilio), TwilioCall(twilio)
    victim.answer()
    attacker.answer()
    # What the attacker captured: one signed gather of their own call.
    captured_url, captured = attacker.last.action("Gather"), attacker.params(Digits="9")
    signature = VALIDATOR.compute_signature(captured_url, captured)
    forged_url = captured_url + "".join(name + captured[name] for name in sorted(captured))
    assert VALIDATOR.compute_signature(forged_url, {}) == signature  # the same signing string
    body, content_type = encode_multipart_formdata({"CallSid": victim.sid, "Digits": "1"})
    status, reply = send(twilio, forged_url, body, content_type, signature)
    assert status == 415, reply
    assert digits_heard(redis_conn, victim.sid) == []
    assert Queue(jobs.QUEUE_NAME, connection=redis_conn).job_ids == []
    # Url-encoded, the same pairs are signed as parameters: the forged signature no longer matches.
    status, _ = send(
        twilio,
        forged_url,
        urlencode({"CallSid": victim.sid, "Digits": "1"}).encode(),
        "application/x-www-form-urlencoded",
        signature,
    )
    assert status == 403
    assert digits_heard(redis_conn, victim.sid) == []


def _bodies(params: dict) -> dict[str, tuple[bytes, str | None]]:
    multipart, multipart_type = encode_multipart_formdata(params)
    return {
        "multipart": (multipart, multipart_type),
        "json": (json.dumps(params).encode(), "application/json"),
        "text": (urlencode(params).encode(), "text/plain"),
        "none": (urlencode(params).encode(), None),
    }


@pytest.mark.parametrize("kind", ["multipart", "json", "text", "none"])
def test_every_endpoint_refuses_a_body_that_is_not_url_encoded_with_415(twilio, redis_conn, kind):
    call = TwilioCall(twilio)
    params = {**call.params(Digits="1", CallStatus="completed"), "MessageSid": "SM" + "1" * 32, "Body": "1"}
    body, content_type = _bodies(params)[kind]
    for path in ENDPOINTS:
        # signed as the old check did for such bodies (URL alone), and as if the pairs were form parameters
        for signature in (
            VALIDATOR.compute_signature(url_of(path), {}),
            VALIDATOR.compute_signature(url_of(path), params),
        ):
            status, reply = send(twilio, url_of(path), body, content_type, signature)
            assert status == 415, (path, kind, status, reply)
            assert "application/x-www-form-urlencoded" in reply
    assert redis_conn.dbsize() == 0  # nothing was read, written or queued


def test_url_encoded_with_a_charset_is_accepted_and_signed_over_its_parameters(twilio, redis_conn):
    call = TwilioCall(twilio)
    params = call.params(CallStatus="ringing")
    body = urlencode(params).encode()
    content_type = "application/x-www-form-urlencoded; charset=utf-8"
    status, reply = send(
        twilio,
        url_of("/twilio/voice"),
        body,
        content_type,
        VALIDATOR.compute_signature(url_of("/twilio/voice"), params),
    )
    assert status == 200 and "<Gather" in reply
    status, _ = send(
        twilio, url_of("/twilio/voice"), body, content_type, VALIDATOR.compute_signature(url_of("/twilio/voice"), {})
    )
    assert status == 403  # a signature over the URL alone does not cover the parameters read
    assert CallStore(redis_conn).get(call.sid) is not None


def test_pairs_moved_into_the_turn_number_cannot_replay_a_turn_as_a_new_one(twilio, redis_conn):
    """The same ambiguity with a url-encoded body: the first pairs go into `t`, the rest stay in the body. The
    signature still matches, and `t` read leniently as 0 made the replay a new turn instead of a repeat."""
    call = TwilioCall(twilio)
    call.answer()
    captured_url, captured = call.last.action("Gather"), call.params(Digits="3")
    signature = VALIDATOR.compute_signature(captured_url, captured)
    assert twilio.post(captured_url, captured, signature=signature).status == 200  # Twilio's own delivery
    names = sorted(captured)
    forged_url = captured_url + "".join(name + captured[name] for name in names[:2])
    rest = {name: captured[name] for name in names[2:]}
    assert VALIDATOR.compute_signature(forged_url, rest) == signature
    status, reply = send(twilio, forged_url, urlencode(rest).encode(), "application/x-www-form-urlencoded", signature)
    assert status == 400 and "t must be" in reply
    assert digits_heard(redis_conn, call.sid) == ["3"]
