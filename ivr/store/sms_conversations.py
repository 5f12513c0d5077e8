"""Which call session an SMS conversation belongs to: one per (caller, number texted), expiring after a quiet spell.

The record remembers the message that started the conversation and the last message applied, so a webhook that
Twilio delivers twice is recognised as a repeat (and answered from the call session's turn cache) instead of
being taken as a new reply or starting a second conversation.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from ivr.store import as_text, keys


@dataclass(frozen=True)
class Conversation:
    call_id: str
    first_sid: str
    last_sid: str
    done: bool


class SmsConversationStore:
    def __init__(self, conn: redis.Redis, ttl: int = keys.SMS_CONVERSATION_TTL):
        self.conn = conn
        self.ttl = ttl

    def get(self, caller: str, called: str) -> Conversation | None:
        raw = self.conn.hgetall(keys.sms_conversation(caller, called))
        if not raw:
            return None
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        return Conversation(
            call_id=data.get("call_id", ""),
            first_sid=data.get("first_sid", ""),
            last_sid=data.get("last_sid", ""),
            done=data.get("done") == "1",
        )

    def save(self, caller: str, called: str, *, call_id: str, first_sid: str, last_sid: str, done: bool) -> None:
        key = keys.sms_conversation(caller, called)
        with self.conn.pipeline() as pipe:
            pipe.delete(key)
            pipe.hset(
                key,
                mapping={
                    "call_id": call_id,
                    "first_sid": first_sid,
                    "last_sid": last_sid,
                    "done": "1" if done else "0",
                },
            )
            pipe.expire(key, self.ttl)
            pipe.execute()
