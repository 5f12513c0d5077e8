"""Rate limits of the phone-number policy: callbacks and texts per normalized number, and for all numbers together.

One Lua script counts a request atomically (no check-then-increment race): the number's counter first, and
only a request its number may still make counts against the overall budget, so one busy number cannot use up
everyone's. Counters live for fixed windows of `keys.PHONE_RATE_WINDOW`. Numbers arrive normalized (E.164,
ivr.phone.normalize), so every spelling of a number shares one counter.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis

from ivr.store import keys

# KEYS: 1 the number's counter, 2 the overall counter. ARGV: 1 per-number limit, 2 overall limit, 3 TTL.
# Returns 0 (allowed), 1 (the number is over its limit) or 2 (over the overall limit).
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if n > tonumber(ARGV[1]) then return 1 end
local total = redis.call('INCR', KEYS[2])
if total == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
if total > tonumber(ARGV[2]) then return 2 end
return 0
"""


@dataclass(frozen=True)
class Limits:
    per_number: int  # requests per number per window
    overall: int  # requests per window, all numbers together
    setting: str  # the settings that name them, for the refusal reason


def limits_for(settings, purpose: str) -> Limits:
    if purpose == "callback":
        return Limits(settings.callback_rate_limit_per_day, settings.callback_global_rate_limit_per_day,
                      "IVR_CALLBACK_RATE_LIMIT / IVR_CALLBACK_GLOBAL_RATE_LIMIT")
    return Limits(settings.sms_rate_limit_per_day, settings.sms_global_rate_limit_per_day,
                  "IVR_SMS_RATE_LIMIT / IVR_SMS_GLOBAL_RATE_LIMIT")


class PhoneRateLimiter:
    def __init__(self, conn: redis.Redis, window: int = keys.PHONE_RATE_WINDOW):
        self.window = window
        self._take = conn.register_script(_TAKE)

    def take(self, purpose: str, number: str, limits: Limits, at: float) -> str:
        """Count one request to `number` (E.164); '' if it is within the limits, else why it is refused."""
        window = int(at // self.window)
        counters = [keys.phone_rate(purpose, number, window), keys.phone_rate_total(purpose, window)]
        verdict = int(self._take(keys=counters, args=[limits.per_number, limits.overall, 2 * self.window]))
        if verdict == 1:
            return f"rate limit: more than {limits.per_number} {purpose} requests to this number today"
        if verdict == 2:
            return f"rate limit: more than {limits.overall} {purpose} requests today, all numbers together"
        return ""
