"""Redis storage: key names (`keys`), one module per record kind, and the local spool used while Redis is down.

`connect(url)` is the one way the IVR opens Redis: it fails fast (one quick retry, short connect timeout) so a
call never waits on a dead Redis; callers fall back to the spool instead. `connect_sentinel(...)` is the same
through redis-sentinel: every new connection asks the sentinels for the current master, and a connection to a
master that was demoted fails as unavailable (READONLY), so the next one reaches the new master.
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

# Connection problems that mean "Redis is unavailable right now" (as opposed to a bug in a command).
UNAVAILABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError, OSError)


class Unconfirmed(redis.ConnectionError):
    """No replica confirmed a write in time (WAIT, IVR_REDIS_WAIT_MS): it may die with the master, so it counts
    as Redis being unavailable (a spool entry stays, a delivery waits)."""


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


def connect_sentinel(sentinels: tuple[str, ...], master: str, *, socket_timeout: float = 5.0) -> redis.Redis:
    """A client of the master that `sentinels` ("host:port" each) know as `master`, with `connect`'s timeouts."""
    addresses = [_host_port(address) for address in sentinels]
    timeout = min(1.0, socket_timeout)
    sentinel = Sentinel(
        addresses,
        socket_timeout=timeout,
        sentinel_kwargs={"socket_timeout": timeout, "socket_connect_timeout": timeout},
    )
    return sentinel.master_for(
        master,
        socket_timeout=socket_timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def _host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"REDIS_SENTINELS: {address!r} is not host:port")
    return host.strip("[]"), int(port)


def as_text(value) -> str:
    """A Redis reply (bytes, or already str or a number) as str."""
    return value.decode() if isinstance(value, bytes) else str(value)


def hgetall_many(conn: redis.Redis, names: list[str]) -> list[dict]:
    """HGETALL of each hash named, in one round trip (pipelined, no transaction); {} where one is gone."""
    with conn.pipeline(transaction=False) as p:
        for name in names:
            p.hgetall(name)
        return p.execute()


BLOCKING_MARGIN = 1.0  # seconds a blocking command's reply may lag behind its own block time


def for_blocking(conn: redis.Redis, block_seconds: float) -> redis.Redis:
    """A client of `conn`'s server for commands that block on purpose (BLPOP up to `block_seconds`): its socket
    timeout is the block time plus `BLOCKING_MARGIN`, so neither the short timeout of `conn` cuts a BLPOP short
    nor a hung Redis holds it for longer."""
    pool = conn.connection_pool
    if isinstance(pool, SentinelConnectionPool):  # a client of the same master, with the longer timeout
        own = {k: v for k, v in pool.connection_kwargs.items() if k != "connection_pool"}
        return pool.sentinel_manager.master_for(
            pool.service_name, **{**own, "socket_timeout": block_seconds + BLOCKING_MARGIN}
        )
    kwargs = {**pool.connection_kwargs, "socket_timeout": block_seconds + BLOCKING_MARGIN}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))
