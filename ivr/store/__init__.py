"""Redis storage: key names (`keys`), one module per record kind, and the local spool used while Redis is down.

`connect(url)` is the one way the IVR opens Redis: it fails fast (one quick retry, short connect timeout) so a
call never waits on a dead Redis; callers fall back to the spool instead.
"""
from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# Connection problems that mean "Redis is unavailable right now" (as opposed to a bug in a command).
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


def connect(url: str, *, socket_timeout: float = 5.0) -> redis.Redis:
    """A client for `url` (redis://, rediss:// or unix://) that gives up quickly when the server is down."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def as_text(value) -> str:
    """A Redis reply (bytes, or already str or a number) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)
