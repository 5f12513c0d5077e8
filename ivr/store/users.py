"""Admin accounts and API tokens, in Redis (the login rate limit is store.login_limits).

Passwords are stored only as werkzeug.security hashes; API tokens only as the SHA-256 of the secret (the secret is
shown once, at creation). Each account has a session version, part of every session cookie's user id: a password
change or a logout bumps it, so every cookie issued before stops working. A token lives no longer than its owner
and never acts with more than the owner's current role.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import redis
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.store import as_text, keys


class Role(StrEnum):
    ADMIN = "admin"  # edit, publish, settings
    VIEWER = "viewer"  # read only


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    session_version: int = 0  # sessions issued under another version are void

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def valid_name(name: str) -> bool:
    return 0 < len(name) <= 64 and all(ch.isalnum() or ch in "._-@" for ch in name)


# Bump the session version of an existing account (never create a hash for a name that has none).
_END_SESSIONS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HINCRBY', KEYS[1], 'session_version', 1)
"""


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


class UserStore:
    def __init__(self, conn: redis.Redis):
        self.conn = conn

    def save(self, name: str, password: str, role: Role) -> None:
        """Create the account, or reset its password and role."""
        if not valid_name(name):
            raise ValueError("a user name is 1-64 letters, digits, '.', '_', '-' or '@'")
        if len(password) < 8:
            raise ValueError("a password needs at least 8 characters")
        self.save_hashed(name, generate_password_hash(password), role)

    def save_hashed(self, name: str, password_hash: str, role: Role) -> None:
        """Store an account whose password is already a werkzeug.security hash (e.g. moved from another host).
        A new password voids every session of the account issued before."""
        if not valid_name(name):
            raise ValueError("a user name is 1-64 letters, digits, '.', '_', '-' or '@'")
        with self.conn.pipeline() as p:
            p.hset(
                keys.user(name),
                mapping={
                    "name": name,
                    "role": str(Role(role)),
                    "password_hash": password_hash,
                    "created_at": repr(time.time()),
                },
            )
            p.hincrby(keys.user(name), "session_version", 1)
            p.sadd(keys.USERS, name)
            p.execute()

    def get(self, name: str) -> User | None:
        raw = self.conn.hmget(keys.user(name), "name", "role", "session_version")
        if raw[0] is None:
            return None
        return User(as_text(raw[0]), Role(as_text(raw[1])), int(raw[2] or 0))

    def end_sessions(self, name: str) -> int:
        """Void every session of the account (logout, "log out everywhere"); returns the new version, 0 if none."""
        return int(self.conn.eval(_END_SESSIONS, 1, keys.user(name)))

    def check(self, name: str, password: str) -> User | None:
        found = self.conn.hget(keys.user(name), "password_hash")
        if found is None:
            check_password_hash(_dummy_hash(), password)  # same work either way: no "no such user" oracle
            return None
        return self.get(name) if check_password_hash(as_text(found), password) else None

    def names(self) -> list[str]:
        return sorted(as_text(n) for n in self.conn.smembers(keys.USERS))

    def delete(self, name: str) -> int:
        """Delete the account, its sessions and its API tokens; returns how many tokens were revoked."""
        with self.conn.pipeline() as p:
            p.delete(keys.user(name))
            p.srem(keys.USERS, name)
            p.execute()
        return TokenStore(self.conn).revoke_owned(name)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """Bearer tokens for /api/v1/. A token carries the role it was created with."""

    def __init__(self, conn: redis.Redis):
        self.conn = conn

    def create(self, *, name: str, role: Role, owner: str) -> tuple[str, str]:
        """Returns (token id, secret). Only the secret's hash is stored."""
        token_id, secret = secrets.token_hex(6), "ivr_" + secrets.token_urlsafe(32)
        meta = {
            "id": token_id,
            "name": name,
            "role": str(Role(role)),
            "owner": owner,
            "created_at": time.time(),
            "hash": _digest(secret),
        }
        with self.conn.pipeline() as p:
            p.hset(keys.API_TOKENS, token_id, json.dumps(meta))
            p.set(keys.api_token(meta["hash"]), token_id)
            p.execute()
        return token_id, secret

    def list(self) -> list[dict]:
        found = [json.loads(v) for v in self.conn.hvals(keys.API_TOKENS)]
        return sorted(found, key=lambda t: t["created_at"], reverse=True)

    def revoke(self, token_id: str) -> bool:
        raw = self.conn.hget(keys.API_TOKENS, token_id)
        if raw is None:
            return False
        with self.conn.pipeline() as p:
            p.delete(keys.api_token(json.loads(raw)["hash"]))
            p.hdel(keys.API_TOKENS, token_id)
            p.execute()
        return True

    def revoke_owned(self, owner: str) -> int:
        """Revoke every token `owner` created; returns how many."""
        owned = [t["id"] for t in self.list() if t.get("owner") == owner]
        return sum(self.revoke(token_id) for token_id in owned)

    def authenticate(self, secret: str) -> dict | None:
        """The token's metadata, its role capped at its owner's current one; None if unknown, revoked or if the
        owner is gone (checked here too, so a token outlives no owner even if a revocation was cut short)."""
        token_id = self.conn.get(keys.api_token(_digest(secret)))
        raw = None if token_id is None else self.conn.hget(keys.API_TOKENS, as_text(token_id))
        if raw is None:
            return None
        token = json.loads(raw)
        owner = UserStore(self.conn).get(token.get("owner", ""))
        if owner is None:
            return None
        if not owner.is_admin:
            token["role"] = str(Role.VIEWER)
        return token
