"""Chat rooms: one Redis stream per room, so both sides can write while the other is away.

A reader asks for everything after its cursor (the last stream id it saw), so a participant who was offline gets
every message written meanwhile. Rooms are reached by an unguessable token that expires with the link
(`settings.chat_link_ttl`); the room itself is kept `keys.CHAT_RETENTION` after its last message.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from ivr.store import as_text, hgetall_many, keys


class RoomNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Message:
    id: str  # the stream id: a cursor for "everything after this one"
    author: str
    text: str
    at: float


def _stream_id(text: str) -> tuple[int, int]:
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class ChatStore:
    def __init__(self, conn: redis.Redis, retention: int = keys.CHAT_RETENTION):
        self.conn = conn
        self.retention = retention

    def create_room(
        self, room_id: str, *, call_id: str, caller: str, at: float, token: str, token_ttl: int, job_id: str = ""
    ) -> None:
        """`job_id`: the follow-up that texts the link (its delivery state shows in the admin)."""
        with self.conn.pipeline() as p:
            p.hset(
                keys.chat_room(room_id),
                mapping={
                    "id": room_id,
                    "call_id": call_id,
                    "caller": caller,
                    "created_at": repr(float(at)),
                    "token": token,
                    "job_id": job_id,
                },
            )
            p.expire(keys.chat_room(room_id), self.retention)
            p.set(keys.chat_token(token), room_id, ex=token_ttl)
            p.zadd(keys.CHAT_ROOMS, {room_id: float(at)})  # the operator's list of rooms
            p.execute()

    def room(self, room_id: str) -> dict | None:
        raw = self.conn.hgetall(keys.chat_room(room_id))
        return {as_text(k): as_text(v) for k, v in raw.items()} or None

    def rooms(self, limit: int = 100) -> list[dict]:
        """Rooms by last activity, newest first (rooms that expired meanwhile are dropped from the index)."""
        ids = [as_text(i) for i in self.conn.zrevrange(keys.CHAT_ROOMS, 0, max(limit, 1) - 1)]
        found = hgetall_many(self.conn, [keys.chat_room(i) for i in ids])
        gone = [room_id for room_id, raw in zip(ids, found) if not raw]
        if gone:
            self.conn.zrem(keys.CHAT_ROOMS, *gone)
        return [{as_text(k): as_text(v) for k, v in raw.items()} for raw in found if raw]

    def room_for_token(self, token: str) -> str | None:
        raw = self.conn.get(keys.chat_token(token))
        return None if raw is None else as_text(raw)

    def post(self, room_id: str, *, author: str, text: str, at: float) -> str:
        if not self.conn.exists(keys.chat_room(room_id)):
            raise RoomNotFound(room_id)
        with self.conn.pipeline() as p:
            p.xadd(keys.chat_messages(room_id), {"author": author, "text": text, "at": repr(float(at))})
            for key in (keys.chat_messages(room_id), keys.chat_room(room_id)):
                p.expire(key, self.retention)
            p.zadd(keys.CHAT_ROOMS, {room_id: float(at)})
            message_id = p.execute()[0]
        return as_text(message_id)

    def read(self, room_id: str, after: str = "0-0", count: int = 500) -> list[Message]:
        """Messages written after stream id `after`, oldest first."""
        rows = self.conn.xrange(keys.chat_messages(room_id), min=f"({after}" if after != "0-0" else "-", count=count)
        return [Message(as_text(i), as_text(f[b"author"]), as_text(f[b"text"]), float(f[b"at"])) for i, f in rows]

    def mark_seen(self, room_id: str, participant: str) -> None:
        """`participant` has seen everything in the room so far."""
        last = self.conn.xrevrange(keys.chat_messages(room_id), count=1)
        if last:
            self.conn.set(keys.chat_cursor(room_id, participant), last[0][0], ex=self.retention)

    def unread(self, room_ids: list[str], participant: str) -> set[str]:
        """The rooms whose newest message came from someone else after `participant` last looked."""
        with self.conn.pipeline(transaction=False) as p:
            for room_id in room_ids:
                p.xrevrange(keys.chat_messages(room_id), count=1)
                p.get(keys.chat_cursor(room_id, participant))
            found = p.execute()
        out = set()
        for room_id, last, cursor in zip(room_ids, found[::2], found[1::2]):
            if (
                last
                and not as_text(last[0][1][b"author"]).startswith(participant)
                and (cursor is None or _stream_id(as_text(last[0][0])) > _stream_id(as_text(cursor)))
            ):
                out.add(room_id)
        return out

    def read_unseen(self, room_id: str, participant: str, count: int = 500) -> list[Message]:
        """What `participant` has not seen yet; advances its cursor past what is returned."""
        cursor = self.conn.get(keys.chat_cursor(room_id, participant))
        messages = self.read(room_id, as_text(cursor) if cursor else "0-0", count)
        if messages:
            self.conn.set(keys.chat_cursor(room_id, participant), messages[-1].id, ex=self.retention)
        return messages
