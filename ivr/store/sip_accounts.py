"""SIP digest accounts for softphones that dial in directly, hashed at rest.

A password is never stored: each account keeps HA1 = H(username:realm:password) for SHA-256 and MD5 (RFC 8760),
which is all digest verification needs. That is the usual "hashed at rest" for digest; an HA1 is still a
password-equivalent for its realm, so the Redis that holds it must stay private. Changing IVR_SIP_REALM
invalidates every account (set their passwords again). Usernames are names, never numbers, so an
account can never claim a phone number as its caller id. An account may carry its own SRTP policy ("off",
"optional", "required"; "" follows IVR_SIP_SRTP_BY_SOURCE / IVR_SIP_SRTP), applied to its calls by `ivr sip`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass

import redis

from ivr.store import keys

ALGORITHMS = ("SHA-256", "MD5")
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD = 12
SRTP_POLICIES = ("", "off", "optional", "required")


@dataclass(frozen=True)
class SipAccount:
    username: str
    realm: str
    created_at: float
    srtp: str = ""  # "" follows the source's policy


def _ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    h = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5
    return h(f"{username}:{realm}:{password}".encode()).hexdigest()


class SipAccountStore:
    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn

    def save(self, username: str, password: str, realm: str, srtp: str = "") -> SipAccount:
        """Create an account or set its password (and SRTP policy); ValueError on a bad name, a short password
        or an unknown policy."""
        if not USERNAME.fullmatch(username):
            raise ValueError("a SIP account name starts with a letter and has letters, digits, . _ - (max 64)")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"a SIP account password has at least {MIN_PASSWORD} characters")
        account = SipAccount(username, realm, time.time(), _checked_srtp(srtp))
        record = {
            "realm": realm,
            "created_at": account.created_at,
            "srtp": account.srtp,
            "ha1": {alg: _ha1(username, realm, password, alg) for alg in ALGORITHMS},
        }
        self.conn.hset(keys.SIP_ACCOUNTS, username, json.dumps(record))
        return account

    def set_srtp(self, username: str, srtp: str) -> bool:
        """Change an account's SRTP policy; False when there is no such account (ValueError: unknown policy)."""
        policy = _checked_srtp(srtp)
        raw = self.conn.hget(keys.SIP_ACCOUNTS, username)
        if raw is None:
            return False
        record = json.loads(raw)
        record["srtp"] = policy
        self.conn.hset(keys.SIP_ACCOUNTS, username, json.dumps(record))
        return True

    def delete(self, username: str) -> bool:
        return bool(self.conn.hdel(keys.SIP_ACCOUNTS, username))

    def list(self) -> list[SipAccount]:
        return sorted(
            (
                SipAccount(name, rec["realm"], rec["created_at"], rec.get("srtp", ""))
                for name, rec in self._records().items()
            ),
            key=lambda a: a.username,
        )

    def ha1_table(self) -> dict[tuple[str, str, str], str]:
        """(username, realm, algorithm) -> HA1, what the SIP process's AccountBook holds."""
        return self._ha1_of(self._records())

    @staticmethod
    def _ha1_of(records: dict[str, dict]) -> dict[tuple[str, str, str], str]:
        return {(name, rec["realm"], alg): value for name, rec in records.items() for alg, value in rec["ha1"].items()}

    def book_tables(self) -> tuple[dict[tuple[str, str, str], str], dict[str, str]]:
        """What the SIP process's AccountBook holds: the HA1 table and each account's own SRTP policy."""
        records = self._records()
        srtp = {name: rec["srtp"] for name, rec in records.items() if rec.get("srtp")}
        return self._ha1_of(records), srtp

    def _records(self) -> dict[str, dict]:
        raw = self.conn.hgetall(keys.SIP_ACCOUNTS)
        return {_text(name): json.loads(value) for name, value in raw.items()}


def _checked_srtp(srtp: str) -> str:
    policy = (srtp or "").strip().lower()
    if policy not in SRTP_POLICIES:
        raise ValueError(f"a SIP account's SRTP policy is off, optional or required (or empty), not {srtp!r}")
    return policy


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
