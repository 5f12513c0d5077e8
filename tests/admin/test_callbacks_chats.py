"""The callback queue and its operator actions; chat rooms from both sides (operator pages, the public link)."""

from __future__ import annotations

import time

from rq import Queue
from rq.registry import ScheduledJobRegistry

from ivr import jobs
from ivr.store import keys
from ivr.store.callbacks import CallbackStore
from ivr.store.chats import ChatStore


def queue_two(redis_conn):
    store = CallbackStore(redis_conn)
    store.create("req-a", number="+15550001111", call_id="call-a", at=1000.0)
    store.create("req-b", number="+15550002222", call_id="call-b", at=2000.0)
    store.record_attempt("req-b", at=2100.0, outcome="failed", detail="busy")
    return store


def test_queue_shows_position_number_attempts(admin, redis_conn):
    queue_two(redis_conn)
    page = admin.get("/callbacks/").text
    assert page.index("+15550001111") < page.index("+15550002222")
    assert "failed busy" in page and "Call now" in page


def test_call_now_queues_a_dial_job(admin, redis_conn):
    queue_two(redis_conn)
    admin.post("/callbacks/req-a/call-now")
    queued = Queue(jobs.QUEUE_NAME, connection=redis_conn).jobs
    assert [(j.func_name, j.args[0], j.args[2]) for j in queued] == [("ivr.jobs.callback.dial", "req-a", 1)]
    assert CallbackStore(redis_conn).get("req-a").scheduled_for is not None


def test_reschedule_done_and_drop(admin, redis_conn):
    store = queue_two(redis_conn)
    later = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(time.time() + 7200))
    admin.post("/callbacks/req-b/reschedule", data={"when": later})
    assert store.get("req-b").scheduled_for > time.time() + 3600
    scheduled = ScheduledJobRegistry(queue=Queue(jobs.QUEUE_NAME, connection=redis_conn))
    assert len(scheduled.get_job_ids()) == 1
    admin.post("/callbacks/req-a/done")
    assert store.get("req-a").status == "completed" and store.get("req-a").position is None
    admin.post("/callbacks/req-b/drop")
    assert store.get("req-b").status == "failed" and "dropped by ada" in store.get("req-b").reason
    assert "Nobody is waiting" in admin.get("/callbacks/").text
    response = admin.post("/callbacks/req-b/drop", follow_redirects=True)
    assert "already failed" in response.text


def test_viewer_cannot_act_on_callbacks(viewer, redis_conn):
    queue_two(redis_conn)
    assert viewer.post("/callbacks/req-a/done").status_code == 403
    assert "Mark done" not in viewer.get("/callbacks/").text


def make_room(redis_conn, ttl=600) -> tuple[str, str]:
    token = "tok_" + "x" * 30
    ChatStore(redis_conn).create_room(
        "room1", call_id="call-1", caller="+15550007777", at=time.time(), token=token, token_ttl=ttl
    )
    return "room1", token


def test_chat_both_sides(app, admin, redis_conn):
    room, token = make_room(redis_conn)
    caller = app.test_client()  # no login: the link is the key
    page = caller.get(f"/chat/{token}")
    assert page.status_code == 200 and "chat-log" in page.text
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        caller.post(f"/chat/{token}/messages", json={"text": "hello?"}, headers={"X-CSRFToken": csrf}).status_code
        == 200
    )
    assert "+15550007777" in admin.get("/chats/").text
    assert admin.get(f"/chats/{room}").status_code == 200
    messages = admin.get(f"/chats/{room}/messages").json["messages"]
    assert [(m["author"], m["text"]) for m in messages] == [("caller", "hello?")]
    admin.post(f"/chats/{room}/messages", json={"text": "Hi, this is Ada."})
    seen = caller.get(f"/chat/{token}/messages?after={messages[0]['id']}").json["messages"]
    assert [(m["author"], m["text"]) for m in seen] == [("operator", "Hi, this is Ada.")]
    assert admin.get(f"/chats/{room}/messages").json["messages"][1]["author"] == "operator:ada"


def test_chat_link_expires_and_is_unguessable(app, redis_conn):
    _, token = make_room(redis_conn, ttl=1)
    caller = app.test_client()
    assert caller.get("/chat/" + "y" * 32).status_code == 404
    assert caller.get(f"/chat/{token}").status_code == 200
    redis_conn.pexpire(keys.chat_token(token), 1)
    time.sleep(0.05)
    assert caller.get(f"/chat/{token}").status_code == 404
    assert caller.get("/chats/").status_code == 302  # the operator side needs a login


def test_chat_room_shows_the_link_its_sms_state_and_unread_markers(admin, redis_conn, app, settings):
    """Issue 19: operators see the caller's link, whether its SMS arrived, and which rooms have unread messages."""
    import time as _time

    from ivr.store.chats import ChatStore
    from ivr.store.followups import FollowupStore, Status

    app.config["IVR_SETTINGS"] = settings.with_overrides(public_base_url="https://ivr.example.test")
    chats, followups = ChatStore(redis_conn), FollowupStore(redis_conn)
    followups.create("c9:chat:1", kind="chat", call_id="c9", at=_time.time())
    followups.record("c9:chat:1", Status.FAILED, at=_time.time(), detail="not retried: refused tester: not a number")
    chats.create_room(
        "room-u", call_id="c9", caller="tester", at=_time.time(), token="u" * 32, token_ttl=600, job_id="c9:chat:1"
    )
    chats.post("room-u", author="caller", text="hello?", at=_time.time())
    listing = admin.get("/chats/").text
    assert 'data-room="room-u" class="unread"' in listing
    room = admin.get("/chats/room-u").text
    assert "https://ivr.example.test/chat/" + "u" * 32 in room
    assert 'id="link-delivery">SMS failed' in room and "refused tester" in room
    assert 'class="unread"' not in admin.get("/chats/").text  # opening the room read it
    chats.post("room-u", author="operator:ada", text="hi", at=_time.time())
    assert 'class="unread"' not in admin.get("/chats/").text  # our own reply is not unread
