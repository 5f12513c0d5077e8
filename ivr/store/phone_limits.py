"""Rate limits of the phone-number policy: callbacks and texts per normalized number, and for all numbers together.

One Lua script counts a request atomically (no check-then-increment race): the number's counter first, and
only a request its number may still make counts against the overall budget, so one busy number cannot use up
everyone's; a request with an id (a job retried after a Twilio 5xx) counts once. Counters live for fixed
windows of `keys.PHONE_RATE_WINDOW`. Numbers arrive normalized (E.164, ivr.phone.normalize), so every spelling
of a number shares one counter.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from ivr.store import keys

# KEYS: 1 the number's counter, 2 the overall counter, 3 the request's verdict. ARGV: 1 per-number limit,
# 2 overall limit, 3 TTL, 4 "1" when the request has an id (a retried job gets its first verdict, uncounted).
# Returns 0 (allowed), 1 (the number is over its limit) or 2 (over the overall limit).
_TAKE = """
if ARGV[4] == '1' then
  local seen = redis.call('GET', KEYS[3])
  if seen then return tonumber(seen) end
end
local verdict = 0
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if n > tonumber(ARGV[1]) then
  verdict = 1
else
  local total = redis.call('INCR', KEYS[2])
  if total == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
  if total > tonumber(ARGV[2]) then verdict = 2 end
end
if ARGV[4] == '1' then redis.call('SET', KEYS[3], verdict, 'EX', ARGV[3]) end
return verdict
"""


@dataclass(frozen=True)
class Limits:
    per_number: int  # requests per number per window
    overall: int  # requests per window, all numbers together
    setting: str  # the settings that name them, for the refusal reason


def limits_for(settings, purpose: str) -> Limits:
    if purpose == "callback":
        return Limits(
            settings.callback_rate_limit_per_day,
            settings.callback_global_rate_limit_per_day,
            "IVR_CALLBACK_RATE_LIMIT / IVR_CALLBACK_GLOBAL_RATE_LIMIT",
        )
    return Limits(
        settings.sms_rate_limit_per_day,
        settings.sms_global_rate_limit_per_day,
        "IVR_SMS_RATE_LIMIT / IVR_SMS_GLOBAL_RATE_LIMIT",
    )


class PhoneRateLimiter:
    def __init__(self, conn: redis.Redis, window: int = keys.PHONE_RATE_WINDOW):
        self.window = window
        self._take = conn.register_script(_TAKE)

    def take(self, purpose: str, number: str, limits: Limits, at: float, request_id: str = "") -> str:
        """Count one request to `number` (E.164); '' if it is within the limits, else why it is refused. A
        `request_id` (the job's) is counted once: a retried job gets the verdict of its first run."""
        window = int(at // self.window)
        counters = [
            keys.phone_rate(purpose, number, window),
            keys.phone_rate_total(purpose, window),
            keys.phone_rate_request(purpose, request_id or "-"),
        ]
        verdict = int(
            self._take(
                keys=counters, args=[limits.per_number, limits.overall, 2 * self.window, "1" if request_id else "0"]
            )
        )
        if verdict == 1:
            return f"rate limit: more than {limits.per_number} {purpose} requests to this number today"
        if verdict == 2:
            return f"rate limit: more than {limits.overall} {purpose} requests today, all numbers together"
        return ""
