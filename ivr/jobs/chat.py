"""chat task: open a persistent chat room for the caller and text them its link.

The room id is derived from the job id and its token is kept in the room, so a retried job reuses the same room
and link. The link `{PUBLIC_BASE_URL}/chat/<token>` is unguessable (secrets.token_urlsafe) and expires after
IVR_CHAT_LINK_TTL; the room's messages live in a Redis stream (store.chats). A number the phone-number policy
refuses (jobs/sms.py `number_to_text`) gets no room and no text.
"""

from __future__ import annotations

import hashlib
import secrets

from ivr.jobs.context import JobContext
from ivr.jobs.delivery import Permanent, deliver
from ivr.jobs.sms import number_to_text, send_sms
from ivr.store.chats import ChatStore


def run(job_id: str, payload: dict) -> str:
    return deliver("chat", job_id, payload, lambda ctx: invite(ctx, job_id, payload))


def room_id_for(job_id: str) -> str:
    return hashlib.sha256(job_id.encode()).hexdigest()[:24]


def invite(ctx: JobContext, job_id: str, payload: dict) -> str:
    base = ctx.settings.public_base_url.rstrip("/")
    if not base:
        raise Permanent("PUBLIC_BASE_URL is not set: cannot build a chat link")
    number = number_to_text(ctx, payload.get("to") or payload.get("caller", ""), payload, job_id)  # before any room
    chats = ChatStore(ctx.redis)
    room_id = room_id_for(job_id)
    room = chats.room(room_id)
    token = room.get("token") if room else None
    if not token:
        token = secrets.token_urlsafe(24)
        chats.create_room(
            room_id,
            call_id=payload.get("call_id", ""),
            caller=payload.get("caller", ""),
            at=ctx.clock(),
            token=token,
            token_ttl=ctx.settings.chat_link_ttl,
            job_id=job_id,
        )
    link = f"{base}/chat/{token}"
    text = f"{payload.get('message') or 'Chat with us here:'} {link}".strip()
    detail = send_sms(ctx, number, text, payload, job_id, checked=True)
    return f"room {room_id}; {detail}"
