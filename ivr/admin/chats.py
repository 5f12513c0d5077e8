"""Chats: the operator's side (rooms, a room's history, replying) and the caller's side, a public page at the
unguessable, expiring link sent by SMS (`/chat/<token>`, no login). Both sides poll for messages after a cursor."""

from __future__ import annotations

import time

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import login_required

from ivr.store.chats import ChatStore, RoomNotFound
from ivr.store.followups import FollowupStore

from .common import actor, admin_required, found_or_404, redis_conn, settings

bp = Blueprint("chats", __name__)

MAX_TEXT = 2000
OPERATOR = "operator"
CALLER = "caller"


def _messages_json(store: ChatStore, room_id: str, after: str, public: bool = False):
    """Messages after a cursor. Callers see "operator", not which operator (account names stay internal)."""
    messages = store.read(room_id, after or "0-0")
    return jsonify(
        messages=[
            {
                "id": m.id,
                "text": m.text,
                "at": m.at,
                "author": OPERATOR if public and m.author.startswith(OPERATOR) else m.author,
            }
            for m in messages
        ]
    )


def _post(store: ChatStore, room_id: str, author: str):
    payload = request.get_json(silent=True) or request.form
    text = str(payload.get("text", "")).strip()
    if not text:
        abort(400, description="type a message first")
    if len(text) > MAX_TEXT:
        abort(413, description=f"a message is at most {MAX_TEXT} characters")
    try:
        message_id = store.post(room_id, author=author, text=text, at=time.time())
    except RoomNotFound:
        abort(404, description="this chat has ended")
    return jsonify(id=message_id)


# operator side
@bp.get("/chats/")
@login_required
def index():
    store = ChatStore(redis_conn())
    rooms = store.rooms(200)
    return render_template("chats/index.html", rooms=rooms, unread=store.unread([r["id"] for r in rooms], OPERATOR))


@bp.get("/chats/<room_id>")
@login_required
def room(room_id: str):
    store = ChatStore(redis_conn())
    found = found_or_404(store.room(room_id), "no such chat room (rooms are kept 30 days after the last message)")
    store.mark_seen(room_id, OPERATOR)
    link = settings().public_base_url.rstrip("/") + f"/chat/{found['token']}" if found.get("token") else ""
    if link and store.room_for_token(found["token"]) is None:
        link = ""  # expired: the caller's link no longer opens the room
    delivery = FollowupStore(redis_conn()).get(found["job_id"]) if found.get("job_id") else None
    return render_template(
        "chats/room.html",
        room=found,
        room_id=room_id,
        me=OPERATOR,
        link=link,
        delivery=delivery,
        poll_url=f"/chats/{room_id}/messages",
        post_url=f"/chats/{room_id}/messages",
    )


@bp.get("/chats/<room_id>/messages")
@login_required
def operator_messages(room_id: str):
    store = ChatStore(redis_conn())
    store.mark_seen(room_id, OPERATOR)  # the operator has the room open
    return _messages_json(store, room_id, request.args.get("after", ""))


@bp.post("/chats/<room_id>/messages")
@login_required
@admin_required
def operator_reply(room_id: str):
    return _post(ChatStore(redis_conn()), room_id, f"{OPERATOR}:{actor()}")


# caller side: the token is the only key, so it is checked on every request and expires with the link
def _room_for(token: str) -> tuple[ChatStore, str]:
    store = ChatStore(redis_conn())
    room_id = store.room_for_token(token) if 16 <= len(token) <= 128 else None
    if room_id is None or store.room(room_id) is None:
        abort(404, description="This chat link has expired or does not exist.")
    return store, room_id


@bp.get("/chat/<token>")
def caller_page(token: str):
    _, room_id = _room_for(token)
    return render_template(
        "chats/public.html", me=CALLER, poll_url=f"/chat/{token}/messages", post_url=f"/chat/{token}/messages"
    )


@bp.get("/chat/<token>/messages")
def caller_messages(token: str):
    store, room_id = _room_for(token)
    return _messages_json(store, room_id, request.args.get("after", ""), public=True)


@bp.post("/chat/<token>/messages")
def caller_post(token: str):
    store, room_id = _room_for(token)
    return _post(store, room_id, CALLER)
