"""A bridged transfer's hand-over link: the call's timeline without a login, read-only, until it expires."""

from __future__ import annotations

import time

from ivr.store.calls import CallStore
from ivr.system import handover


def a_call(redis_conn) -> str:
    store = CallStore(redis_conn)
    store.start("CA-handover", channel="sip", caller="+442079460001", called="+15550000000", started_at=time.time())
    store.append("CA-handover", [{"at": time.time(), "kind": "event", "data": {"type": "digits", "digits": "0"}}])
    return "CA-handover"


def test_the_link_shows_the_timeline_without_a_login(app, redis_conn):
    call_id = a_call(redis_conn)
    make = handover.link_maker("https://ivr.example.test", "test-secret")
    path = make(call_id).removeprefix("https://ivr.example.test")
    page = app.test_client().get(path)
    assert page.status_code == 200
    assert "+442079460001" in page.text and "pressed 0" in page.text and "read-only" in page.text


def test_an_expired_forged_or_other_secret_link_is_a_404(app, redis_conn):
    call_id = a_call(redis_conn)
    client = app.test_client()
    old = handover.make_token(call_id, "test-secret", now=lambda: time.time() - 25 * 3600)  # the default is 24 h
    assert client.get(f"/calls/shared/{old}").status_code == 404
    assert client.get(f"/calls/shared/{handover.make_token(call_id, 'another-secret')}").status_code == 404
    good = handover.make_token(call_id, "test-secret")
    assert client.get(f"/calls/shared/{good[:-2]}xx").status_code == 404
    assert client.get(f"/calls/shared/{good}").status_code == 200


def test_the_link_cannot_change_anything(app, redis_conn):
    token = handover.make_token(a_call(redis_conn), "test-secret")
    assert app.test_client().post(f"/calls/shared/{token}").status_code in (400, 405)


def test_no_link_without_a_public_url_or_a_secret():
    assert handover.link_maker("", "s") is None and handover.link_maker("https://x", "") is None
    assert handover.call_of("anything", "", 24) is None
