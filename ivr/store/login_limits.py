"""The login rate limit: each attempt is admitted or refused atomically, in Redis, before its password is checked.

Two expiring counters are kept: one per account + source address (a guesser slows down only their own guessing
of that account; the owner elsewhere logs in as usual) and one per source address (one address spraying many
accounts). Each counter admits `free` attempts; after that, each attempt admitted sets a wait of
`base * 2**(attempts - free)` seconds (capped) before the next one. There is no hard lock: a refused attempt is not
counted, so waiting always gets the next try. Admission is one Lua script, so concurrent guesses served by
different workers cannot all pass one check before any is counted. A successful login gives back its attempt.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import redis

from ivr.store import keys

# KEYS: pair count, pair wait, address count, address wait.
# ARGV: pair free, address free, base ms, max ms, window s.
# Returns 0 when admitted, else the milliseconds left to wait (nothing is counted then).
_ADMIT = """
local wait = math.max(redis.call('PTTL', KEYS[2]), redis.call('PTTL', KEYS[4]))
if wait > 0 then return wait end
local limits = {{KEYS[1], KEYS[2], tonumber(ARGV[1])}, {KEYS[3], KEYS[4], tonumber(ARGV[2])}}
for _, limit in ipairs(limits) do
  local attempts = redis.call('INCR', limit[1])
  redis.call('EXPIRE', limit[1], ARGV[5])
  if attempts >= limit[3] then
    local delay = math.min(tonumber(ARGV[3]) * 2 ^ (attempts - limit[3]), tonumber(ARGV[4]))
    redis.call('SET', limit[2], 1, 'PX', math.floor(delay))
  end
end
return 0
"""

# KEYS: pair count, pair wait, address count, address wait. ARGV: address free.
_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[2])
local attempts = redis.call('DECR', KEYS[3])
if attempts <= 0 then redis.call('DEL', KEYS[3]) end
if attempts < tonumber(ARGV[1]) then redis.call('DEL', KEYS[4]) end
return 0
"""


@dataclass(frozen=True)
class Admission:
    admitted: bool
    retry_after: int = 0  # whole seconds to wait when refused (for a Retry-After header)


def _account(name: str) -> str:
    """A fixed-length key part, whatever a client sends as the user name."""
    return hashlib.sha256(name.encode()).hexdigest()[:32]


class LoginLimiter:
    def __init__(
        self,
        conn: redis.Redis,
        per_account_address: int = 5,
        per_address: int = 20,
        base_delay: float = 1.0,
        max_delay: float = keys.LOGIN_WINDOW,
    ):
        self.conn = conn
        self.per_pair, self.per_address = per_account_address, per_address
        self.base_ms, self.max_ms = int(base_delay * 1000), int(max_delay * 1000)

    def _keys(self, name: str, address: str) -> list[str]:
        pair = f"{_account(name)}:{address}"
        return [
            keys.login_attempts("pair", pair),
            keys.login_wait("pair", pair),
            keys.login_attempts("address", address),
            keys.login_wait("address", address),
        ]

    def admit(self, name: str, address: str) -> Admission:
        """Count this attempt and let its password be checked, or refuse it for now (counting nothing)."""
        wait_ms = int(
            self.conn.eval(
                _ADMIT,
                4,
                *self._keys(name, address),
                self.per_pair,
                self.per_address,
                self.base_ms,
                self.max_ms,
                keys.LOGIN_WINDOW,
            )
        )
        if wait_ms <= 0:
            return Admission(True)
        return Admission(False, max(1, math.ceil(wait_ms / 1000)))

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: forget this pair's failures and give the address its attempt back."""
        self.conn.eval(_SUCCEEDED, 4, *self._keys(name, address), self.per_address)
