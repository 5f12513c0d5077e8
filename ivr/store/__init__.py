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


def connect(url: str, *, socket_timeout: float = 5.0, connect_timeout: float | None = None) -> redis.Redis:
    """A client for `url` (redis://, rediss:// or unix://) that gives up quickly when the server is down.

    `socket_timeout` bounds the wait for each reply, so a Redis that hangs (stopped, swapping) fails a command
    as fast as one that refuses connections; the connect timeout is the same, at most 1 s."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=min(1.0, socket_timeout) if connect_timeout is None else connect_timeout,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def as_text(value) -> str:
    """A Redis reply (bytes, or already str or a number) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


BLOCKING_MARGIN = 1.0  # seconds a blocking command's reply may lag behind its own block time


def for_blocking(conn: redis.Redis, block_seconds: float) -> redis.Redis:
    """A client of `conn`'s server for commands that block on purpose (BLPOP up to `block_seconds`): its socket
    timeout is the block time plus `BLOCKING_MARGIN`, so neither the short timeout of `conn` cuts a BLPOP short
    nor a hung Redis holds it for longer."""
    pool = conn.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": block_seconds + BLOCKING_MARGIN}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))
