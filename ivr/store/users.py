"""Admin accounts, API tokens and the login rate limit, in Redis.

Passwords are stored only as werkzeug.security hashes; API tokens only as the SHA-256 of the secret (the secret is
shown once, at creation). Failed logins are counted per account and per IP in expiring counters, so a guesser is
slowed down without a permanent lock-out.
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

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def valid_name(name: str) -> bool:
    return 0 < len(name) <= 64 and all(ch.isalnum() or ch in "._-@" for ch in name)


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
        """Store an account whose password is already a werkzeug.security hash (e.g. moved from another host)."""
        if not valid_name(name):
            raise ValueError("a user name is 1-64 letters, digits, '.', '_', '-' or '@'")
        with self.conn.pipeline() as p:
            p.hset(keys.user(name), mapping={"name": name, "role": str(Role(role)), "password_hash": password_hash,
                                             "created_at": repr(time.time())})
            p.sadd(keys.USERS, name)
            p.execute()

    def get(self, name: str) -> User | None:
        raw = self.conn.hmget(keys.user(name), "name", "role")
        if raw[0] is None:
            return None
        return User(as_text(raw[0]), Role(as_text(raw[1])))

    def check(self, name: str, password: str) -> User | None:
        found = self.conn.hget(keys.user(name), "password_hash")
        if found is None:
            check_password_hash(_dummy_hash(), password)  # same work either way: no "no such user" oracle
            return None
        return self.get(name) if check_password_hash(as_text(found), password) else None

    def names(self) -> list[str]:
        return sorted(as_text(n) for n in self.conn.smembers(keys.USERS))

    def delete(self, name: str) -> None:
        with self.conn.pipeline() as p:
            p.delete(keys.user(name))
            p.srem(keys.USERS, name)
            p.execute()


class LoginLimiter:
    """At most `per_user` failures per account and `per_ip` per address within keys.LOGIN_WINDOW."""

    def __init__(self, conn: redis.Redis, per_user: int = 5, per_ip: int = 20):
        self.conn, self.per_user, self.per_ip = conn, per_user, per_ip

    def blocked(self, name: str, ip: str) -> bool:
        user_count, ip_count = self.conn.mget(keys.login_failures("user", name), keys.login_failures("ip", ip))
        return int(user_count or 0) >= self.per_user or int(ip_count or 0) >= self.per_ip

    def failed(self, name: str, ip: str) -> None:
        with self.conn.pipeline() as p:
            for key in (keys.login_failures("user", name), keys.login_failures("ip", ip)):
                p.incr(key)
                p.expire(key, keys.LOGIN_WINDOW, nx=True)
            p.execute()

    def succeeded(self, name: str) -> None:
        self.conn.delete(keys.login_failures("user", name))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """Bearer tokens for /api/v1/. A token carries the role it was created with."""

    def __init__(self, conn: redis.Redis):
        self.conn = conn

    def create(self, *, name: str, role: Role, owner: str) -> tuple[str, str]:
        """Returns (token id, secret). Only the secret's hash is stored."""
        token_id, secret = secrets.token_hex(6), "ivr_" + secrets.token_urlsafe(32)
        meta = {"id": token_id, "name": name, "role": str(Role(role)), "owner": owner,
                "created_at": time.time(), "hash": _digest(secret)}
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

    def authenticate(self, secret: str) -> dict | None:
        token_id = self.conn.get(keys.api_token(_digest(secret)))
        raw = None if token_id is None else self.conn.hget(keys.API_TOKENS, as_text(token_id))
        return None if raw is None else json.loads(raw)
