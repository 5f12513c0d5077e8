"""Wiring of the storage side for a process: Redis connection, RQ queue, spool, flow repository, call session.

Every `ivr` command that records calls or queues jobs builds its objects here from the one Settings object.
Redis timeouts are chosen here (and in `ivr.store.connect` / `for_blocking`) only. Without REDIS_URL the
embedded redis-server's socket in the data directory is used (`ivr run` starts it).
Opening a session replays whatever an earlier process left in the spool.
"""
from __future__ import annotations

import logging
from pathlib import Path

import redis
from rq import Queue

from ivr import jobs
from ivr.call_session import CallSession
from ivr.flows import FlowRepository
from ivr.private_files import private_dir
from ivr.redis_embedded import EmbeddedRedis
from ivr.settings import Settings
from ivr.store import UNAVAILABLE, connect
from ivr.store.flows import FlowStore
from ivr.store.spool import Spool
from ivr.turn_writes import replay_spool

log = logging.getLogger(__name__)

SPOOL_FILE = "spool.sqlite3"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or EmbeddedRedis(settings.data_dir).url


CLI_REDIS_TIMEOUT = 5.0  # seconds: a command run by hand may wait for a big reply; no caller is waiting on it


def open_redis(settings: Settings, timeout: float | None = None) -> redis.Redis:
    """The connection of webhooks and call turns: each reply waited for at most IVR_REDIS_TIMEOUT (0.2 s), after
    which the spool and fallback paths take over. Blocking commands get their own client (store.for_blocking)."""
    return connect(redis_url(settings), socket_timeout=settings.redis_timeout if timeout is None else timeout)


def open_queue(conn: redis.Redis) -> Queue:
    return Queue(jobs.QUEUE_NAME, connection=conn)


def open_spool(settings: Settings) -> Spool:
    return Spool(private_dir(settings.data_dir) / SPOOL_FILE)  # the data directory is created 0700


def replay_quietly(spool: Spool, conn: redis.Redis, queue: Queue) -> int:
    try:
        return replay_spool(spool, conn, queue)
    except UNAVAILABLE as exc:
        log.warning("spool not replayed yet, redis unavailable: %s", exc)
        return 0


def open_call_session(settings: Settings, flows_dir: str | Path | None = None,
                      conn: redis.Redis | None = None, **session_options) -> CallSession:
    """`session_options` go to CallSession (e.g. `clock`, the Redis breaker's monotonic clock, for tests)."""
    conn = conn or open_redis(settings)
    queue, spool = open_queue(conn), open_spool(settings)
    flows = FlowRepository(flows_dir or settings.flows_dir, source=FlowStore(conn))
    replay_quietly(spool, conn, queue)
    return CallSession(flows, redis_conn=conn, queue=queue, spool=spool, default_flow=settings.default_flow,
                       fallback_text=settings.fallback_message, **session_options)
