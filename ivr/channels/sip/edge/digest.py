"""Digest authentication of requests (RFC 3261 22, RFC 8760: SHA-256 and MD5, qop=auth only).

Passwords are never kept: an account holds HA1 = H(user:realm:password) per algorithm, which is what digest
needs and the usual "hashed at rest" for it (an HA1 is a password-equivalent for that realm only).
Nonces are stateless: `<issued>.<random>.<hmac>` signed with a per-process key, valid `nonce_ttl` seconds
(an expired one is answered with `stale=true`). Replay protection: each nonce's last nonce-count is kept
(bounded), and a response must use a higher one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

ALGORITHMS = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}  # offered in this order (RFC 8760 2.4)
_PARAM = re.compile(r'([A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')
MAX_NONCES = 50_000

# (username, realm, algorithm) -> HA1 hex, or None for no such account
Ha1Lookup = Callable[[str, str, str], "str | None"]


def ha1(username: str, realm: str, password: str, algorithm: str) -> str:
    return ALGORITHMS[algorithm](f"{username}:{realm}:{password}".encode()).hexdigest()


def parse_credentials(header: str) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return {}
    return {k.lower(): v[1:-1].replace('\\"', '"') if v.startswith('"') else v for k, v in _PARAM.findall(rest)}


@dataclass(frozen=True)
class AuthResult:
    username: str | None  # set when the credentials are good
    stale: bool = False  # the nonce expired: challenge again with stale=true
    reason: str = ""


class DigestAuth:
    def __init__(
        self,
        realm: str,
        lookup: Ha1Lookup,
        nonce_ttl: float = 300.0,
        clock: Callable[[], float] = time.time,
        key: bytes | None = None,
        algorithms: tuple[str, ...] = tuple(ALGORITHMS),
    ) -> None:
        self.realm, self.lookup, self.nonce_ttl, self.clock = realm, lookup, nonce_ttl, clock
        unknown = set(algorithms) - set(ALGORITHMS)
        if unknown or not algorithms:
            raise ValueError(f"digest algorithms are SHA-256 and/or MD5, not {sorted(unknown) or 'none'}")
        self.algorithms = algorithms  # offered in this order; UAs that read only the first (SIPp) need MD5 first
        self._key = key or secrets.token_bytes(32)
        self._counts: OrderedDict[str, int] = OrderedDict()

    def challenges(self, stale: bool = False) -> list[str]:
        """WWW-Authenticate values: one per algorithm, the strongest first."""
        nonce = self._nonce()
        extra = ", stale=true" if stale else ""
        return [
            f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={alg}, qop="auth"{extra}'
            for alg in self.algorithms
        ]

    def verify(self, method: str, header: str) -> AuthResult:
        creds = parse_credentials(header)
        algorithm = creds.get("algorithm", "MD5").upper()
        if algorithm not in self.algorithms or creds.get("qop") != "auth" or creds.get("realm") != self.realm:
            return AuthResult(None, reason="unsupported algorithm, qop or realm")
        nonce, username = creds.get("nonce", ""), creds.get("username", "")
        issued = self._nonce_issued(nonce)
        if issued is None:
            return AuthResult(None, reason="forged nonce")
        stored = self.lookup(username, self.realm, algorithm)
        expected = None if stored is None else self._response(algorithm, stored, method, creds)
        if expected is None or not hmac.compare_digest(expected, creds.get("response", "").lower()):
            return AuthResult(None, reason="wrong credentials")
        if self.clock() - issued > self.nonce_ttl:
            return AuthResult(None, stale=True, reason="nonce expired")
        if not self._count_is_new(nonce, creds.get("nc", "")):
            return AuthResult(None, reason="replayed nonce count")
        return AuthResult(username)

    def _response(self, algorithm: str, stored_ha1: str, method: str, creds: dict[str, str]) -> str | None:
        h = ALGORITHMS[algorithm]
        if not all(creds.get(k) for k in ("uri", "nc", "cnonce")):
            return None
        ha2 = h(f"{method}:{creds['uri']}".encode()).hexdigest()
        data = f"{stored_ha1}:{creds['nonce']}:{creds['nc']}:{creds['cnonce']}:auth:{ha2}"
        return h(data.encode()).hexdigest()

    def _nonce(self) -> str:
        body = f"{int(self.clock()):x}.{secrets.token_hex(8)}"
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:24]

    def _nonce_issued(self, nonce: str) -> float | None:
        body, _, mac = nonce.rpartition(".")
        if not body or not hmac.compare_digest(self._sign(body), mac):
            return None
        try:
            return float(int(body.split(".")[0], 16))
        except ValueError:
            return None

    def _count_is_new(self, nonce: str, nc: str) -> bool:
        try:
            count = int(nc, 16)
        except ValueError:
            return False
        if count <= self._counts.get(nonce, 0):
            return False
        self._counts[nonce] = count
        self._counts.move_to_end(nonce)
        if len(self._counts) > MAX_NONCES:
            self._counts.popitem(last=False)
        return True
